#include "pipeline/spanmetrics/series_table.h"

#include <algorithm>
#include <limits>

#include "pipeline/spanmetrics/prometheus_translation.h"

namespace oriel::pipeline::spanmetrics {
namespace {

model::Labels WithName(const model::Labels& labels, std::string name, const std::string* le) {
  std::vector<model::Label> items(labels.begin(), labels.end());
  items.push_back({std::string(model::kMetricName), std::move(name)});
  if (le != nullptr) items.push_back({"le", *le});
  return model::Labels::FromUnsorted(std::move(items));
}

model::SeriesData Series(model::Labels labels, int64_t timestamp_ms, double value) {
  model::SeriesData s;
  s.labels = std::move(labels);
  s.samples.push_back({timestamp_ms, value});
  return s;
}

}  // namespace

bool SeriesTable::AddCounter(const std::string& name, const model::Labels& labels, double delta) {
  Key key{name, labels};
  auto it = values_.find(key);
  if (it == values_.end()) {
    if (series_ + 1 > max_series_ || !ValuesFit(labels)) return false;
    it = values_.emplace(std::move(key), Value{}).first;
    series_ += 1;
  }
  it->second.counter += delta;
  it->second.last_update_ns = now_ns_;
  return true;
}

bool SeriesTable::Observe(const std::string& name, const model::Labels& labels,
                          const std::vector<double>& bounds, double value) {
  Key key{name, labels};
  auto it = values_.find(key);
  if (it == values_.end()) {
    size_t cost = bounds.size() + 3;
    if (series_ + cost > max_series_ || !ValuesFit(labels)) return false;
    auto& stored = bounds_[name];
    if (stored == nullptr) stored = std::make_unique<std::vector<double>>(bounds);
    Value v;
    v.bounds = stored.get();
    v.buckets.assign(stored->size() + 1, 0);
    it = values_.emplace(std::move(key), std::move(v)).first;
    series_ += cost;
  }
  Value& v = it->second;
  size_t index = std::lower_bound(v.bounds->begin(), v.bounds->end(), value) - v.bounds->begin();
  v.buckets[index] += 1;
  v.sum += value;
  v.count += 1;
  v.last_update_ns = now_ns_;
  return true;
}

bool SeriesTable::ValuesFit(const model::Labels& labels) const {
  for (const model::Label& l : labels) {
    if (l.value.size() > max_label_value_length_) return false;
  }
  return true;
}

size_t SeriesTable::RemoveIdle(int64_t cutoff_ns) {
  struct LabelsHash {
    size_t operator()(const model::Labels& l) const { return l.Hash(); }
  };
  absl::flat_hash_map<model::Labels, int64_t, LabelsHash> newest;
  for (const auto& [key, v] : values_) {
    int64_t& t = newest[key.labels];
    t = std::max(t, v.last_update_ns);
  }
  size_t removed = 0;
  absl::erase_if(values_, [&](const auto& entry) {
    if (newest[entry.first.labels] >= cutoff_ns) return false;
    removed += entry.second.bounds == nullptr ? 1 : entry.second.bounds->size() + 3;
    return true;
  });
  series_ -= removed;
  return removed;
}

void SeriesTable::AppendTo(int64_t timestamp_ms, model::MetricBatch& batch) const {
  batch.series.reserve(batch.series.size() + series_);
  for (const auto& [key, v] : values_) {
    if (v.bounds == nullptr) {
      batch.series.push_back(
          Series(WithName(key.labels, key.name, nullptr), timestamp_ms, v.counter));
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= v.bounds->size(); ++i) {
      cumulative += v.buckets[i];
      std::string le = FormatBound(i < v.bounds->size() ? (*v.bounds)[i]
                                                        : std::numeric_limits<double>::infinity());
      batch.series.push_back(Series(WithName(key.labels, key.name + "_bucket", &le), timestamp_ms,
                                    static_cast<double>(cumulative)));
    }
    batch.series.push_back(
        Series(WithName(key.labels, key.name + "_sum", nullptr), timestamp_ms, v.sum));
    batch.series.push_back(Series(WithName(key.labels, key.name + "_count", nullptr), timestamp_ms,
                                  static_cast<double>(v.count)));
  }
}

}  // namespace oriel::pipeline::spanmetrics
