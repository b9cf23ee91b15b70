// RED metrics from spans, as the OpenTelemetry Collector's spanmetrics connector (contrib
// connector/spanmetricsconnector) computes and emits them with its defaults, as OTLP metrics.
// Prometheus 3's OTLP translation (ingest/otlp) turns them into
//
//   traces_span_metrics_calls_total{job, instance, service_name, span_name, span_kind,
//                                   status_code, <dimensions>}
//   traces_span_metrics_duration_milliseconds_bucket{..., le} / _sum / _count
//
// Facts checked against the connector's source (config.go, connector.go, factory.go):
// - scope "spanmetricsconnector"; default namespace "traces.span.metrics"; metrics "<ns>.calls"
//   (monotonic cumulative int sum, no unit) and "<ns>.duration" (cumulative explicit histogram,
//   unit "ms" or "s");
// - dimensions service.name, span.name, span.kind, status.code; span.kind values from
//   traceutil.SpanKindStr ("SPAN_KIND_SERVER", ...), status.code from StatusCodeStr
//   ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR");
// - default buckets (ms) 2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000,
//   15000; a span ending before it starts counts as 0;
// - resources without service.name are skipped; extra dimensions are looked up in the span's
//   attributes, then the resource's, then their configured default, and are left out if none;
// - the output resource carries the span's resource attributes, which Prometheus turns into
//   `job` (service.namespace/service.name) and `instance` (service.instance.id). Only these
//   three are kept: the others would only make Prometheus add a target_info series, which the
//   span metrics never had.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pipeline/spanmetrics/series_table.h"
#include "pipeline/spanmetrics/span_input.h"
#include "tracestore/encoded_spans.h"

namespace oriel::pipeline::spanmetrics {

// An extra label from a span or resource attribute (the connectors' `dimensions`).
struct Dimension {
  std::string name;                          // attribute key, e.g. "http.method"
  std::optional<std::string> default_value;  // when neither span nor resource has it
};

enum class DurationUnit { kMilliseconds, kSeconds };

struct SpanMetricsOptions {
  std::string metrics_namespace = "traces.span.metrics";
  DurationUnit unit = DurationUnit::kMilliseconds;
  std::vector<double> buckets;  // upper bounds in `unit`, increasing; empty: connector defaults
  std::vector<Dimension> dimensions;
  size_t max_series = 10000;  // Prometheus series (see SeriesTable)
  // Spans whose span name or label values are longer are not counted (see SeriesTable).
  size_t max_label_value_length = 4096;
};

// The connector's default buckets, in milliseconds.
const std::vector<double>& DefaultSpanMetricsBucketsMs();

// Not thread-safe: the owner serialises calls.
class SpanMetricsAggregator {
 public:
  explicit SpanMetricsAggregator(SpanMetricsOptions options);

  // Counts every span of `resource_spans` that the trace store accepts (tracestore::ValidateSpan;
  // the others are not stored, so they are not counted). Returns how many spans could not be
  // counted because their series would go over max_series or max_label_value_length. `now_ns`
  // (unix ns) is the start time of the series it creates.
  int64_t Consume(const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans,
                  int64_t now_ns);
  // The same over resources held elsewhere (e.g. on an arena). REQUIRES: no null pointer.
  int64_t Consume(
      std::span<const opentelemetry::proto::trace::v1::ResourceSpans* const> resource_spans,
      int64_t now_ns);

  // The same over views of resources (span_input.h); values read in place go on `arena`.
  int64_t ConsumeInputs(std::span<const ResourceInput> inputs, int64_t now_ns,
                        google::protobuf::Arena& arena);
  // The same over resources read in place (whose `valid` spans are counted).
  int64_t ConsumeEncoded(std::span<const tracestore::EncodedResourceSpans> read, int64_t now_ns);

  // Appends the cumulative values at `time_ns`: one ResourceMetrics per service.
  void AppendTo(
      int64_t time_ns,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const;

  const std::string& calls_name() const { return calls_name_; }        // OTLP name, "<ns>.calls"
  const std::string& duration_name() const { return duration_name_; }  // "<ns>.duration"
  size_t series() const { return table_.series(); }

 private:
  SpanMetricsOptions options_;
  std::vector<double> bounds_;
  std::string calls_name_;
  std::string duration_name_;
  SeriesTable table_;
  // The series key of each (identifying resource attributes, memo of the span's series) seen.
  SeriesKeyCache series_keys_;
};

}  // namespace oriel::pipeline::spanmetrics
