// Fuzzes the metrics engine's decoders (WAL records, XOR, histogram and delta chunks) with hostile
// bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tsdb/delta_chunk.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/wal_records.h"
#include "tsdb/xor_chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)oriel::tsdb::DecodeWalRecord(in);
  oriel::tsdb::XorIterator xor_it(in, 1000);
  while (xor_it.Next()) {
  }
  oriel::tsdb::HistogramIterator hist_it(in, 1000);
  while (hist_it.Next()) {
  }
  for (int n : {1, 2, 120, static_cast<int>(size / 2)}) {
    (void)oriel::tsdb::DecodeDeltaChunk(in, n);
  }
  return 0;
}
