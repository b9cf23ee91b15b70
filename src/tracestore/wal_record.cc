#include "tracestore/wal_record.h"

#include <zstd.h>

#include "base/status.h"
#include "fmt/format.h"

namespace oriel::tracestore {

using opentelemetry::proto::trace::v1::ResourceSpans;

namespace {

// Level -3 (zstd's fast mode): on OTLP spans it compresses about 3x faster than level 1 for a
// ratio of ~3.9 instead of ~4.8 (zstd -b on a load generator request cut into 45 KB records),
// and compression was the largest single cost of a trace write. The WAL only holds spans until
// the next head flush, so its size matters less than the write path's CPU.
constexpr int kWalZstdLevel = -3;

// Per thread: ZSTD_compress would allocate and clear a fresh context (larger than most records)
// for every record, and a fresh output buffer would be zeroed every time.
struct Compressor {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string buffer;
  ~Compressor() { ZSTD_freeCCtx(cctx); }
};

}  // namespace

std::string EncodeWalRecord(const ResourceSpans& rs) {
  return EncodeSerializedWalRecord(rs.SerializeAsString());
}

std::string EncodeSerializedWalRecord(std::string_view plain) {
  thread_local Compressor compressor;
  if (plain.size() >= kMinCompressBytes && compressor.cctx != nullptr) {
    std::string& buffer = compressor.buffer;
    const size_t bound = ZSTD_compressBound(plain.size());
    if (buffer.size() < bound) buffer.resize(bound);
    const size_t n = ZSTD_compressCCtx(compressor.cctx, buffer.data(), buffer.size(), plain.data(),
                                       plain.size(), kWalZstdLevel);
    if (!ZSTD_isError(n) && n < plain.size()) {
      std::string record;
      record.reserve(1 + n);
      record += kZstdRecord;
      record.append(buffer.data(), n);
      // A rare huge record would otherwise pin its buffer for the thread's life.
      if (buffer.size() > (4u << 20)) std::string().swap(buffer);
      return record;
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
