// Fuzzes the decoding of trace WAL records (read back from disk, so untrusted).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tracestore/wal_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  opentelemetry::proto::trace::v1::ResourceSpans rs;
  (void)oriel::tracestore::DecodeWalRecord(
      std::string_view(reinterpret_cast<const char*>(data), size), &rs);
  return 0;
}
