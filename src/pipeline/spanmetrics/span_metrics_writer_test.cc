#include "pipeline/spanmetrics/span_metrics_writer.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace trace = opentelemetry::proto::trace::v1;

class FakeTraceWriter : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      const std::vector<trace::ResourceSpans>& resource_spans) override {
    ++calls;
    if (!next.ok()) return next;
    tracestore::TraceWriteResult r;
    for (const auto& rs : resource_spans) {
      for (const auto& ss : rs.scope_spans()) r.spans_written += ss.spans_size();
    }
    return r;
  }
  absl::Status next = absl::OkStatus();
  int calls = 0;
};

class FakeMetricsWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    absl::MutexLock lock(&mu);
    if (!next.ok()) return next;
    batches.push_back(std::move(batch));
    return tsdb::WriteResult{};
  }
  size_t count() {
    absl::MutexLock lock(&mu);
    return batches.size();
  }
  absl::Mutex mu;
  absl::Status next = absl::OkStatus();
  std::vector<model::MetricBatch> batches;
};

SpanMetricsWriterOptions NoThread() {
  SpanMetricsWriterOptions o;
  o.flush_interval = absl::ZeroDuration();
  return o;
}

const model::Labels kCalls = L({{"__name__", "traces_span_metrics_calls_total"},
                                {"job", "frontend"},
                                {"service_name", "frontend"},
                                {"span_name", "call"},
                                {"span_kind", "SPAN_KIND_CLIENT"},
                                {"status_code", "STATUS_CODE_UNSET"}});
const model::Labels kEdge = L({{"__name__", "traces_service_graph_request_total"},
                               {"client", "frontend"},
                               {"server", "backend"},
                               {"failed", "false"}});

std::vector<trace::ResourceSpans> Call(uint64_t trace) {
  return {Resource(
              "frontend", {},
              {{.trace = trace, .span = 2, .name = "call", .kind = trace::Span::SPAN_KIND_CLIENT}}),
          Resource("backend", {},
                   {{.trace = trace,
                     .span = 3,
                     .parent = 2,
                     .name = "handle",
                     .kind = trace::Span::SPAN_KIND_SERVER}})};
}

TEST(SpanMetricsWriterTest, FlushWritesCumulativeValues) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  int64_t now = kT0;
  SpanMetricsWriter writer(traces, metrics, NoThread(), registry, [&] { return now; });

  auto r = writer.Write(Call(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans_written, 2);
  ASSERT_TRUE(writer.Flush(1000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(ValueOf(metrics.batches[0], kCalls), 1);
  EXPECT_EQ(ValueOf(metrics.batches[0], kEdge), 1);
  for (const auto& s : metrics.batches[0].series) EXPECT_EQ(s.samples[0].timestamp_ms, 1000);
  EXPECT_FALSE(metrics.batches[0].metadata.empty());

  ASSERT_TRUE(writer.Write(Call(2)).ok());
  ASSERT_TRUE(writer.Write(Call(3)).ok());
  ASSERT_TRUE(writer.Flush(16000).ok());
  ASSERT_EQ(metrics.count(), 2u);
  EXPECT_EQ(ValueOf(metrics.batches[1], kCalls), 3);
  EXPECT_EQ(ValueOf(metrics.batches[1], kEdge), 3);
  EXPECT_EQ(metrics.batches[1].series[0].samples[0].timestamp_ms, 16000);

  // Nothing new: the same values again, at a later time (a clock stepping back is bumped).
  ASSERT_TRUE(writer.Flush(15000).ok());
  ASSERT_EQ(metrics.count(), 3u);
  EXPECT_EQ(ValueOf(metrics.batches[2], kCalls), 3);
  EXPECT_EQ(metrics.batches[2].series[0].samples[0].timestamp_ms, 16001);
}

TEST(SpanMetricsWriterTest, DownstreamErrorPassesThroughAndCountsNothing) {
  FakeTraceWriter traces;
  traces.next = absl::ResourceExhaustedError("cannot write spans: WAL queue full");
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  SpanMetricsWriter writer(traces, metrics, NoThread(), registry);
  auto r = writer.Write(Call(1));
  EXPECT_EQ(r.status(), traces.next);
  EXPECT_EQ(traces.calls, 1);
  ASSERT_TRUE(writer.Flush(1000).ok());
  EXPECT_EQ(metrics.count(), 0u);  // nothing to write
}

TEST(SpanMetricsWriterTest, MetricsEngineErrorIsReturnedAndValuesKept) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics.next = absl::UnavailableError("cannot append to WAL: disk full");
  metrics::Registry registry;
  SpanMetricsWriter writer(traces, metrics, NoThread(), registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());
  EXPECT_EQ(writer.Flush(1000), metrics.next);
  EXPECT_NE(registry.Expose().find("oriel_spanmetrics_flush_failures_total 1"), std::string::npos)
      << registry.Expose();
  metrics.next = absl::OkStatus();
  ASSERT_TRUE(writer.Flush(2000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(ValueOf(metrics.batches[0], kCalls), 1);
}

TEST(SpanMetricsWriterTest, DisabledAggregatorsWriteNothing) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options = NoThread();
  options.service_graph_enabled = false;
  SpanMetricsWriter writer(traces, metrics, options, registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());
  ASSERT_TRUE(writer.Flush(1000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(ValueOf(metrics.batches[0], kCalls), 1);
  EXPECT_EQ(ValueOf(metrics.batches[0], kEdge), std::nullopt);
}

TEST(SpanMetricsWriterTest, SeriesBoundIsCountedInSelfMetrics) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options = NoThread();
  options.service_graph_enabled = false;
  options.span_metrics.max_series = 20;  // one operation
  SpanMetricsWriter writer(traces, metrics, options, registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());  // two operations: one fits
  ASSERT_TRUE(writer.Write(Call(2)).ok());
  std::string exposed = registry.Expose();
  EXPECT_NE(exposed.find("oriel_spanmetrics_series_dropped_total 2"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find("oriel_spanmetrics_series 20"), std::string::npos) << exposed;
}

TEST(SpanMetricsWriterTest, ServiceGraphWaitExpiresOnFlush) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  int64_t now = kT0;
  SpanMetricsWriter writer(traces, metrics, NoThread(), registry, [&] { return now; });
  std::vector<trace::ResourceSpans> client_only = {Call(1)[0]};
  ASSERT_TRUE(writer.Write(client_only).ok());
  ASSERT_TRUE(writer.Flush(kT0 / kMs + 1000).ok());
  EXPECT_EQ(ValueOf(metrics.batches.back(), L({{"__name__", "traces_service_graph_request_total"},
                                               {"client", "frontend"},
                                               {"server", "unknown"},
                                               {"connection_type", "virtual_node"},
                                               {"failed", "false"}})),
            std::nullopt);
  ASSERT_TRUE(writer.Flush(kT0 / kMs + 2000).ok());
  EXPECT_EQ(ValueOf(metrics.batches.back(), L({{"__name__", "traces_service_graph_request_total"},
                                               {"client", "frontend"},
                                               {"server", "unknown"},
                                               {"connection_type", "virtual_node"},
                                               {"failed", "false"}})),
            1);
  EXPECT_NE(registry.Expose().find("oriel_servicegraph_expired_edges_total 1"), std::string::npos);
}

TEST(SpanMetricsWriterTest, BackgroundThreadFlushesAndStops) {
  FakeTraceWriter traces;
  FakeMetricsWriter metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options;
  options.flush_interval = absl::Milliseconds(10);
  {
    SpanMetricsWriter writer(traces, metrics, options, registry);
    ASSERT_TRUE(writer.Write(Call(1)).ok());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (metrics.count() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GT(metrics.count(), 0u);
  }
  // The destructor joined the thread after a last flush; nothing writes afterwards.
  size_t after = metrics.count();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(metrics.count(), after);
  absl::MutexLock lock(&metrics.mu);
  EXPECT_EQ(ValueOf(metrics.batches.back(), kCalls), 1);
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
