#include "pipeline/spanmetrics/span_metrics_aggregator.h"

#include "pipeline/spanmetrics/prometheus_translation.h"
#include "tracestore/span_validation.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace trace = opentelemetry::proto::trace::v1;

std::string SpanKindString(int kind) {
  switch (kind) {
    case trace::Span::SPAN_KIND_UNSPECIFIED:
      return "SPAN_KIND_UNSPECIFIED";
    case trace::Span::SPAN_KIND_INTERNAL:
      return "SPAN_KIND_INTERNAL";
    case trace::Span::SPAN_KIND_SERVER:
      return "SPAN_KIND_SERVER";
    case trace::Span::SPAN_KIND_CLIENT:
      return "SPAN_KIND_CLIENT";
    case trace::Span::SPAN_KIND_PRODUCER:
      return "SPAN_KIND_PRODUCER";
    case trace::Span::SPAN_KIND_CONSUMER:
      return "SPAN_KIND_CONSUMER";
    default:
      return "";  // as traceutil.SpanKindStr: an unknown kind gives an empty (absent) label
  }
}

std::string StatusCodeString(int code) {
  switch (code) {
    case trace::Status::STATUS_CODE_UNSET:
      return "STATUS_CODE_UNSET";
    case trace::Status::STATUS_CODE_OK:
      return "STATUS_CODE_OK";
    case trace::Status::STATUS_CODE_ERROR:
      return "STATUS_CODE_ERROR";
    default:
      return "";
  }
}

}  // namespace

const std::vector<double>& DefaultSpanMetricsBucketsMs() {
  static const std::vector<double> kBuckets = {2,   4,   6,    8,    10,   50,   100,   200,
                                               400, 800, 1000, 1400, 2000, 5000, 10000, 15000};
  return kBuckets;
}

SpanMetricsAggregator::SpanMetricsAggregator(SpanMetricsOptions options)
    : options_(std::move(options)), table_(options_.max_series, options_.max_label_value_length) {
  bounds_ = options_.buckets;
  if (bounds_.empty()) {
    bounds_ = DefaultSpanMetricsBucketsMs();
    if (options_.unit == DurationUnit::kSeconds) {
      for (double& b : bounds_) b /= 1000;
    }
  }
  for (const Dimension& d : options_.dimensions) {
    dimension_labels_.push_back(PrometheusLabelName(d.name));
  }
  std::string prefix = options_.metrics_namespace.empty() ? "" : options_.metrics_namespace + ".";
  calls_name_ = PrometheusMetricName(prefix + "calls", "", true);
  duration_name_ = PrometheusMetricName(
      prefix + "duration", options_.unit == DurationUnit::kSeconds ? "seconds" : "milliseconds",
      false);
}

int64_t SpanMetricsAggregator::Consume(const std::vector<trace::ResourceSpans>& resource_spans) {
  const double divider = options_.unit == DurationUnit::kSeconds ? 1e9 : 1e6;
  int64_t dropped = 0;
  for (const trace::ResourceSpans& rs : resource_spans) {
    const auto* service = FindAttribute(rs.resource().attributes(), "service.name");
    if (service == nullptr) continue;
    std::vector<model::Label> base;
    AppendJobAndInstance(rs.resource(), base);
    base.push_back({"service_name", AttributeValueString(*service)});
    for (const trace::ScopeSpans& ss : rs.scope_spans()) {
      for (const trace::Span& span : ss.spans()) {
        if (!tracestore::ValidateSpan(span).empty()) continue;
        std::vector<model::Label> items = base;
        items.push_back({"span_name", span.name()});
        items.push_back({"span_kind", SpanKindString(span.kind())});
        items.push_back({"status_code", StatusCodeString(span.status().code())});
        for (size_t i = 0; i < options_.dimensions.size(); ++i) {
          const Dimension& d = options_.dimensions[i];
          const auto* v = FindAttribute(span.attributes(), d.name);
          if (v == nullptr) v = FindAttribute(rs.resource().attributes(), d.name);
          if (v != nullptr) {
            items.push_back({dimension_labels_[i], AttributeValueString(*v)});
          } else if (d.default_value.has_value()) {
            items.push_back({dimension_labels_[i], *d.default_value});
          }
        }
        model::Labels labels = model::Labels::FromUnsorted(std::move(items));
        double duration = 0;
        if (span.end_time_unix_nano() > span.start_time_unix_nano()) {
          duration = static_cast<double>(span.end_time_unix_nano() - span.start_time_unix_nano()) /
                     divider;
        }
        // A span is counted in both metrics or in neither.
        if (!table_.Contains(calls_name_, labels) && !table_.Fits(bounds_.size() + 4)) {
          ++dropped;
          continue;
        }
        if (!table_.Observe(duration_name_, labels, bounds_, duration)) {
          ++dropped;  // a label value over the length limit
          continue;
        }
        table_.AddCounter(calls_name_, labels, 1);
      }
    }
  }
  return dropped;
}

void SpanMetricsAggregator::AppendTo(int64_t timestamp_ms, model::MetricBatch& batch) const {
  if (table_.series() == 0) return;
  table_.AppendTo(timestamp_ms, batch);
  batch.metadata.push_back(
      {.metric_family = calls_name_, .type = model::MetricType::kCounter, .help = "", .unit = ""});
  batch.metadata.push_back({.metric_family = duration_name_,
                            .type = model::MetricType::kHistogram,
                            .help = "",
                            .unit = options_.unit == DurationUnit::kSeconds ? "s" : "ms"});
}

}  // namespace oriel::pipeline::spanmetrics
