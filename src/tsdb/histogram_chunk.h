// Chunk of native histogram samples. A simple encoding (the Prometheus one is far more compact):
// per sample varint(t - previous t) (the first sample: varint(t)), then the histogram fields as
// AppendHistogramFields writes them. Also used by the WAL's histogram records.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "model/sample.h"
#include "tsdb/encoding.h"

namespace oriel::tsdb {

// Fields, in order: byte counter_reset, varint schema, double zero_threshold, zero_count, count,
// sum; positive spans (uvarint n, then n x (varint offset, uvarint length)), positive buckets
// (uvarint n, n doubles); negative spans and buckets likewise; custom values (uvarint n, n
// doubles). The timestamp is not included.
void AppendHistogramFields(std::string& out, const model::HistogramSample& h);
// Reads the fields into `h` (keeping its timestamp); false on short or malformed input.
[[nodiscard]] bool ReadHistogramFields(ByteReader& in, model::HistogramSample* h);

// Appends samples. Not thread-safe. REQUIRES: timestamps strictly increasing.
class HistogramChunk {
 public:
  void Append(const model::HistogramSample& h);

  int num_samples() const { return num_samples_; }
  std::string_view bytes() const { return bytes_; }
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return max_time_; }

 private:
  std::string bytes_;
  int num_samples_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
};

// Iterates an encoded chunk; same contract as XorIterator.
class HistogramIterator {
 public:
  HistogramIterator(std::string_view bytes, int num_samples)
      : reader_(bytes), remaining_(num_samples) {}

  bool Next();
  bool Seek(int64_t t);

  int64_t t() const { return h_.timestamp_ms; }
  const model::HistogramSample& at() const { return h_; }
  absl::Status status() const { return status_; }

 private:
  ByteReader reader_;
  int remaining_;
  int read_ = 0;
  bool positioned_ = false;
  model::HistogramSample h_;
  absl::Status status_;
};

}  // namespace oriel::tsdb
