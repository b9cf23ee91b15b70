// The one code path behind OTLP/HTTP and OTLP/gRPC metrics: translate an export request to
// Prometheus series and write them to the metrics engine.
#pragma once

#include "absl/status/status.h"
#include "base/metrics.h"
#include "ingest/otlp/metrics_translator.h"
#include "tsdb/metrics_store.h"

namespace opentelemetry::proto::collector::metrics::v1 {
class ExportMetricsServiceRequest;
class ExportMetricsServiceResponse;
}  // namespace opentelemetry::proto::collector::metrics::v1

namespace oriel::ingest::otlp {

class OtlpMetricsIngester {
 public:
  // `writer` is not owned and must outlive the ingester. With a `registry` (not owned; at most
  // one ingester per registry) it counts accepted and refused data points and exposes the size
  // of the delta table as oriel_otlp_metric_points_{accepted,rejected}_total and
  // oriel_otlp_delta_series.
  explicit OtlpMetricsIngester(tsdb::MetricsWriter& writer, TranslatorOptions options = {},
                               metrics::Registry* registry = nullptr);

  // Translates and writes `request`. On success fills `response`: its partial_success counts
  // the data points the translator refused plus the samples the engine refused, with the first
  // reasons as its message (left unset when nothing was refused). Otherwise returns the
  // writer's error unchanged (kInvalidArgument, kResourceExhausted, kUnavailable, ...), in which
  // case nothing was stored. Thread-safe.
  [[nodiscard]] absl::Status Export(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse& response);

  const MetricsTranslator& translator() const { return translator_; }

 private:
  tsdb::MetricsWriter& writer_;
  MetricsTranslator translator_;
  metrics::Counter* accepted_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
};

}  // namespace oriel::ingest::otlp
