#include "ingest/otlp/delta_accumulator.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "base/status.h"

namespace oriel::ingest::otlp {
namespace {

// Per accumulated exponential histogram; the OTel SDK default is 160 per sign.
constexpr size_t kMaxHeldBuckets = 320;
// The coarsest scale a native histogram can hold.
constexpr int32_t kMinHeldScale = -4;

std::map<int64_t, double> DownscaleBuckets(const std::map<int64_t, double>& buckets, int shift) {
  std::map<int64_t, double> out;
  // Right shift of a negative index rounds towards -inf, which is the exponential mapping's rule.
  for (const auto& [index, count] : buckets) out[index >> shift] += count;
  return out;
}

void AddBuckets(std::map<int64_t, double>& into, const std::map<int64_t, double>& from) {
  for (const auto& [index, count] : from) into[index] += count;
}

}  // namespace

void DownscaleExponential(ExponentialHistogramPoint& point, int32_t scale) {
  if (scale >= point.scale) return;
  int shift = std::min(point.scale - scale, 62);
  point.positive = DownscaleBuckets(point.positive, shift);
  point.negative = DownscaleBuckets(point.negative, shift);
  point.scale = scale;
}

DeltaAccumulator::DeltaAccumulator(size_t max_series) : max_series_(max_series) {
  ORIEL_CHECK(max_series > 0);
}

size_t DeltaAccumulator::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

absl::StatusOr<DeltaAccumulator::Entry*> DeltaAccumulator::Find(const model::Labels& series,
                                                                Kind kind, uint64_t time_ns,
                                                                bool* fresh) {
  uint64_t key = series.Hash();
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    // A hash collision between two series, or a metric that changed type, starts over.
    if (e.labels == series && e.kind == kind) {
      if (time_ns <= e.last_time_ns) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot accumulate delta point of {} at {}ns: not after the previous point at {}ns",
            series.ToString(), time_ns, e.last_time_ns));
      }
      lru_.splice(lru_.begin(), lru_, e.lru);
      e.last_time_ns = time_ns;
      *fresh = false;
      return &e;
    }
    lru_.erase(e.lru);
    entries_.erase(it);
  }
  while (entries_.size() >= max_series_ && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  Entry& e = entries_[key];
  e.labels = series;
  e.kind = kind;
  e.last_time_ns = time_ns;
  e.lru = lru_.begin();
  *fresh = true;
  return &e;
}

absl::StatusOr<double> DeltaAccumulator::AddSum(const model::Labels& series, uint64_t time_ns,
                                                double delta) {
  absl::MutexLock lock(&mu_);
  bool fresh = false;
  ORIEL_ASSIGN_OR_RETURN(Entry * e, Find(series, Kind::kSum, time_ns, &fresh));
  e->sum = fresh ? delta : e->sum + delta;
  return e->sum;
}

absl::StatusOr<ExplicitHistogramPoint> DeltaAccumulator::AddHistogram(
    const model::Labels& series, uint64_t time_ns, const ExplicitHistogramPoint& delta) {
  absl::MutexLock lock(&mu_);
  bool fresh = false;
  ORIEL_ASSIGN_OR_RETURN(Entry * e, Find(series, Kind::kHistogram, time_ns, &fresh));
  ExplicitHistogramPoint& total = e->histogram;
  // New bucket bounds cannot be merged with the old ones: the series starts over.
  if (fresh || total.bounds != delta.bounds ||
      total.bucket_counts.size() != delta.bucket_counts.size()) {
    total = delta;
    return total;
  }
  total.count += delta.count;
  total.sum += delta.sum;
  total.has_sum = total.has_sum && delta.has_sum;
  for (size_t i = 0; i < total.bucket_counts.size(); ++i) {
    total.bucket_counts[i] += delta.bucket_counts[i];
  }
  return total;
}

absl::StatusOr<ExponentialHistogramPoint> DeltaAccumulator::AddExponential(
    const model::Labels& series, uint64_t time_ns, const ExponentialHistogramPoint& delta) {
  absl::MutexLock lock(&mu_);
  bool fresh = false;
  ORIEL_ASSIGN_OR_RETURN(Entry * e, Find(series, Kind::kExponential, time_ns, &fresh));
  ExponentialHistogramPoint& total = e->exponential;
  if (fresh) {
    total = delta;
    return total;
  }
  // Points of different scales merge at the coarser one.
  ExponentialHistogramPoint add = delta;
  int32_t scale = std::min(total.scale, add.scale);
  DownscaleExponential(total, scale);
  DownscaleExponential(add, scale);
  total.count += add.count;
  total.sum += add.sum;
  total.has_sum = total.has_sum && add.has_sum;
  total.zero_count += add.zero_count;
  total.zero_threshold = std::max(total.zero_threshold, add.zero_threshold);
  AddBuckets(total.positive, add.positive);
  AddBuckets(total.negative, add.negative);
  // Like an OTel SDK's bounded aggregation, keep the held buckets few by coarsening the scale.
  while (total.positive.size() + total.negative.size() > kMaxHeldBuckets &&
         total.scale > kMinHeldScale) {
    DownscaleExponential(total, total.scale - 1);
  }
  return total;
}

}  // namespace oriel::ingest::otlp
