// Fuzzes the remote_write 1.0 and 2.0 decoders with hostile protobuf bytes.
#include <cstddef>
#include <cstdint>

#include "ingest/remote_write/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int n = static_cast<int>(size);
  prometheus::WriteRequest v1;
  if (v1.ParseFromArray(data, n)) (void)oriel::ingest::DecodeV1(v1);
  io::prometheus::write::v2::Request v2;
  if (v2.ParseFromArray(data, n)) (void)oriel::ingest::DecodeV2(v2);
  return 0;
}
