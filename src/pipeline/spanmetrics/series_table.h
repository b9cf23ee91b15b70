// The in-memory state of derived metrics: cumulative counters and explicit-bucket histograms
// keyed by metric name and label set, rendered as Prometheus series (histograms as _bucket{le},
// _sum and _count) at each flush.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/labels.h"
#include "model/sample.h"

namespace oriel::pipeline::spanmetrics {

// Bounded by the number of Prometheus series it renders (a counter is one, a histogram with n
// bounds is n + 3): a new counter or histogram that would go over the bound is refused, existing
// ones keep counting. A label set with a value longer than max_label_value_length is refused
// too: span names and attribute values are client input, and one series the metrics engine
// refuses (its default limit is 4096 bytes) would make it refuse every flush. Not thread-safe
// (the owner serialises access).
class SeriesTable {
 public:
  explicit SeriesTable(size_t max_series, size_t max_label_value_length = 4096)
      : max_series_(max_series), max_label_value_length_(max_label_value_length) {}

  // Adds `delta` to the counter `name`{labels}. `labels` holds no __name__. False when the
  // counter is new and would go over a bound (nothing is recorded).
  bool AddCounter(const std::string& name, const model::Labels& labels, double delta);

  // Records `value` in the histogram `name`{labels} (`name` without _bucket): the first bound
  // >= value gets it (bounds are inclusive upper limits, as `le`), past the last one +Inf.
  // REQUIRES: `bounds` sorted, the same on every call for one name. False as for AddCounter.
  bool Observe(const std::string& name, const model::Labels& labels,
               const std::vector<double>& bounds, double value);

  // Whether `name`{labels} is held (so that recording into it cannot be refused).
  bool Contains(const std::string& name, const model::Labels& labels) const {
    return values_.contains(Key{name, labels});
  }
  // Whether `n` more rendered series fit under the bound.
  bool Fits(size_t n) const { return series_ + n <= max_series_; }

  // Appends every series with its cumulative value at `timestamp_ms`.
  void AppendTo(int64_t timestamp_ms, model::MetricBatch& batch) const;

  // The time recorded as the last update of the series that AddCounter and Observe touch next
  // (unix ns; RemoveIdle compares against it).
  void set_now(int64_t now_ns) { now_ns_ = now_ns; }

  // Removes every series whose label set (across all metric names) was last updated before
  // `cutoff_ns`, freeing room under the bound. Returns the rendered series removed.
  size_t RemoveIdle(int64_t cutoff_ns);

  // Rendered series held (counters plus n + 3 per histogram).
  size_t series() const { return series_; }

 private:
  struct Key {
    std::string name;
    model::Labels labels;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.name, k.labels.Hash());
    }
  };
  struct Value {
    double counter = 0;
    const std::vector<double>* bounds = nullptr;  // histograms only; points into bounds_
    std::vector<uint64_t> buckets;                // per bucket, not cumulative; +Inf last
    double sum = 0;
    uint64_t count = 0;
    int64_t last_update_ns = 0;
  };

  // Whether a new series with `labels` stays within max_label_value_length.
  bool ValuesFit(const model::Labels& labels) const;

  size_t max_series_;
  size_t max_label_value_length_;
  size_t series_ = 0;
  int64_t now_ns_ = 0;
  absl::flat_hash_map<Key, Value> values_;
  // One copy of each histogram's bounds, by metric name (stable addresses: node map).
  absl::flat_hash_map<std::string, std::unique_ptr<std::vector<double>>> bounds_;
};

}  // namespace oriel::pipeline::spanmetrics
