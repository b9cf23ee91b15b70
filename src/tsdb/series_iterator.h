// Reading the head: a sample iterator over a series snapshot (in-order chunks merged with the
// out-of-order buffer) and the series set a select returns.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tsdb/head.h"
#include "tsdb/metrics_store.h"

namespace oriel::tsdb {

// Iterates decoded float samples with XorIterator's interface.
class DecodedFloatIterator {
 public:
  explicit DecodedFloatIterator(const std::vector<model::Sample>& samples) : s_(&samples) {}
  bool Next() {
    if (next_ >= s_->size()) return false;
    cur_ = next_++;
    return true;
  }
  bool Seek(int64_t t) {
    if (next_ > 0 && (*s_)[cur_].timestamp_ms >= t) return true;
    auto it =
        std::lower_bound(s_->begin() + static_cast<ptrdiff_t>(next_), s_->end(), t,
                         [](const model::Sample& s, int64_t t) { return s.timestamp_ms < t; });
    if (it == s_->end()) {
      next_ = s_->size();
      return false;
    }
    cur_ = static_cast<size_t>(it - s_->begin());
    next_ = cur_ + 1;
    return true;
  }
  int64_t t() const { return (*s_)[cur_].timestamp_ms; }
  double v() const { return (*s_)[cur_].value; }

 private:
  const std::vector<model::Sample>* s_;
  size_t cur_ = 0;
  size_t next_ = 0;  // 0: not positioned yet
};

// Iterates the samples of `snapshot` within [mint, maxt] in time order. When the in-order data
// and the out-of-order buffer hold the same timestamp, the in-order sample wins. Shares the
// immutable snapshot (shared_ptr: a series set hands out any number of iterators over it).
class SnapshotIterator final : public SampleIterator {
 public:
  SnapshotIterator(std::shared_ptr<const SeriesSnapshot> snapshot, int64_t mint, int64_t maxt);

  ValueType Next() override;
  ValueType Seek(int64_t t) override;
  int64_t AtTime() const override;
  double AtFloat() const override;
  const model::HistogramSample& AtHistogram() const override;
  // Decodes the chunks straight into `out`, then merges in the out-of-order samples.
  void AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                    std::vector<int64_t>* histogram_times) override;

 private:
  enum class Source : uint8_t { kNone, kInOrder, kOutOfOrder };
  void OpenChunk(size_t i);
  void InOrderAdvance();
  void InOrderSeek(int64_t t);
  ValueType Pick();

  std::shared_ptr<const SeriesSnapshot> snap_;
  int64_t mint_;
  int64_t maxt_;
  bool started_ = false;
  Source current_ = Source::kNone;

  // In-order stream: the chunk being read and its sample under the cursor.
  size_t chunk_ = 0;
  std::optional<XorIterator> xor_it_;
  std::optional<DecodedFloatIterator> dec_it_;
  std::vector<model::Sample> packed_samples_;  // the open chunk decoded, when it is_delta
  std::optional<HistogramIterator> hist_it_;
  bool io_valid_ = false;
  int64_t io_t_ = 0;
  bool io_float_ = true;

  size_t ooo_ = 0;  // next candidate in snap_->ooo
};

// Appends to `out` the floats of the in-order `chunks` (ascending, not overlapping) with
// timestamps in [mint, maxt], and the timestamps of their histogram samples in that range to
// `histogram_times` when not null. Stops at a corrupt chunk's corruption and goes on with the
// next chunk, as SnapshotIterator does; returns the first such error.
absl::Status AppendChunkFloats(std::span<const SeriesSnapshot::Chunk> chunks, int64_t mint,
                               int64_t maxt, std::vector<model::Sample>* out,
                               std::vector<int64_t>* histogram_times);

// Merges the out-of-order samples `ooo` (sorted, unique timestamps) within [mint, maxt] into the
// in-order floats out[begin:] (sorted); an out-of-order sample is dropped where the in-order data
// has a float or a histogram (`in_order_histogram_times`, sorted) at its timestamp.
void MergeOutOfOrder(std::span<const model::Sample> ooo, int64_t mint, int64_t maxt,
                     std::span<const int64_t> in_order_histogram_times, size_t begin,
                     std::vector<model::Sample>* out);

// The series of a select, in label order. Snapshots each series when the caller reaches it, so
// memory stays bounded by one series at a time (plus what the caller keeps). The head must
// outlive the set.
class HeadSeriesSet final : public SeriesSet {
 public:
  // `series` sorted by labels. Without `with_late`, the series' late samples are left out (see
  // MemSeries::late).
  HeadSeriesSet(const Head& head, std::vector<MemSeries*> series, int64_t mint, int64_t maxt,
                bool with_late = true);

  bool Next() override;
  const model::Labels& labels() const override;
  std::unique_ptr<SampleIterator> Samples() const override;

 private:
  const Head& head_;
  std::vector<MemSeries*> series_;
  int64_t mint_;
  int64_t maxt_;
  bool with_late_;
  size_t next_ = 0;
  std::shared_ptr<const SeriesSnapshot> current_;
};

}  // namespace oriel::tsdb
