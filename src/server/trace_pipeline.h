// What spans go through between OTLP ingest and the trace engine, built from the `traces`
// config: the memory limiter, then span metrics and the service graph (derived from every span,
// before sampling, as the collector runs its connectors), then sampling (head, then tail), in
// front of the store.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "server/config.h"
#include "tracestore/trace_store.h"

namespace oriel::ingest::otlp {
class OtlpMetricsIngester;
}  // namespace oriel::ingest::otlp
namespace oriel::pipeline {
class MemoryLimiter;
class MemoryLimitedTraceWriter;
}  // namespace oriel::pipeline
namespace oriel::pipeline::sampling {
class SamplingWriter;
}
namespace oriel::pipeline::spanmetrics {
class SpanMetricsWriter;
}

namespace oriel::server {

class TracePipeline {
 public:
  // `store`, `metrics` (where derived metrics go, as OTLP metrics), `limiter` and `registry` are
  // not owned and must outlive the pipeline. kInvalidArgument for a config the stages refuse.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TracePipeline>> Create(
      const TracesConfig& config, tracestore::TraceWriter& store,
      ingest::otlp::OtlpMetricsIngester& metrics, pipeline::MemoryLimiter& limiter,
      metrics::Registry& registry);
  // Destroying the pipeline writes what its stages still hold (traces waiting for a tail
  // sampling decision) into the store.
  ~TracePipeline();

  // Where ingest writes spans.
  tracestore::TraceWriter& entry() { return *entry_; }

  // Writes the derived metrics now rather than at the next flush interval (e.g. before
  // answering from them). OK when span metrics and the service graph are both off.
  [[nodiscard]] absl::Status FlushDerivedMetrics();

 private:
  TracePipeline() = default;

  // Stages from the store outwards: each writes into the one declared before it, and is
  // destroyed before it.
  std::unique_ptr<pipeline::sampling::SamplingWriter> sampling_;
  std::unique_ptr<pipeline::spanmetrics::SpanMetricsWriter> span_metrics_;
  std::unique_ptr<pipeline::MemoryLimitedTraceWriter> memory_limit_;
  tracestore::TraceWriter* entry_ = nullptr;
};

}  // namespace oriel::server
