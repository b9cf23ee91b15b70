// OTLP metrics to Prometheus series and metadata, matching what Prometheus 3 stores for an OTLP
// write with its default settings (translation strategy UnderscoreEscapingWithSuffixes, no
// promoted resource attributes, scope metadata not promoted, no `_created` series, classic
// `_bucket` series for explicit histograms, native histograms for exponential ones).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/otlp/delta_accumulator.h"
#include "model/sample.h"

namespace opentelemetry::proto::collector::metrics::v1 {
class ExportMetricsServiceRequest;
}  // namespace opentelemetry::proto::collector::metrics::v1

namespace oriel::ingest::otlp {

struct TranslatorOptions {
  // Resource attributes copied onto every series of their resource (Prometheus'
  // `otlp.promote_resource_attributes`); a data point attribute of the same name wins.
  std::vector<std::string> promote_resource_attributes;
  // Adds `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
  // `otel_scope_<attribute>` labels (Prometheus' `otlp.promote_scope_metadata`, off by default).
  bool promote_scope_metadata = false;
  // Keeps service.name/namespace/instance.id among target_info's labels too.
  bool keep_identifying_resource_attributes = false;
  // Delta sums and histograms are accumulated into cumulative series; when false their points
  // are rejected (Prometheus 3 rejects delta temporality unless a feature flag is set).
  bool accumulate_delta = true;
  size_t max_delta_series = 100'000;
  // target_info gets a sample every lookback_delta/2 between a resource's first and last point,
  // so that it is found by joins over the whole span of the write.
  int64_t lookback_delta_ms = 5 * 60 * 1000;
};

// The outcome of translating one request: what to write, and what was refused point by point.
struct Translation {
  model::MetricBatch batch;
  int64_t data_points = 0;           // accepted data points
  int64_t rejected_data_points = 0;  // refused (invalid values, names, temporality, ...)
  std::string error_message;         // the first few reasons, "; "-separated; "" when none
};

class MetricsTranslator {
 public:
  explicit MetricsTranslator(TranslatorOptions options = {});
  ~MetricsTranslator();
  MetricsTranslator(const MetricsTranslator&) = delete;
  MetricsTranslator& operator=(const MetricsTranslator&) = delete;

  // Translates every data point of `request`: gauges and sums to one sample each (monotonic
  // sums get `_total`); histograms to `_bucket{le}` (cumulative, `+Inf` = count), `_sum` (when
  // present) and `_count`; exponential histograms to one native histogram sample (scale above 8
  // merged down to schema 8; scale below -4 refused); summaries to `{quantile}`, `_sum` and
  // `_count`. A point flagged NoRecordedValue becomes the stale marker. Every point's labels are
  // its attributes (sanitized; colliding names join their values with ';'), `job` and
  // `instance` from the resource, and `__name__`. Each resource with attributes beyond the
  // identifying ones gets a `target_info` series. Timestamps become milliseconds. Series are
  // merged across points and their samples sorted by time. Thread-safe.
  Translation Translate(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request);

  // Series whose delta totals are currently held.
  size_t delta_series() const { return delta_.size(); }

 private:
  class Run;
  TranslatorOptions options_;
  DeltaAccumulator delta_;
};

}  // namespace oriel::ingest::otlp
