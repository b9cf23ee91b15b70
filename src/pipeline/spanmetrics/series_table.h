// The in-memory state of derived metrics: cumulative counters and explicit-bucket histograms
// keyed by resource, metric name and data point attributes, rendered as OTLP metrics (as the
// collector's connectors emit them) at each flush.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "base/absl_view.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"

namespace oriel::pipeline::spanmetrics {

// A resource and a data point's attributes, in the order given (the order they are emitted in).
// Two keys are the same series when both lists are equal in order, keys and typed values.
class SeriesKey {
 public:
  SeriesKey(const opentelemetry::proto::common::v1::KeyValueList& resource,
            const opentelemetry::proto::common::v1::KeyValueList& attributes);

  // The longest string or bytes value of either list.
  size_t longest_value() const { return rep_->longest_value; }
  const std::string& resource() const { return rep_->resource; }      // serialized KeyValueList
  const std::string& attributes() const { return rep_->attributes; }  // serialized KeyValueList
  // A hash of resource() and attributes(), computed once: a SeriesTable lookup hashes only the
  // metric name besides.
  size_t hash() const { return rep_->hash; }

 private:
  struct Rep {
    std::string resource;
    std::string attributes;
    size_t longest_value = 0;
    size_t hash = 0;
  };
  // Shared and immutable: keys are copied out of a SeriesKeyCache for every group of spans, and
  // a copy should not copy the strings.
  std::shared_ptr<const Rep> rep_;
};

// Series keys by what they are built from (a memo the caller writes, see AppendMemo), so that the
// keys that recur from request to request are built and serialized once. Bounded, since what
// keys are built from is client input: it is cleared when full, which costs only rebuilding keys.
class SeriesKeyCache {
 public:
  // Holds up to 4 keys per series the table may hold, plus some.
  explicit SeriesKeyCache(size_t max_series) : capacity_(4 * max_series + 1024) {}

  // The key cached for `memo`, or null.
  const SeriesKey* Find(std::string_view memo) const {
    auto it = keys_.find(base::AbslView(memo));
    return it == keys_.end() ? nullptr : &it->second;
  }
  // Caches `key` for `memo`; the reference lives until the next Insert.
  const SeriesKey& Insert(std::string_view memo, SeriesKey key) {
    if (keys_.size() >= capacity_) keys_.clear();
    return keys_.insert_or_assign(std::string(memo), std::move(key)).first->second;
  }
  size_t size() const { return keys_.size(); }

 private:
  size_t capacity_;
  absl::flat_hash_map<std::string, SeriesKey> keys_;
};

// Bounded by the number of Prometheus series its metrics become (a counter is one, a histogram
// with n bounds is n + 3), so that the bound means what it meant to users: a new counter or
// histogram that would go over the bound is refused, existing ones keep counting. A key with a
// string value longer than max_label_value_length is refused too: span names and attribute
// values are client input, and one series the metrics engine refuses (its default limit is 4096
// bytes) would make it refuse every flush. Not thread-safe (the owner serialises access).
class SeriesTable {
 public:
  explicit SeriesTable(size_t max_series, size_t max_label_value_length = 4096)
      : max_series_(max_series), max_label_value_length_(max_label_value_length) {}

  // The unit metric `name` is emitted with ("" by default).
  void SetUnit(const std::string& name, std::string unit) { units_[name] = std::move(unit); }

  // Adds `delta` to the counter `name`{key}. False when the counter is new and would go over a
  // bound (nothing is recorded).
  bool AddCounter(const std::string& name, const SeriesKey& key, int64_t delta);

  // Records `value` in the histogram `name`{key}: the first bound >= value gets it (bounds are
  // inclusive upper limits, as `le`), past the last one the overflow bucket. REQUIRES: `bounds`
  // sorted, the same on every call for one name. False as for AddCounter.
  bool Observe(const std::string& name, const SeriesKey& key, const std::vector<double>& bounds,
               double value) {
    return Observe(name, key, bounds, std::span<const double>(&value, 1));
  }
  // Records every one of `values` at once (one lookup); all or, as for one value, none.
  bool Observe(const std::string& name, const SeriesKey& key, const std::vector<double>& bounds,
               std::span<const double> values);

  // Whether `name`{key} is held (so that recording into it cannot be refused).
  bool Contains(const std::string& name, const SeriesKey& key) const {
    return values_.contains(KeyView(name, key));
  }
  // Whether `n` more Prometheus series fit under the bound.
  bool Fits(size_t n) const { return series_ + n <= max_series_; }

  // Appends one ResourceMetrics per resource with one ScopeMetrics named `scope_name`: every
  // counter as a monotonic cumulative Sum (int values), every histogram as a cumulative
  // Histogram, at `time_ns`, with the time the series was created (or `time_ns`, if later) as
  // start time. Resources, metrics and points come in a stable order.
  void AppendTo(
      int64_t time_ns, std::string_view scope_name,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const;

  // The time recorded as the creation or last update of the series that AddCounter and Observe
  // touch next (unix ns; RemoveIdle compares against it).
  void set_now(int64_t now_ns) { now_ns_ = now_ns; }

  // Removes every series whose resource and attributes (across all metric names) were last
  // updated before `cutoff_ns`, freeing room under the bound. Returns the Prometheus series
  // removed.
  size_t RemoveIdle(int64_t cutoff_ns);

  // Prometheus series held (counters plus n + 3 per histogram).
  size_t series() const { return series_; }

 private:
  struct Key {
    std::string name;
    std::string resource;
    std::string attributes;
    size_t key_hash = 0;  // SeriesKey::hash() of resource and attributes
    bool operator==(const Key&) const = default;
    auto operator<=>(const Key&) const = default;
  };
  // A key to look up without copying its strings (every span's lookup would otherwise make
  // three string copies, most of them allocations).
  struct KeyView {
    std::string_view name;
    std::string_view resource;
    std::string_view attributes;
    size_t key_hash;
    // Implicit: the map hashes and compares its stored keys through it.
    KeyView(const Key& k)
        : name(k.name), resource(k.resource), attributes(k.attributes), key_hash(k.key_hash) {}
    KeyView(std::string_view n, const SeriesKey& key)
        : name(n), resource(key.resource()), attributes(key.attributes()), key_hash(key.hash()) {}
    bool operator==(const KeyView& o) const {
      return key_hash == o.key_hash && name == o.name && resource == o.resource &&
             attributes == o.attributes;
    }
  };
  struct KeyHash {
    using is_transparent = void;
    // The resource and attributes by their hash, computed once per SeriesKey.
    size_t operator()(KeyView k) const { return absl::HashOf(base::AbslView(k.name), k.key_hash); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(KeyView a, KeyView b) const { return a == b; }
  };
  struct Value {
    int64_t counter = 0;
    const std::vector<double>* bounds = nullptr;  // histograms only; points into bounds_
    std::vector<uint64_t> buckets;                // per bucket, not cumulative; overflow last
    double sum = 0;
    uint64_t count = 0;
    int64_t start_ns = 0;
    int64_t last_update_ns = 0;
  };

  size_t max_series_;
  size_t max_label_value_length_;
  size_t series_ = 0;
  int64_t now_ns_ = 0;
  absl::flat_hash_map<Key, Value, KeyHash, KeyEq> values_;
  // One copy of each histogram's bounds, by metric name (stable addresses: node map).
  absl::flat_hash_map<std::string, std::unique_ptr<std::vector<double>>> bounds_;
  std::map<std::string, std::string> units_;
};

}  // namespace oriel::pipeline::spanmetrics
