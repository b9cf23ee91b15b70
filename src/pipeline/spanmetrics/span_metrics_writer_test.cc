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
      std::vector<trace::ResourceSpans> resource_spans) override {
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

// Records the requests it is handed; fails with `next` when set.
class FakeSink {
 public:
  MetricsSink sink() {
    return [this](Request& request) {
      absl::MutexLock lock(&mu);
      if (!next.ok()) return next;
      requests.push_back(std::move(request));
      return absl::OkStatus();
    };
  }
  size_t count() {
    absl::MutexLock lock(&mu);
    return requests.size();
  }
  absl::Mutex mu;
  absl::Status next = absl::OkStatus();
  std::vector<Request> requests;
};

SpanMetricsWriterOptions NoThread() {
  SpanMetricsWriterOptions o;
  o.flush_interval = absl::ZeroDuration();
  return o;
}

// The calls of the client span of Call() and the request count of its edge.
std::optional<int64_t> Calls(const Request& req) {
  return CounterOf(req, "traces.span.metrics.calls",
                   {{"service.name", "frontend"},
                    {"span.name", "call"},
                    {"span.kind", "SPAN_KIND_CLIENT"},
                    {"status.code", "STATUS_CODE_UNSET"}});
}
std::optional<int64_t> EdgeCount(const Request& req) {
  return CounterOf(req, "traces_service_graph_request_total",
                   {{"client", "frontend"},
                    {"server", "backend"},
                    {"connection_type", ""},
                    {"failed", "false"}});
}

// The time of every data point of `req`.
std::vector<uint64_t> Times(const Request& req) {
  std::vector<uint64_t> out;
  for (const char* name : {"traces.span.metrics.calls", "traces.span.metrics.duration",
                           "traces_service_graph_request_total"}) {
    for (const Point& p : Points(req, name)) {
      out.push_back(p.sum != nullptr ? p.sum->time_unix_nano() : p.histogram->time_unix_nano());
    }
  }
  return out;
}

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
  FakeSink metrics;
  metrics::Registry registry;
  int64_t now = kT0;
  SpanMetricsWriter writer(traces, metrics.sink(), NoThread(), registry, [&] { return now; });

  auto r = writer.Write(Call(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans_written, 2);
  ASSERT_TRUE(writer.Flush(1000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(Calls(metrics.requests[0]), 1);
  EXPECT_EQ(EdgeCount(metrics.requests[0]), 1);
  EXPECT_EQ(Times(metrics.requests[0]), std::vector<uint64_t>(5, 1000 * kMs));

  ASSERT_TRUE(writer.Write(Call(2)).ok());
  ASSERT_TRUE(writer.Write(Call(3)).ok());
  ASSERT_TRUE(writer.Flush(16000).ok());
  ASSERT_EQ(metrics.count(), 2u);
  EXPECT_EQ(Calls(metrics.requests[1]), 3);
  EXPECT_EQ(EdgeCount(metrics.requests[1]), 3);
  EXPECT_EQ(Times(metrics.requests[1]), std::vector<uint64_t>(5, 16000 * kMs));

  // Nothing new: the same values again, at a later time (a clock stepping back is bumped).
  ASSERT_TRUE(writer.Flush(15000).ok());
  ASSERT_EQ(metrics.count(), 3u);
  EXPECT_EQ(Calls(metrics.requests[2]), 3);
  EXPECT_EQ(Times(metrics.requests[2]), std::vector<uint64_t>(5, 16001 * kMs));
}

TEST(SpanMetricsWriterTest, DownstreamErrorPassesThroughAndCountsNothing) {
  FakeTraceWriter traces;
  traces.next = absl::ResourceExhaustedError("cannot write spans: WAL queue full");
  FakeSink metrics;
  metrics::Registry registry;
  SpanMetricsWriter writer(traces, metrics.sink(), NoThread(), registry);
  auto r = writer.Write(Call(1));
  EXPECT_EQ(r.status(), traces.next);
  EXPECT_EQ(traces.calls, 1);
  ASSERT_TRUE(writer.Flush(1000).ok());
  EXPECT_EQ(metrics.count(), 0u);  // nothing to write
}

TEST(SpanMetricsWriterTest, SinkErrorIsReturnedAndValuesKept) {
  FakeTraceWriter traces;
  FakeSink metrics;
  metrics.next = absl::UnavailableError("cannot append to WAL: disk full");
  metrics::Registry registry;
  SpanMetricsWriter writer(traces, metrics.sink(), NoThread(), registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());
  EXPECT_EQ(writer.Flush(1000), metrics.next);
  EXPECT_NE(registry.Expose().find("oriel_spanmetrics_flush_failures_total 1"), std::string::npos)
      << registry.Expose();
  metrics.next = absl::OkStatus();
  ASSERT_TRUE(writer.Flush(2000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(Calls(metrics.requests[0]), 1);
}

TEST(SpanMetricsWriterTest, DisabledAggregatorsWriteNothing) {
  FakeTraceWriter traces;
  FakeSink metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options = NoThread();
  options.service_graph_enabled = false;
  SpanMetricsWriter writer(traces, metrics.sink(), options, registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());
  ASSERT_TRUE(writer.Flush(1000).ok());
  ASSERT_EQ(metrics.count(), 1u);
  EXPECT_EQ(Calls(metrics.requests[0]), 1);
  EXPECT_EQ(EdgeCount(metrics.requests[0]), std::nullopt);
}

TEST(SpanMetricsWriterTest, SeriesBoundIsCountedInSelfMetrics) {
  FakeTraceWriter traces;
  FakeSink metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options = NoThread();
  options.service_graph_enabled = false;
  options.span_metrics.max_series = 20;  // one operation
  SpanMetricsWriter writer(traces, metrics.sink(), options, registry);
  ASSERT_TRUE(writer.Write(Call(1)).ok());  // two operations: one fits
  ASSERT_TRUE(writer.Write(Call(2)).ok());
  std::string exposed = registry.Expose();
  EXPECT_NE(exposed.find("oriel_spanmetrics_series_dropped_total 2"), std::string::npos) << exposed;
  EXPECT_NE(exposed.find("oriel_spanmetrics_series 20"), std::string::npos) << exposed;
}

TEST(SpanMetricsWriterTest, ServiceGraphWaitExpiresOnFlush) {
  FakeTraceWriter traces;
  FakeSink metrics;
  metrics::Registry registry;
  int64_t now = kT0;
  SpanMetricsWriter writer(traces, metrics.sink(), NoThread(), registry, [&] { return now; });
  std::vector<trace::ResourceSpans> client_only = {Call(1)[0]};
  ASSERT_TRUE(writer.Write(client_only).ok());
  ASSERT_TRUE(writer.Flush(kT0 / kMs + 1000).ok());
  EXPECT_EQ(CounterOf(metrics.requests.back(), "traces_service_graph_request_total",
                      {{"client", "frontend"},
                       {"server", "unknown"},
                       {"connection_type", "virtual_node"},
                       {"failed", "false"}}),
            std::nullopt);
  ASSERT_TRUE(writer.Flush(kT0 / kMs + 2000).ok());
  EXPECT_EQ(CounterOf(metrics.requests.back(), "traces_service_graph_request_total",
                      {{"client", "frontend"},
                       {"server", "unknown"},
                       {"connection_type", "virtual_node"},
                       {"failed", "false"}}),
            1);
  EXPECT_NE(registry.Expose().find("oriel_servicegraph_expired_edges_total 1"), std::string::npos);
}

TEST(SpanMetricsWriterTest, BackgroundThreadFlushesAndStops) {
  FakeTraceWriter traces;
  FakeSink metrics;
  metrics::Registry registry;
  SpanMetricsWriterOptions options;
  options.flush_interval = absl::Milliseconds(10);
  {
    SpanMetricsWriter writer(traces, metrics.sink(), options, registry);
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
  EXPECT_EQ(Calls(metrics.requests.back()), 1);
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
