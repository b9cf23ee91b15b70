// Fuzzes the remote_write 1.0 and 2.0 decoders with hostile protobuf bytes, and checks that the
// 1.0 fast path accepts nothing the full path (protobuf, then DecodeV1) refuses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/remote_write/decoder.h"
#include "ingest/remote_write/fast_v1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int n = static_cast<int>(size);
  prometheus::WriteRequest v1;
  bool v1_ok = v1.ParseFromArray(data, n);
  bool full_ok = v1_ok && oriel::ingest::DecodeV1(v1).ok();
  auto fast =
      oriel::ingest::TryDecodeV1Fast(std::string_view(reinterpret_cast<const char*>(data), size));
  if (fast.has_value() && !full_ok) std::abort();
  io::prometheus::write::v2::Request v2;
  if (v2.ParseFromArray(data, n)) (void)oriel::ingest::DecodeV2(v2);
  return 0;
}
