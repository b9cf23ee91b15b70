// The metrics engine's WAL records (Prometheus-like): a series record gives new series their
// ids, and sample, histogram and exemplar records refer to series by id; a series record always
// precedes the first record that refers to its series. Each record is one storage::Wal record
// whose first byte is its type. Numbers are LEB128 varints (zig-zag when signed, "varint"),
// floats are their 8 IEEE 754 bytes little-endian ("f64"), strings are a uvarint length and bytes.
//
//   1 series:     repeated { uvarint ref, uvarint n, n x (string name, string value) }
//   2 samples:    varint base_t, repeated { uvarint ref, varint t - base_t, f64 value }
//   3 histograms: repeated { uvarint ref, varint t, histogram fields (histogram_chunk.h) }
//   4 exemplars:  repeated { uvarint ref, varint t, f64 value, uvarint n, n x (string, string) }
//   5 metadata:   repeated { string family, byte type (model::MetricType), string help,
//                            string unit }
//   6 ooo samples: as 2; floats accepted out of order into a time range already cut into blocks
//                  (see Head::ApplyLateFloat). Replay applies them whatever the blocks hold,
//                  where it skips the samples of record 2 that the blocks cover.
//   7 float chunks: repeated { uvarint ref, uvarint n, string bytes }: n samples of one series as
//                  an XOR chunk (xor_chunk.h). Only checkpoints write it (the head's chunks as
//                  they are, 1-2 bytes a sample where record 2 takes 13); it decodes into
//                  `samples` and replays as record 2.
//
// Only samples the head accepted are logged, so replay re-applies every one of them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/labels.h"
#include "model/sample.h"

namespace oriel::tsdb {

enum class WalRecordType : uint8_t {
  kSeries = 1,
  kSamples = 2,
  kHistograms = 3,
  kExemplars = 4,
  kMetadata = 5,
  kOooSamples = 6,
  kFloatChunks = 7,
};

struct WalSeries {
  uint32_t ref = 0;
  model::Labels labels;
};
struct WalSample {
  uint32_t ref = 0;
  int64_t t = 0;
  double v = 0;
};
// An encoded XOR chunk of one series; `bytes` is borrowed.
struct WalFloatChunk {
  uint32_t ref = 0;
  int num_samples = 0;
  std::string_view bytes;
};
struct WalHistogram {
  uint32_t ref = 0;
  model::HistogramSample h;
};
struct WalExemplar {
  uint32_t ref = 0;
  model::Exemplar e;
};

// A decoded record: only the vector of its type is filled (`samples` for kSamples, kOooSamples
// and kFloatChunks, whose chunks are decoded into samples in order).
struct WalRecord {
  WalRecordType type = WalRecordType::kSeries;
  std::vector<WalSeries> series;
  std::vector<WalSample> samples;
  std::vector<WalHistogram> histograms;
  std::vector<WalExemplar> exemplars;
  std::vector<model::MetricMetadata> metadata;
};

// Encoders append one whole record to `out`.
void EncodeSeriesRecord(std::string& out, std::span<const WalSeries> series);
void EncodeSamplesRecord(std::string& out, std::span<const WalSample> samples);
void EncodeOooSamplesRecord(std::string& out, std::span<const WalSample> samples);
void EncodeFloatChunksRecord(std::string& out, std::span<const WalFloatChunk> chunks);
void EncodeHistogramsRecord(std::string& out, std::span<const WalHistogram> histograms);
void EncodeExemplarsRecord(std::string& out, std::span<const WalExemplar> exemplars);
void EncodeMetadataRecord(std::string& out, std::span<const model::MetricMetadata> metadata);

// Decodes a record, treating it as hostile: a truncated or malformed record (or label sets that
// are not sorted, unique and non-empty) is a kDataLoss error naming the record type and offset.
[[nodiscard]] absl::StatusOr<WalRecord> DecodeWalRecord(std::string_view record);

}  // namespace oriel::tsdb
