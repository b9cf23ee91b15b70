// Delta-to-cumulative conversion for OTLP sums and histograms. Prometheus series are cumulative;
// a delta point is added to a running total kept per output series in a bounded in-memory table
// (least recently updated series evicted first). Totals are lost on restart and on eviction; the
// next delta then starts a new cumulative series from zero (PromQL's rate() sees a reset).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/labels.h"

namespace oriel::ingest::otlp {

// An explicit-bounds histogram point (counts per bucket, not cumulative).
struct ExplicitHistogramPoint {
  double count = 0;
  double sum = 0;
  bool has_sum = false;
  std::vector<double> bounds;
  std::vector<double> bucket_counts;  // bounds.size() + 1 entries
};

// An exponential histogram point in OTel's index space: bucket `index` covers
// (base^index, base^(index+1)] with base = 2^(2^-scale).
struct ExponentialHistogramPoint {
  int32_t scale = 0;
  double count = 0;
  double sum = 0;
  bool has_sum = false;
  double zero_count = 0;
  double zero_threshold = 0;
  std::map<int64_t, double> positive;  // index -> count, zero counts omitted
  std::map<int64_t, double> negative;
};

// Moves an exponential histogram to a coarser `scale` (<= its scale) by merging buckets.
void DownscaleExponential(ExponentialHistogramPoint& point, int32_t scale);

class DeltaAccumulator {
 public:
  // Keeps at most `max_series` running totals. REQUIRES: max_series > 0.
  explicit DeltaAccumulator(size_t max_series);

  // Each Add* adds a delta point at `time_ns` to the total of `series` and returns the new total.
  // Fails with kInvalidArgument when `time_ns` is not after the series' previous point (a
  // retried or reordered delta would otherwise be counted twice). A series whose kind or bucket
  // layout changes starts over from this point. Thread-safe.
  [[nodiscard]] absl::StatusOr<double> AddSum(const model::Labels& series, uint64_t time_ns,
                                              double delta);
  [[nodiscard]] absl::StatusOr<ExplicitHistogramPoint> AddHistogram(
      const model::Labels& series, uint64_t time_ns, const ExplicitHistogramPoint& delta);
  [[nodiscard]] absl::StatusOr<ExponentialHistogramPoint> AddExponential(
      const model::Labels& series, uint64_t time_ns, const ExponentialHistogramPoint& delta);

  size_t size() const;

 private:
  enum class Kind { kSum, kHistogram, kExponential };
  struct Entry {
    model::Labels labels;
    Kind kind = Kind::kSum;
    uint64_t last_time_ns = 0;
    double sum = 0;
    ExplicitHistogramPoint histogram;
    ExponentialHistogramPoint exponential;
    std::list<uint64_t>::iterator lru;
  };

  // The entry of `series` (created, evicting the oldest, when absent or of another kind);
  // `fresh` tells whether it was just created. Fails on an out-of-order point.
  absl::StatusOr<Entry*> Find(const model::Labels& series, Kind kind, uint64_t time_ns, bool* fresh)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_series_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<uint64_t> lru_ ABSL_GUARDED_BY(mu_);  // most recently updated first
};

}  // namespace oriel::ingest::otlp
