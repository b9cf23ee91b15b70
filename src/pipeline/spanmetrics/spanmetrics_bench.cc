// Cost per span of deriving span metrics and service-graph edges (BM_<Unit>_<Case>): realistic
// spans (resource with a few attributes, 20 span attributes), 20 spans per trace across two
// services, 50 operations.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "pipeline/spanmetrics/service_graph_aggregator.h"
#include "pipeline/spanmetrics/span_metrics_aggregator.h"
#include "pipeline/spanmetrics/span_metrics_writer.h"
#include "pipeline/spanmetrics/test_spans.h"
#include "tracestore/encoded_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace trace = opentelemetry::proto::trace::v1;

// Consumes each batch once before the timed loop, so that the loop measures the steady state of a
// running server (series and cached keys exist). Not inlined: profiles tell its calls apart.
template <typename Aggregator, typename Batches, typename Consume>
[[gnu::noinline]] void Prime(Aggregator& agg, const Batches& batches, Consume consume) {
  for (const auto& batch : batches) consume(agg, batch);
}

std::vector<trace::ResourceSpans> Batch(uint64_t first_trace, int traces) {
  Attrs resource = {{"service.instance.id", "pod-1"},
                    {"telemetry.sdk.language", "nodejs"},
                    {"host.name", "node-7"}};
  Attrs span_attrs;
  for (int i = 0; i < 20; ++i) span_attrs.push_back({fmt::format("attr.{}", i), "value"});
  std::vector<SpanSpec> clients, servers;
  for (int t = 0; t < traces; ++t) {
    uint64_t trace_id = first_trace + t;
    for (uint64_t s = 1; s <= 10; ++s) {
      clients.push_back({.trace = trace_id,
                         .span = s,
                         .parent = 100,
                         .name = fmt::format("GET /api/{}", (trace_id + s) % 50),
                         .kind = trace::Span::SPAN_KIND_CLIENT,
                         .duration_ns = static_cast<int64_t>(s) * kMs,
                         .attrs = span_attrs});
      servers.push_back({.trace = trace_id,
                         .span = 1000 + s,
                         .parent = s,
                         .name = fmt::format("handle {}", (trace_id + s) % 50),
                         .kind = trace::Span::SPAN_KIND_SERVER,
                         .duration_ns = static_cast<int64_t>(s) * kMs / 2,
                         .attrs = span_attrs});
    }
  }
  return {Resource("frontend", resource, clients), Resource("backend", resource, servers)};
}

void BM_SpanMetrics_Consume(benchmark::State& state) {
  SpanMetricsAggregator agg({});
  auto batch = Batch(1, 50);  // 1000 spans
  Prime(agg, std::span(&batch, 1), [](auto& a, const auto& b) { a.Consume(b, kT0); });
  for (auto _ : state) benchmark::DoNotOptimize(agg.Consume(batch, kT0));
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_SpanMetrics_Consume);

void BM_ServiceGraph_Consume(benchmark::State& state) {
  ServiceGraphAggregator agg({});
  std::vector<std::vector<trace::ResourceSpans>> batches;
  for (int i = 0; i < 64; ++i) batches.push_back(Batch(1 + i * 50, 50));
  Prime(agg, batches, [](auto& a, const auto& b) { a.Consume(b, kT0); });
  size_t i = 0;
  int64_t now = kT0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(agg.Consume(batches[i++ % batches.size()], now));
    now += kMs;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_ServiceGraph_Consume);

// Spans read in place, as OTLP ingest hands them over (the attributes are not parsed).
struct EncodedBatch {
  std::vector<std::string> bytes;  // what `read` views
  std::vector<tracestore::EncodedResourceSpans> read;
};

EncodedBatch Encode(const std::vector<trace::ResourceSpans>& batch) {
  EncodedBatch out;
  for (const auto& rs : batch) out.bytes.push_back(rs.SerializeAsString());
  for (const std::string& b : out.bytes) {
    if (!tracestore::ReadEncodedResourceSpans(b, &out.read.emplace_back()).ok()) std::abort();
  }
  return out;
}

void BM_SpanMetrics_ConsumeEncoded(benchmark::State& state) {
  SpanMetricsAggregator agg({});
  EncodedBatch batch = Encode(Batch(1, 50));  // 1000 spans
  Prime(agg, std::span(&batch, 1), [](auto& a, const auto& b) { a.ConsumeEncoded(b.read, kT0); });
  for (auto _ : state) benchmark::DoNotOptimize(agg.ConsumeEncoded(batch.read, kT0));
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_SpanMetrics_ConsumeEncoded);

void BM_ServiceGraph_ConsumeEncoded(benchmark::State& state) {
  ServiceGraphAggregator agg({});
  std::vector<EncodedBatch> batches;
  for (int i = 0; i < 64; ++i) batches.push_back(Encode(Batch(1 + i * 50, 50)));
  Prime(agg, batches, [](auto& a, const auto& b) { a.ConsumeEncoded(b.read, kT0); });
  size_t i = 0;
  int64_t now = kT0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(agg.ConsumeEncoded(batches[i++ % batches.size()].read, now));
    now += kMs;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_ServiceGraph_ConsumeEncoded);

// The writer's own work around the aggregators (copying what they read before the spans move
// on), with both aggregators on, in front of a store that takes everything.
class DiscardingWriter final : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<trace::ResourceSpans> resource_spans) override {
    tracestore::TraceWriteResult result;
    for (const auto& rs : resource_spans) {
      for (const auto& ss : rs.scope_spans()) result.spans_written += ss.spans_size();
    }
    // Freed by the benchmark outside the timed region: a store keeps the spans.
    kept.push_back(std::move(resource_spans));
    return result;
  }
  std::vector<std::vector<trace::ResourceSpans>> kept;
};

void BM_SpanMetricsWriter_Write(benchmark::State& state) {
  DiscardingWriter store;
  metrics::Registry registry;
  SpanMetricsWriter writer(
      store, [](auto&) { return absl::OkStatus(); },
      {.span_metrics_enabled = true,
       .service_graph_enabled = true,
       .flush_interval = absl::ZeroDuration()},
      registry, [] { return kT0; });
  std::vector<std::vector<trace::ResourceSpans>> batches;
  for (int i = 0; i < 16; ++i) batches.push_back(Batch(1 + i * 50, 50));
  size_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    store.kept.clear();
    std::vector<trace::ResourceSpans> batch = batches[i++ % batches.size()];
    state.ResumeTiming();
    benchmark::DoNotOptimize(writer.Write(std::move(batch)));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_SpanMetricsWriter_Write);

}  // namespace
}  // namespace oriel::pipeline::spanmetrics

BENCHMARK_MAIN();
