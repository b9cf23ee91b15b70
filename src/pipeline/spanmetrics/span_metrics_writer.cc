#include "pipeline/spanmetrics/span_metrics_writer.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "base/log.h"

namespace oriel::pipeline::spanmetrics {

SpanMetricsWriter::SpanMetricsWriter(tracestore::TraceWriter& next, MetricsSink sink,
                                     SpanMetricsWriterOptions options, metrics::Registry& registry,
                                     Clock clock)
    : next_(next),
      sink_(std::move(sink)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : [] { return absl::GetCurrentTimeNanos(); }),
      series_dropped_(registry.AddCounter(
          "oriel_spanmetrics_series_dropped_total",
          "Spans not counted in span metrics or service graph because a series bound was hit.")),
      series_(registry.AddGauge("oriel_spanmetrics_series",
                                "Series of span metrics and service graph held in memory.")),
      flushes_(registry.AddCounter("oriel_spanmetrics_flushes_total",
                                   "Span metrics handed to the metrics pipeline.")),
      flush_failures_(registry.AddCounter("oriel_spanmetrics_flush_failures_total",
                                          "Span metrics the metrics pipeline refused.")),
      graph_dropped_spans_(registry.AddCounter(
          "oriel_servicegraph_dropped_spans_total",
          "Client or server spans not paired because the service graph store was full.")),
      graph_expired_edges_(
          registry.AddCounter("oriel_servicegraph_expired_edges_total",
                              "Service graph edges whose other side did not come in time.")),
      graph_pending_edges_(registry.AddGauge("oriel_servicegraph_pending_edges",
                                             "Service graph edges waiting for their other side.")) {
  if (options_.span_metrics_enabled) {
    span_metrics_ = std::make_unique<SpanMetricsAggregator>(options_.span_metrics);
    for (const Dimension& d : options_.span_metrics.dimensions) {
      span_attribute_keys_.push_back(d.name);
    }
  }
  if (options_.service_graph_enabled) {
    service_graph_ = std::make_unique<ServiceGraphAggregator>(options_.service_graph);
    for (const auto* keys :
         {&options_.service_graph.dimensions, &options_.service_graph.virtual_node_peer_attributes,
          &options_.service_graph.database_name_attributes}) {
      span_attribute_keys_.insert(span_attribute_keys_.end(), keys->begin(), keys->end());
    }
  }
  if (options_.flush_interval > absl::ZeroDuration()) {
    thread_ = std::thread([this] { FlushLoop(); });
  }
}

SpanMetricsWriter::~SpanMetricsWriter() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (options_.flush_interval > absl::ZeroDuration()) {
    absl::Status st = Flush(clock_() / 1'000'000);
    if (!st.ok()) log::Warn("cannot write span metrics at shutdown", {{"err", st}});
  }
}

std::vector<const opentelemetry::proto::trace::v1::ResourceSpans*>
SpanMetricsWriter::AggregatorView(
    const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans,
    google::protobuf::Arena& arena) const {
  namespace trace = opentelemetry::proto::trace::v1;
  std::vector<const trace::ResourceSpans*> view;
  view.reserve(resource_spans.size());
  for (const trace::ResourceSpans& rs : resource_spans) {
    auto* out_rs = google::protobuf::Arena::CreateMessage<trace::ResourceSpans>(&arena);
    view.push_back(out_rs);
    *out_rs->mutable_resource() = rs.resource();
    for (const trace::ScopeSpans& ss : rs.scope_spans()) {
      trace::ScopeSpans* out_ss = out_rs->add_scope_spans();
      out_ss->mutable_spans()->Reserve(ss.spans_size());
      for (const trace::Span& span : ss.spans()) {
        trace::Span* out = out_ss->add_spans();
        out->set_trace_id(span.trace_id());
        out->set_span_id(span.span_id());
        out->set_parent_span_id(span.parent_span_id());
        out->set_name(span.name());
        out->set_kind(span.kind());
        out->set_start_time_unix_nano(span.start_time_unix_nano());
        out->set_end_time_unix_nano(span.end_time_unix_nano());
        out->mutable_status()->set_code(span.status().code());
        if (span_attribute_keys_.empty()) continue;
        // In their order, so that the first one of a key is still the one found.
        for (const auto& kv : span.attributes()) {
          if (std::find(span_attribute_keys_.begin(), span_attribute_keys_.end(), kv.key()) !=
              span_attribute_keys_.end()) {
            *out->add_attributes() = kv;
          }
        }
      }
    }
  }
  return view;
}

absl::StatusOr<tracestore::TraceWriteResult> SpanMetricsWriter::Write(
    std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) {
  if (span_metrics_ == nullptr && service_graph_ == nullptr) {
    return next_.Write(std::move(resource_spans));
  }
  // The copy lives on an arena: a few block allocations instead of several per span, freed at
  // once.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = 64 << 10;
  arena_options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(arena_options);
  const std::vector<const opentelemetry::proto::trace::v1::ResourceSpans*> view =
      AggregatorView(resource_spans, arena);
  absl::StatusOr<tracestore::TraceWriteResult> result = next_.Write(std::move(resource_spans));
  // Spans are counted whether or not a sampler below keeps them (metrics describe all traffic);
  // only those the store refuses as invalid are not.
  if (!result.ok()) return result;
  Consume(view);
  return result;
}

absl::StatusOr<tracestore::TraceWriteResult> SpanMetricsWriter::WriteBatch(
    tracestore::SpanBatch& batch) {
  absl::StatusOr<tracestore::TraceWriteResult> result = next_.WriteBatch(batch);
  if (!result.ok() || (span_metrics_ == nullptr && service_graph_ == nullptr)) return result;
  if (!batch.read.empty()) {
    ConsumeEncoded(batch.read);
    return result;
  }
  std::vector<const opentelemetry::proto::trace::v1::ResourceSpans*> view;
  view.reserve(static_cast<size_t>(batch.resource_spans->size()));
  for (const auto& rs : *batch.resource_spans) view.push_back(&rs);
  Consume(view);
  return result;
}

void SpanMetricsWriter::Consume(
    std::span<const opentelemetry::proto::trace::v1::ResourceSpans* const> view) {
  google::protobuf::Arena arena;
  ConsumeInputs(InputsOf(view), arena);
}

void SpanMetricsWriter::ConsumeEncoded(std::span<const tracestore::EncodedResourceSpans> read) {
  google::protobuf::Arena arena;
  // Resources are parsed before taking the lock.
  ConsumeInputs(InputsOf(read, arena), arena);
}

void SpanMetricsWriter::ConsumeInputs(std::span<const ResourceInput> inputs,
                                      google::protobuf::Arena& arena) {
  int64_t now_ns = clock_();
  absl::MutexLock lock(&mu_);
  int64_t dropped = 0;
  size_t series = 0;
  if (span_metrics_ != nullptr) {
    dropped += span_metrics_->ConsumeInputs(inputs, now_ns, arena);
    series += span_metrics_->series();
  }
  if (service_graph_ != nullptr) {
    ServiceGraphStats stats = service_graph_->ConsumeInputs(inputs, now_ns, arena);
    dropped += stats.series_dropped;
    graph_dropped_spans_.Inc(static_cast<double>(stats.dropped_spans));
    graph_expired_edges_.Inc(static_cast<double>(stats.expired_edges));
    graph_pending_edges_.Set(static_cast<double>(service_graph_->pending_edges()));
    series += service_graph_->series();
  }
  series_dropped_.Inc(static_cast<double>(dropped));
  series_.Set(static_cast<double>(series));
}

absl::Status SpanMetricsWriter::Flush(int64_t now_ms) {
  absl::MutexLock flush_lock(&flush_mu_);
  int64_t timestamp_ms = std::max(now_ms, last_flush_ms_ + 1);
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest request;
  {
    absl::MutexLock lock(&mu_);
    if (span_metrics_ != nullptr) span_metrics_->AppendTo(timestamp_ms * 1'000'000, request);
    if (service_graph_ != nullptr) {
      ServiceGraphStats stats = service_graph_->Expire(now_ms * 1'000'000);
      series_dropped_.Inc(static_cast<double>(stats.series_dropped));
      series_.Set(static_cast<double>(service_graph_->series() +
                                      (span_metrics_ != nullptr ? span_metrics_->series() : 0)));
      graph_expired_edges_.Inc(static_cast<double>(stats.expired_edges));
      graph_pending_edges_.Set(static_cast<double>(service_graph_->pending_edges()));
      service_graph_->AppendTo(timestamp_ms * 1'000'000, request);
    }
  }
  if (request.resource_metrics().empty()) return absl::OkStatus();
  last_flush_ms_ = timestamp_ms;
  flushes_.Inc();
  absl::Status st = sink_(request);
  if (!st.ok()) flush_failures_.Inc();
  return st;
}

void SpanMetricsWriter::FlushLoop() {
  absl::MutexLock lock(&stop_mu_);
  while (true) {
    if (stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.flush_interval)) return;
    stop_mu_.Unlock();
    absl::Status st = Flush(clock_() / 1'000'000);
    if (!st.ok()) log::Warn("cannot write span metrics", {{"err", st}});
    stop_mu_.Lock();
  }
}

}  // namespace oriel::pipeline::spanmetrics
