#include "ingest/pushgateway/family_convert.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "base/metrics.h"
#include "fmt/format.h"
#include "model/labels.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

bool HasValueFor(const pb::Metric& m, pb::MetricType type) {
  switch (type) {
    case pb::COUNTER:
      return m.has_counter();
    case pb::GAUGE:
      return m.has_gauge();
    case pb::SUMMARY:
      return m.has_summary();
    case pb::HISTOGRAM:
    case pb::GAUGE_HISTOGRAM:
      return m.has_histogram();
    default:
      return m.has_untyped();
  }
}

std::vector<model::Label> BaseLabels(const pb::Metric& m, std::string_view name) {
  std::vector<model::Label> labels;
  labels.reserve(m.label_size() + 2);
  for (const auto& lp : m.label()) labels.push_back({lp.name(), lp.value()});
  labels.push_back({std::string(model::kMetricName), std::string(name)});
  return labels;
}

void AddSample(std::vector<model::Label> labels, int64_t t, double v,
               std::vector<model::SeriesData>* out) {
  model::SeriesData s;
  s.labels = model::Labels::FromUnsorted(std::move(labels));
  s.samples.push_back({t, v});
  out->push_back(std::move(s));
}

bool IsNative(const pb::Histogram& h) {
  return h.has_schema() || h.positive_span_size() > 0 || h.negative_span_size() > 0 ||
         h.zero_threshold() > 0 || h.has_zero_count() || h.has_zero_count_float();
}

template <typename Spans, typename Deltas, typename Counts>
void NativeSide(const Spans& spans, const Deltas& deltas, const Counts& counts,
                std::vector<model::BucketSpan>* out_spans, std::vector<double>* out_buckets) {
  for (const auto& s : spans) out_spans->push_back({s.offset(), s.length()});
  if (!counts.empty()) {
    out_buckets->assign(counts.begin(), counts.end());
    return;
  }
  int64_t abs = 0;
  for (int64_t d : deltas) {
    abs = static_cast<int64_t>(static_cast<uint64_t>(abs) + static_cast<uint64_t>(d));
    out_buckets->push_back(static_cast<double>(abs));
  }
}

}  // namespace

absl::Status ValidateFamily(const pb::MetricFamily& mf) {
  if (!model::IsValidLegacyMetricName(mf.name())) {
    return absl::InvalidArgumentError(fmt::format("invalid metric name \"{}\"", mf.name()));
  }
  for (const pb::Metric& m : mf.metric()) {
    std::set<std::string_view> seen;
    for (const auto& lp : m.label()) {
      if (!model::IsValidLegacyLabelName(lp.name()) || lp.name().starts_with("__")) {
        return absl::InvalidArgumentError(
            fmt::format("collected metric \"{}\" {} has invalid label name \"{}\"", mf.name(),
                        MetricLabelsString(m), lp.name()));
      }
      if (!seen.insert(lp.name()).second) {
        return absl::InvalidArgumentError(
            fmt::format("collected metric \"{}\" {} has two or more labels with the same name: {}",
                        mf.name(), MetricLabelsString(m), lp.name()));
      }
    }
    if (!HasValueFor(m, mf.type())) {
      return absl::InvalidArgumentError(fmt::format("collected metric \"{}\" {} is not a {}",
                                                    mf.name(), MetricLabelsString(m),
                                                    TypeName(mf.type())));
    }
  }
  return absl::OkStatus();
}

bool HasTimestamps(const pb::MetricFamily& mf) {
  return std::any_of(mf.metric().begin(), mf.metric().end(),
                     [](const pb::Metric& m) { return m.has_timestamp_ms(); });
}

void ApplyGroupingLabels(const GroupingKey& key, pb::MetricFamily* mf) {
  for (pb::Metric& m : *mf->mutable_metric()) {
    std::set<std::string> done;
    bool has_instance = false;
    for (auto& lp : *m.mutable_label()) {
      if (auto it = key.find(lp.name()); it != key.end()) {
        lp.set_value(it->second);
        done.insert(it->first);
      }
      if (lp.name() == "instance") has_instance = true;
    }
    for (const auto& [name, value] : key) {
      if (done.count(name)) continue;
      auto* lp = m.add_label();
      lp->set_name(name);
      lp->set_value(value);
      if (name == "instance") has_instance = true;
    }
    if (!has_instance) {
      auto* lp = m.add_label();
      lp->set_name("instance");
      lp->set_value("");
    }
    std::sort(m.mutable_label()->begin(), m.mutable_label()->end(),
              [](const pb::LabelPair& a, const pb::LabelPair& b) { return a.name() < b.name(); });
  }
}

std::string_view TypeName(pb::MetricType type) {
  switch (type) {
    case pb::COUNTER:
      return "COUNTER";
    case pb::GAUGE:
      return "GAUGE";
    case pb::SUMMARY:
      return "SUMMARY";
    case pb::HISTOGRAM:
      return "HISTOGRAM";
    case pb::GAUGE_HISTOGRAM:
      return "GAUGE_HISTOGRAM";
    default:
      return "UNTYPED";
  }
}

model::MetricType ToModelType(pb::MetricType type) {
  switch (type) {
    case pb::COUNTER:
      return model::MetricType::kCounter;
    case pb::GAUGE:
      return model::MetricType::kGauge;
    case pb::SUMMARY:
      return model::MetricType::kSummary;
    case pb::HISTOGRAM:
      return model::MetricType::kHistogram;
    case pb::GAUGE_HISTOGRAM:
      return model::MetricType::kGaugeHistogram;
    default:
      return model::MetricType::kUnknown;
  }
}

std::string MetricLabelsString(const pb::Metric& m) {
  std::string s = "{";
  for (const auto& lp : m.label()) {
    if (s.size() > 1) s += ", ";
    s += fmt::format("{}=\"{}\"", lp.name(), lp.value());
  }
  return s + "}";
}

void AppendSeries(const pb::MetricFamily& mf, int64_t t, std::vector<model::SeriesData>* out) {
  const std::string& name = mf.name();
  for (const pb::Metric& m : mf.metric()) {
    switch (mf.type()) {
      case pb::COUNTER:
        AddSample(BaseLabels(m, name), t, m.counter().value(), out);
        break;
      case pb::GAUGE:
        AddSample(BaseLabels(m, name), t, m.gauge().value(), out);
        break;
      case pb::UNTYPED:
        AddSample(BaseLabels(m, name), t, m.untyped().value(), out);
        break;
      case pb::SUMMARY: {
        const pb::Summary& s = m.summary();
        for (const pb::Quantile& q : s.quantile()) {
          auto labels = BaseLabels(m, name);
          labels.push_back({"quantile", metrics::FormatFloat(q.quantile())});
          AddSample(std::move(labels), t, q.value(), out);
        }
        AddSample(BaseLabels(m, name + "_sum"), t, s.sample_sum(), out);
        AddSample(BaseLabels(m, name + "_count"), t, static_cast<double>(s.sample_count()), out);
        break;
      }
      case pb::HISTOGRAM:
      case pb::GAUGE_HISTOGRAM: {
        const pb::Histogram& h = m.histogram();
        double count = h.has_sample_count_float() ? h.sample_count_float()
                                                  : static_cast<double>(h.sample_count());
        if (IsNative(h)) {
          model::HistogramSample hs;
          hs.timestamp_ms = t;
          hs.counter_reset = mf.type() == pb::GAUGE_HISTOGRAM
                                 ? model::HistogramSample::Reset::kGauge
                                 : model::HistogramSample::Reset::kUnknown;
          hs.schema = h.schema();
          hs.zero_threshold = h.zero_threshold();
          hs.zero_count =
              h.has_zero_count_float() ? h.zero_count_float() : static_cast<double>(h.zero_count());
          hs.count = count;
          hs.sum = h.sample_sum();
          NativeSide(h.positive_span(), h.positive_delta(), h.positive_count(), &hs.positive_spans,
                     &hs.positive_buckets);
          NativeSide(h.negative_span(), h.negative_delta(), h.negative_count(), &hs.negative_spans,
                     &hs.negative_buckets);
          model::SeriesData s;
          s.labels = model::Labels::FromUnsorted(BaseLabels(m, name));
          s.histograms.push_back(std::move(hs));
          out->push_back(std::move(s));
          break;
        }
        bool has_inf = false;
        for (const pb::Bucket& b : h.bucket()) {
          auto labels = BaseLabels(m, name + "_bucket");
          labels.push_back({"le", metrics::FormatFloat(b.upper_bound())});
          if (std::isinf(b.upper_bound()) && b.upper_bound() > 0) has_inf = true;
          double c = b.has_cumulative_count_float() ? b.cumulative_count_float()
                                                    : static_cast<double>(b.cumulative_count());
          AddSample(std::move(labels), t, c, out);
        }
        if (!has_inf) {
          auto labels = BaseLabels(m, name + "_bucket");
          labels.push_back({"le", "+Inf"});
          AddSample(std::move(labels), t, count, out);
        }
        AddSample(BaseLabels(m, name + "_sum"), t, h.sample_sum(), out);
        AddSample(BaseLabels(m, name + "_count"), t, count, out);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace oriel::ingest
