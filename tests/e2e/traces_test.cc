// Traces through the real binary: the OpenTelemetry JS SDK sends a trace across two services,
// then the Jaeger APIs (v1 and v3) answer for it, before and after a restart and a kill -9.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>

#include "http_client.h"
#include "oriel_process.h"

namespace oriel::testing {
namespace {

using namespace std::chrono_literals;

std::string JsDir() { return std::string(ORIEL_SOURCE_DIR) + "/tests/e2e/js"; }

// Runs the two-service JS app against `oriel`; returns the trace id it printed.
std::string SendTrace(const OrielProcess& oriel) {
  auto app = RunCommand({"/usr/bin/env", "OTEL_EXPORTER_OTLP_ENDPOINT=" + oriel.http_url(), "node",
                         JsDir() + "/traces_app.mjs"});
  EXPECT_EQ(app.exit_code, 0) << app.output;
  std::smatch m;
  static const std::regex kId("\"traceId\":\"([0-9a-f]{32})\"");
  return std::regex_search(app.output, m, kId) ? m[1].str() : "";
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

class TracesE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(JsDir() + "/node_modules/@opentelemetry/sdk-trace-base")) {
      GTEST_SKIP() << "JS clients not installed: run `make deps` (npm ci in tests/e2e/js)";
    }
  }
};

TEST_F(TracesE2E, JsSdkTraceAcrossTwoServicesThroughJaegerApis) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  std::string id = SendTrace(oriel);
  ASSERT_FALSE(id.empty());
  std::string base = oriel.http_url();
  // Found by id as soon as the export was acknowledged.
  auto trace = Get(base + "/api/traces/" + id);
  ASSERT_EQ(trace.status, 200) << trace.body;
  EXPECT_EQ(Count(trace.body, "\"operationName\""), 3u) << trace.body;
  EXPECT_NE(trace.body.find("\"serviceName\":\"frontend\""), std::string::npos);
  EXPECT_NE(trace.body.find("\"serviceName\":\"backend\""), std::string::npos);
  // Attributes of every type, the event, the exception and the error status.
  for (const char* want :
       {R"("key":"order.items","type":"int64","value":3)",
        R"("key":"order.total","type":"float64","value":99.5)",
        R"("key":"order.gift","type":"bool","value":true)",
        R"("key":"error","type":"bool","value":true)", R"("value":"inventory checked")",
        R"("value":"payment declined")", R"("refType":"CHILD_OF")"}) {
    EXPECT_NE(trace.body.find(want), std::string::npos) << want;
  }
  EXPECT_EQ(Get(base + "/api/services").body.find("\"backend\"") == std::string::npos, false);
  EXPECT_NE(Get(base + "/api/services/backend/operations").body.find("process order"),
            std::string::npos);
  EXPECT_NE(
      Get(base + "/api/operations?service=frontend&spanKind=client").body.find("call backend"),
      std::string::npos);
  // Search by tag: a trace matches when one span matches every condition.
  auto found =
      Get(base + "/api/traces?service=backend&tags=%7B%22order.gift%22%3A%22true%22%7D&limit=5");
  EXPECT_NE(found.body.find(id), std::string::npos) << found.body;
  auto none = Get(base + "/api/traces?service=backend&tags=%7B%22order.gift%22%3A%22false%22%7D");
  EXPECT_EQ(none.body.find(id), std::string::npos);
  auto slow = Get(base + "/api/traces?service=frontend&minDuration=1h");
  EXPECT_EQ(slow.body.find(id), std::string::npos);
  auto deps = Get(base + "/api/dependencies?endTs=" +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count() +
                                 60000) +
                  "&lookback=3600000");
  EXPECT_NE(deps.body.find(R"({"parent":"frontend","child":"backend","callCount":1})"),
            std::string::npos)
      << deps.body;
  auto v3 = Get(base + "/api/v3/traces/" + id);
  EXPECT_EQ(v3.status, 200);
  EXPECT_NE(v3.body.find("\"resourceSpans\""), std::string::npos) << v3.body.substr(0, 300);
  EXPECT_NE(v3.body.find("\"traceId\":\"" + id + "\""), std::string::npos);
  EXPECT_EQ(Get(base + "/api/traces/00000000000000000000000000000042").status, 404);
}

TEST_F(TracesE2E, AcknowledgedTracesSurviveRestartAndKillNine) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  std::string first, second;
  {
    OrielProcess oriel({.data_dir = data});
    ASSERT_TRUE(oriel.listening()) << oriel.Output();
    first = SendTrace(oriel);
    oriel.Signal(SIGTERM);
    ASSERT_EQ(oriel.Wait(6s), 0);
  }
  {
    OrielProcess oriel({.data_dir = data});
    ASSERT_TRUE(oriel.listening()) << oriel.Output();
    second = SendTrace(oriel);
    oriel.Signal(SIGKILL);
    oriel.Wait(5s);
  }
  OrielProcess again({.data_dir = data});
  ASSERT_TRUE(again.listening()) << again.Output();
  for (const std::string& id : {first, second}) {
    auto trace = Get(again.http_url() + "/api/traces/" + id);
    EXPECT_EQ(trace.status, 200) << id;
    EXPECT_EQ(Count(trace.body, "\"operationName\""), 3u) << trace.body;
  }
}

TEST(TracesInputE2E, BadSpansAreCountedAndMalformedBodiesNamed) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  std::string span_ok =
      R"({"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"ok",)"
      R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"})";
  std::string span_bad =
      R"({"traceId":"00000000000000000000000000000000","spanId":"EEE19B7EC3C1B175","name":"zero",)"
      R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"})";
  std::string body =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},"scopeSpans":[{"spans":[)" +
      span_ok + "," + span_bad + "]}]}]}";
  auto res = Post(oriel.http_url() + "/v1/traces", body, {"Content-Type: application/json"});
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("\"rejectedSpans\":\"1\""), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("trace_id"), std::string::npos) << res.body;
  auto bad_hex = Post(oriel.http_url() + "/v1/traces",
                      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"XYZ"}]}]}]})",
                      {"Content-Type: application/json"});
  EXPECT_EQ(bad_hex.status, 400);
  EXPECT_NE(bad_hex.body.find("traceId"), std::string::npos) << bad_hex.body;
  auto broken = Post(oriel.http_url() + "/v1/traces",
                     "{\"resourceSpans\":", {"Content-Type: application/json"});
  EXPECT_EQ(broken.status, 400);
  // The good span is there.
  EXPECT_EQ(Get(oriel.http_url() + "/api/traces/5b8efff798038103d269b633813fc60c").status, 200);
}

}  // namespace
}  // namespace oriel::testing
