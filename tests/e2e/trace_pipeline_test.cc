// What happens to spans between OTLP ingest and the trace store, through the real binary:
// RED metrics and the service graph derived from them (queried with PromQL, and Jaeger's
// /api/dependencies), head and tail sampling as configured, counted in /metrics.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "http_client.h"
#include "oriel_process.h"

namespace oriel::testing {
namespace {

using namespace std::chrono_literals;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A random-looking 32-hex-digit trace id, fixed per `n`, as W3C trace ids are random (the
// samplers read their randomness from it).
std::string TraceId(int n) {
  std::mt19937_64 rng(static_cast<uint64_t>(n) + 1);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

// An OTLP/JSON request with one span of service `service` in trace TraceId(n); `error` sets
// status ERROR, `millis` is its duration.
std::string OneSpan(int n, const std::string& service, bool error, int millis) {
  const int64_t end = NowNanos();
  const int64_t start = end - int64_t{millis} * 1'000'000;
  char span_id[17];
  std::snprintf(span_id, sizeof span_id, "%016x", n + 1);
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" +
         service + R"("}}]},"scopeSpans":[{"spans":[{"traceId":")" + TraceId(n) +
         R"(","spanId":")" + span_id + R"(","name":"op","kind":2,"startTimeUnixNano":")" +
         std::to_string(start) + R"(","endTimeUnixNano":")" + std::to_string(end) + R"(")" +
         (error ? R"(,"status":{"code":2}})" : "}") + "]}]}]}";
}

bool Stored(const OrielProcess& oriel, int n) {
  return Get(oriel.http_url() + "/api/traces/" + TraceId(n)).status == 200;
}

void Send(const OrielProcess& oriel, const std::string& body) {
  auto res = Post(oriel.http_url() + "/v1/traces", body, {"Content-Type: application/json"});
  ASSERT_EQ(res.status, 200) << res.body;
}

std::string JsDir() { return std::string(ORIEL_SOURCE_DIR) + "/tests/e2e/js"; }

// The result of an instant PromQL query (the raw JSON answer).
std::string Query(const OrielProcess& oriel, const std::string& promql) {
  auto res = Get(oriel.http_url() + "/api/v1/query?query=" + UrlEncode(promql));
  EXPECT_EQ(res.status, 200) << res.body;
  return res.body;
}

TEST(TracePipelineE2E, JsSdkSpansBecomeRedMetricsAndServiceGraphEdges) {
  if (!std::filesystem::exists(JsDir() + "/node_modules/@opentelemetry/sdk-trace-base")) {
    GTEST_SKIP() << "JS clients not installed: run `make deps` (npm ci in tests/e2e/js)";
  }
  OrielProcess oriel({.config_yaml = "traces:\n  span_metrics:\n    flush_interval: 1s\n"});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  auto app = RunCommand({"/usr/bin/env", "OTEL_EXPORTER_OTLP_ENDPOINT=" + oriel.http_url(), "node",
                         JsDir() + "/traces_app.mjs"});
  ASSERT_EQ(app.exit_code, 0) << app.output;
  // The backend's server span failed; the frontend's client span did not.
  const std::string calls =
      R"(traces_span_metrics_calls_total{service_name="backend",span_name="process order",)"
      R"(span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"})";
  std::string answer;
  for (int i = 0; i < 50; ++i) {
    answer = Query(oriel, calls);
    if (answer.find(R"("value":[)") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(answer.find(R"("job":"backend")"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"(,"1"]})"), std::string::npos) << answer;
  std::string client = Query(
      oriel,
      R"(traces_span_metrics_calls_total{service_name="frontend",span_kind="SPAN_KIND_CLIENT"})");
  EXPECT_NE(client.find(R"("status_code":"STATUS_CODE_UNSET")"), std::string::npos) << client;
  // One observation in the duration histogram, in the +Inf bucket as in every other.
  std::string count = Query(
      oriel,
      R"(traces_span_metrics_duration_milliseconds_bucket{service_name="backend",le="+Inf"})");
  EXPECT_NE(count.find(R"(,"1"]})"), std::string::npos) << count;
  // The frontend -> backend edge, failed on the server side.
  std::string edge =
      Query(oriel, R"(sum by (client, server) (traces_service_graph_request_total))");
  EXPECT_NE(edge.find(R"("client":"frontend","server":"backend")"), std::string::npos) << edge;
  std::string failed = Query(oriel, "traces_service_graph_request_failed_total");
  EXPECT_NE(failed.find(R"("server":"backend")"), std::string::npos) << failed;
  // Jaeger's dependencies come from that edge.
  auto deps = Get(oriel.http_url() + "/api/dependencies?lookback=3600000");
  EXPECT_NE(deps.body.find(R"({"parent":"frontend","child":"backend","callCount":1})"),
            std::string::npos)
      << deps.body;
}

TEST(TracePipelineE2E, HeadSamplingKeepsTheConfiguredShareOfTraces) {
  OrielProcess oriel({.config_yaml = "traces:\n  sampling:\n    percentage: 25\n"});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  constexpr int kTraces = 400;
  for (int i = 0; i < kTraces; ++i) Send(oriel, OneSpan(i, "shop", false, 5));
  int stored = 0;
  for (int i = 0; i < kTraces; ++i) stored += Stored(oriel, i) ? 1 : 0;
  // 25% of 400 is 100; a binomial standard deviation is about 8.7.
  EXPECT_GT(stored, 60);
  EXPECT_LT(stored, 140);
  std::string metrics = Get(oriel.http_url() + "/metrics").body;
  EXPECT_NE(metrics.find("oriel_sampling_head_spans_total{decision=\"sampled\"} " +
                         std::to_string(stored)),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("oriel_sampling_head_spans_total{decision=\"dropped\"} " +
                         std::to_string(kTraces - stored)),
            std::string::npos);
}

TEST(TracePipelineE2E, TailSamplingKeepsErrorsAndSlowTracesAfterTheDecisionWait) {
  OrielProcess oriel({.config_yaml = R"(
traces:
  sampling:
    tail:
      enabled: true
      decision_wait: 1s
      latency_threshold: 500ms
      percentage: 0
)"});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  Send(oriel, OneSpan(1, "shop", /*error=*/true, 5));
  Send(oriel, OneSpan(2, "shop", false, /*millis=*/800));
  Send(oriel, OneSpan(3, "shop", false, 5));
  // Nothing is stored before the decision.
  EXPECT_FALSE(Stored(oriel, 1));
  bool decided = false;
  for (int i = 0; i < 50 && !decided; ++i) {
    std::this_thread::sleep_for(100ms);
    decided = Stored(oriel, 1) && Stored(oriel, 2);
  }
  EXPECT_TRUE(decided);
  EXPECT_FALSE(Stored(oriel, 3));
  std::string metrics = Get(oriel.http_url() + "/metrics").body;
  for (const char* want :
       {R"(oriel_sampling_tail_traces_total{decision="sampled",policy="error"} 1)",
        R"(oriel_sampling_tail_traces_total{decision="sampled",policy="latency"} 1)",
        R"(oriel_sampling_tail_traces_total{decision="dropped",policy="none"} 1)"}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics;
  }
}

TEST(TracePipelineE2E, TracesWaitingForATailDecisionAreWrittenOnShutdown) {
  TempDir dir;
  const std::string config = "traces:\n  sampling:\n    tail:\n      enabled: true\n";
  {
    OrielProcess oriel({.config_yaml = config, .data_dir = dir.path() + "/data"});
    ASSERT_TRUE(oriel.listening()) << oriel.Output();
    Send(oriel, OneSpan(7, "shop", /*error=*/true, 5));
    EXPECT_FALSE(Stored(oriel, 7));  // the decision wait is 30 s
    oriel.Signal(SIGTERM);
    ASSERT_EQ(oriel.Wait(6s), 0);
  }
  OrielProcess again({.config_yaml = config, .data_dir = dir.path() + "/data"});
  ASSERT_TRUE(again.listening()) << again.Output();
  EXPECT_TRUE(Stored(again, 7));
}

}  // namespace
}  // namespace oriel::testing
