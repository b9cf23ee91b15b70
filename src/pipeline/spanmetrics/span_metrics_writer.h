// A TraceWriter decorator that derives RED metrics (spanmetrics) and service-graph metrics
// (servicegraph) from the spans the trace store accepts, and hands them at each flush to a sink
// as one OTLP export request of cumulative metrics, as the collector's connectors emit them (in
// the server the sink is the OTLP metrics ingester, so that they become series through the one
// translation Prometheus' OTLP receiver applies).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "google/protobuf/arena.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "pipeline/spanmetrics/service_graph_aggregator.h"
#include "pipeline/spanmetrics/span_metrics_aggregator.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::spanmetrics {

struct SpanMetricsWriterOptions {
  bool span_metrics_enabled = true;
  bool service_graph_enabled = true;
  // How often the background thread writes the current values; <= 0: no background thread
  // (Flush() only).
  absl::Duration flush_interval = absl::Seconds(15);
  SpanMetricsOptions span_metrics;
  ServiceGraphOptions service_graph;
};

// Where flushed metrics go. The request is the sink's to modify or move from. An error is
// counted as a failed flush and returned by Flush.
using MetricsSink = std::function<absl::Status(
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest&)>;

class SpanMetricsWriter final : public tracestore::TraceWriter {
 public:
  // Unix time in nanoseconds; a seam for tests.
  using Clock = std::function<int64_t()>;

  // `next` is not owned and must outlive this writer; `sink` is called from Flush (so from the
  // background thread, and from the destructor), one call at a time. Self-metrics go to
  // `registry` (at most one SpanMetricsWriter per registry):
  //   oriel_spanmetrics_series_dropped_total  spans not counted: their series would go over a
  //                                           max_series bound
  //   oriel_spanmetrics_series                series held (gauge)
  //   oriel_spanmetrics_flushes_total / oriel_spanmetrics_flush_failures_total  sink calls / errors
  //   oriel_servicegraph_dropped_spans_total  spans refused because the edge store was full
  //   oriel_servicegraph_expired_edges_total  edges whose other side never came
  //   oriel_servicegraph_pending_edges        edges waiting for their other side (gauge)
  // Starts the background flush thread when flush_interval > 0.
  SpanMetricsWriter(tracestore::TraceWriter& next, MetricsSink sink,
                    SpanMetricsWriterOptions options, metrics::Registry& registry,
                    Clock clock = nullptr);
  // Stops the background thread and, when there was one, writes the values one last time.
  ~SpanMetricsWriter() override;

  SpanMetricsWriter(const SpanMetricsWriter&) = delete;
  SpanMetricsWriter& operator=(const SpanMetricsWriter&) = delete;

  // Forwards to `next`; when it succeeds, feeds the spans to the aggregators, except those the
  // trace store refuses as invalid (tracestore::ValidateSpan). Spans a sampler below `next`
  // drops are still counted: put this writer above any sampler, as the collector runs its
  // connectors before tail sampling. `next`'s errors are returned unchanged and nothing is
  // counted. The spans move on to `next`; what the aggregators read of them (ids, name, kind,
  // status, times, the resource and the span attributes named in the options) is copied first.
  // Thread-safe.
  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override;
  // As Write, but nothing is copied: the aggregators read the spans `next` leaves in the batch
  // once it has stored them (in place when the batch was read so).
  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> WriteBatch(
      tracestore::SpanBatch& batch) override;

  // Expires service-graph edges at `now_ms`, then hands every series' cumulative value to the
  // sink with time `now_ms` (kept after the previous flush's, so that a clock stepping back
  // cannot make the metrics engine refuse it); nothing when there are no series. Returns the
  // sink's error, if any (the values stay, the next flush sends them). Thread-safe.
  [[nodiscard]] absl::Status Flush(int64_t now_ms);

 private:
  void FlushLoop();
  // Feed the spans of a successful write to the aggregators.
  void Consume(std::span<const opentelemetry::proto::trace::v1::ResourceSpans* const> view);
  void ConsumeEncoded(std::span<const tracestore::EncodedResourceSpans> read);
  void ConsumeInputs(std::span<const ResourceInput> inputs, google::protobuf::Arena& arena);
  // The copy of `resource_spans` the aggregators are fed (see Write), allocated on `arena`.
  std::vector<const opentelemetry::proto::trace::v1::ResourceSpans*> AggregatorView(
      const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans,
      google::protobuf::Arena& arena) const;

  tracestore::TraceWriter& next_;
  MetricsSink sink_;
  const SpanMetricsWriterOptions options_;
  Clock clock_;
  // Span attribute keys some aggregator looks up (dimensions, peer and database attributes).
  std::vector<std::string> span_attribute_keys_;

  absl::Mutex mu_;  // guards the aggregators
  std::unique_ptr<SpanMetricsAggregator> span_metrics_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ServiceGraphAggregator> service_graph_ ABSL_GUARDED_BY(mu_);

  absl::Mutex flush_mu_;  // one flush at a time, so that timestamps increase
  int64_t last_flush_ms_ ABSL_GUARDED_BY(flush_mu_) = 0;

  metrics::Counter& series_dropped_;
  metrics::Gauge& series_;
  metrics::Counter& flushes_;
  metrics::Counter& flush_failures_;
  metrics::Counter& graph_dropped_spans_;
  metrics::Counter& graph_expired_edges_;
  metrics::Gauge& graph_pending_edges_;

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace oriel::pipeline::spanmetrics
