#include "tracestore/wal_record.h"

#include <zstd.h>

#include "base/status.h"
#include "fmt/format.h"

namespace oriel::tracestore {

using opentelemetry::proto::trace::v1::ResourceSpans;

std::string EncodeWalRecord(const ResourceSpans& rs) {
  const std::string plain = rs.SerializeAsString();
  if (plain.size() >= kMinCompressBytes) {
    std::string compressed(1 + ZSTD_compressBound(plain.size()), '\0');
    compressed[0] = kZstdRecord;
    // Level 1: the write path is CPU-bound, and spans of one resource repeat their attribute keys,
    // which even the fastest level finds.
    const size_t n =
        ZSTD_compress(compressed.data() + 1, compressed.size() - 1, plain.data(), plain.size(), 1);
    if (!ZSTD_isError(n) && n < plain.size()) {
      compressed.resize(1 + n);
      return compressed;
    }
  }
  std::string record(1, kPlainRecord);
  record += plain;
  return record;
}

absl::Status DecodeWalRecord(std::string_view record, ResourceSpans* rs) {
  if (record.empty()) return absl::DataLossError("empty record");
  std::string_view payload = record.substr(1);
  std::string decompressed;
  if (record[0] == kZstdRecord) {
    const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
      return absl::DataLossError("invalid zstd frame header");
    }
    if (size > kMaxRecordBytes) {
      return absl::DataLossError(
          fmt::format("decompressed size {} is over the limit {}", size, kMaxRecordBytes));
    }
    decompressed.resize(static_cast<size_t>(size));
    const size_t n =
        ZSTD_decompress(decompressed.data(), decompressed.size(), payload.data(), payload.size());
    if (ZSTD_isError(n)) {
      return absl::DataLossError(fmt::format("invalid zstd frame: {}", ZSTD_getErrorName(n)));
    }
    if (n != decompressed.size()) {
      return absl::DataLossError(
          fmt::format("zstd frame holds {} bytes, its header says {}", n, decompressed.size()));
    }
    payload = decompressed;
  } else if (record[0] != kPlainRecord) {
    return absl::DataLossError(
        fmt::format("unknown record type {:#04x}", static_cast<unsigned char>(record[0])));
  }
  if (payload.size() > kMaxRecordBytes ||
      !rs->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError("invalid ResourceSpans");
  }
  return absl::OkStatus();
}

}  // namespace oriel::tracestore
