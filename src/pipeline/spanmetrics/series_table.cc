#include "pipeline/spanmetrics/series_table.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "base/absl_view.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace metrics = opentelemetry::proto::metrics::v1;

size_t LongestValue(const common::KeyValueList& list) {
  size_t longest = 0;
  for (const common::KeyValue& kv : list.values()) {
    longest =
        std::max({longest, kv.value().string_value().size(), kv.value().bytes_value().size()});
  }
  return longest;
}

// Equal lists give equal bytes: KeyValueList has no map fields, whose order could vary.
std::string Serialize(const common::KeyValueList& list) { return list.SerializeAsString(); }

void CopyAttributes(const std::string& serialized,
                    google::protobuf::RepeatedPtrField<common::KeyValue>& out) {
  common::KeyValueList list;
  // Cannot fail: the key was serialized from a KeyValueList by SeriesKey.
  (void)list.ParseFromString(serialized);
  out.Swap(list.mutable_values());
}

}  // namespace

SeriesKey::SeriesKey(const common::KeyValueList& resource, const common::KeyValueList& attributes) {
  auto rep = std::make_shared<Rep>();
  rep->resource = Serialize(resource);
  rep->attributes = Serialize(attributes);
  rep->longest_value = std::max(LongestValue(resource), LongestValue(attributes));
  rep->hash = absl::HashOf(base::AbslView(rep->resource), base::AbslView(rep->attributes));
  rep_ = std::move(rep);
}

bool SeriesTable::AddCounter(const std::string& name, const SeriesKey& key, int64_t delta) {
  auto it = values_.find(KeyView(name, key));
  if (it == values_.end()) {
    if (series_ + 1 > max_series_ || key.longest_value() > max_label_value_length_) return false;
    Value v;
    v.start_ns = now_ns_;
    it = values_.emplace(Key{name, key.resource(), key.attributes(), key.hash()}, std::move(v))
             .first;
    series_ += 1;
  }
  it->second.counter += delta;
  it->second.last_update_ns = now_ns_;
  return true;
}

bool SeriesTable::Observe(const std::string& name, const SeriesKey& key,
                          const std::vector<double>& bounds, std::span<const double> values) {
  auto it = values_.find(KeyView(name, key));
  if (it == values_.end()) {
    size_t cost = bounds.size() + 3;
    if (series_ + cost > max_series_ || key.longest_value() > max_label_value_length_) {
      return false;
    }
    auto& stored = bounds_[name];
    if (stored == nullptr) stored = std::make_unique<std::vector<double>>(bounds);
    Value v;
    v.bounds = stored.get();
    v.buckets.assign(stored->size() + 1, 0);
    v.start_ns = now_ns_;
    it = values_.emplace(Key{name, key.resource(), key.attributes(), key.hash()}, std::move(v))
             .first;
    series_ += cost;
  }
  Value& v = it->second;
  for (double value : values) {
    size_t index = std::lower_bound(v.bounds->begin(), v.bounds->end(), value) - v.bounds->begin();
    v.buckets[index] += 1;
    v.sum += value;
    v.count += 1;
  }
  v.last_update_ns = now_ns_;
  return true;
}

size_t SeriesTable::RemoveIdle(int64_t cutoff_ns) {
  absl::flat_hash_map<std::pair<std::string, std::string>, int64_t> newest;
  for (const auto& [key, v] : values_) {
    int64_t& t = newest[{key.resource, key.attributes}];
    t = std::max(t, v.last_update_ns);
  }
  size_t removed = 0;
  absl::erase_if(values_, [&](const auto& entry) {
    if (newest[{entry.first.resource, entry.first.attributes}] >= cutoff_ns) return false;
    removed += entry.second.bounds == nullptr ? 1 : entry.second.bounds->size() + 3;
    return true;
  });
  series_ -= removed;
  return removed;
}

void SeriesTable::AppendTo(
    int64_t time_ns, std::string_view scope_name,
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const {
  // Sorted by resource, then name, then attributes: one ResourceMetrics per resource and one
  // Metric per name.
  std::vector<std::pair<const Key*, const Value*>> sorted;
  sorted.reserve(values_.size());
  for (const auto& [key, v] : values_) sorted.push_back({&key, &v});
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first->resource, a.first->name, a.first->attributes) <
           std::tie(b.first->resource, b.first->name, b.first->attributes);
  });
  metrics::ScopeMetrics* scope = nullptr;
  metrics::Metric* metric = nullptr;
  const Key* previous = nullptr;
  for (const auto& [key, v] : sorted) {
    if (previous == nullptr || key->resource != previous->resource) {
      metrics::ResourceMetrics* rm = out.add_resource_metrics();
      CopyAttributes(key->resource, *rm->mutable_resource()->mutable_attributes());
      scope = rm->add_scope_metrics();
      scope->mutable_scope()->set_name(std::string(scope_name));
      metric = nullptr;
    }
    if (metric == nullptr || key->name != previous->name) {
      metric = scope->add_metrics();
      metric->set_name(key->name);
      auto unit = units_.find(key->name);
      if (unit != units_.end()) metric->set_unit(unit->second);
      if (v->bounds == nullptr) {
        metric->mutable_sum()->set_is_monotonic(true);
        metric->mutable_sum()->set_aggregation_temporality(
            metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
      } else {
        metric->mutable_histogram()->set_aggregation_temporality(
            metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
      }
    }
    previous = key;
    uint64_t start = static_cast<uint64_t>(std::min(v->start_ns, time_ns));
    if (v->bounds == nullptr) {
      metrics::NumberDataPoint* p = metric->mutable_sum()->add_data_points();
      CopyAttributes(key->attributes, *p->mutable_attributes());
      p->set_start_time_unix_nano(start);
      p->set_time_unix_nano(static_cast<uint64_t>(time_ns));
      p->set_as_int(v->counter);
      continue;
    }
    metrics::HistogramDataPoint* p = metric->mutable_histogram()->add_data_points();
    CopyAttributes(key->attributes, *p->mutable_attributes());
    p->set_start_time_unix_nano(start);
    p->set_time_unix_nano(static_cast<uint64_t>(time_ns));
    p->set_count(v->count);
    p->set_sum(v->sum);
    for (uint64_t n : v->buckets) p->add_bucket_counts(n);
    for (double b : *v->bounds) p->add_explicit_bounds(b);
  }
}

}  // namespace oriel::pipeline::spanmetrics
