#include "server/trace_pipeline.h"

#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "ingest/otlp/metrics_ingester.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "pipeline/memory_limiter.h"
#include "pipeline/sampling/sampling_writer.h"
#include "pipeline/spanmetrics/span_metrics_writer.h"

namespace oriel::server {
namespace {

pipeline::sampling::SamplingOptions SamplingOptionsFrom(const TracesConfig& c) {
  pipeline::sampling::SamplingOptions s;
  s.head.enabled = c.head_sampling_percentage < 100;
  s.head.sampling_percentage = c.head_sampling_percentage;
  s.head.hash_seed = c.sampling_hash_seed;
  s.tail.enabled = c.tail_sampling;
  s.tail.decision_wait = c.tail_decision_wait;
  s.tail.num_traces = c.tail_num_traces;
  s.tail.keep_errors = c.tail_keep_errors;
  s.tail.latency_threshold = c.tail_latency_threshold;
  s.tail.sampling_percentage = c.tail_percentage;
  return s;
}

pipeline::spanmetrics::SpanMetricsWriterOptions SpanMetricsOptionsFrom(const TracesConfig& c) {
  pipeline::spanmetrics::SpanMetricsWriterOptions o;
  o.span_metrics_enabled = c.span_metrics;
  o.service_graph_enabled = c.service_graph;
  o.flush_interval = c.metrics_flush_interval;
  for (const std::string& name : c.span_metrics_dimensions) {
    o.span_metrics.dimensions.push_back({.name = name, .default_value = std::nullopt});
  }
  o.span_metrics.max_series = static_cast<size_t>(c.span_metrics_max_series);
  o.service_graph.max_series = static_cast<size_t>(c.span_metrics_max_series);
  o.service_graph.wait_ns = absl::ToInt64Nanoseconds(c.service_graph_wait);
  o.service_graph.max_items = static_cast<size_t>(c.service_graph_max_items);
  return o;
}

// Derived metrics go through the OTLP metrics ingester, as the collector's connectors' output
// reaches Prometheus through its OTLP receiver.
pipeline::spanmetrics::MetricsSink IngesterSink(ingest::otlp::OtlpMetricsIngester& ingester) {
  return [&ingester](
             opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request)
             -> absl::Status {
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse response;
    ORIEL_RETURN_IF_ERROR(ingester.Export(request, response));
    if (response.has_partial_success()) {
      // Not an error of the flush: the rest was stored, and the next flush sends the refused
      // points again with a later timestamp.
      log::Warn("metrics engine refused span metrics data points",
                {{"rejected", response.partial_success().rejected_data_points()},
                 {"first", response.partial_success().error_message()}});
    }
    return absl::OkStatus();
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<TracePipeline>> TracePipeline::Create(
    const TracesConfig& config, tracestore::TraceWriter& store,
    ingest::otlp::OtlpMetricsIngester& metrics, pipeline::MemoryLimiter& limiter,
    metrics::Registry& registry) {
  std::unique_ptr<TracePipeline> p(new TracePipeline());
  ORIEL_ASSIGN_OR_RETURN(p->sampling_, pipeline::sampling::SamplingWriter::Create(
                                           SamplingOptionsFrom(config), store, registry));
  tracestore::TraceWriter* next = p->sampling_.get();
  if (config.span_metrics || config.service_graph) {
    p->span_metrics_ = std::make_unique<pipeline::spanmetrics::SpanMetricsWriter>(
        *next, IngesterSink(metrics), SpanMetricsOptionsFrom(config), registry);
    next = p->span_metrics_.get();
  }
  p->memory_limit_ = std::make_unique<pipeline::MemoryLimitedTraceWriter>(*next, limiter);
  p->entry_ = p->memory_limit_.get();
  return p;
}

TracePipeline::~TracePipeline() = default;

absl::Status TracePipeline::FlushDerivedMetrics() {
  if (span_metrics_ == nullptr) return absl::OkStatus();
  return span_metrics_->Flush(absl::ToUnixMillis(absl::Now()));
}

}  // namespace oriel::server
