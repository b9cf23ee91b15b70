// Metrics ingest through the real binary with real clients: Prometheus 2.42 as a remote_write
// sender, the OpenTelemetry JS SDK, Pushgateway-style pushes, and kill -9 durability.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "http_client.h"
#include "net/compression.h"
#include "oriel_process.h"
#include "prometheus/remote.pb.h"

namespace oriel::testing {
namespace {

using namespace std::chrono_literals;

// Polls `fn` until it returns true or `timeout` passes.
template <typename Fn>
bool Eventually(Fn fn, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return fn();
}

std::string Encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Series(const OrielProcess& oriel, const std::string& selector) {
  return Get(oriel.http_url() + "/api/v1/series?match[]=" + Encode(selector)).body;
}

size_t CountOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

TEST(MetricsIngestE2E, RealPrometheusRemoteWrites) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) {
    GTEST_SKIP() << "peer not installed: /usr/bin/prometheus (Debian package prometheus)";
  }
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  TempDir dir;
  int port = FreeTcpPort();
  std::string config =
      dir.WriteFile("prometheus.yml",
                    "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:" +
                        std::to_string(port) +
                        "']\n"
                        "remote_write:\n  - url: " +
                        oriel.http_url() +
                        "/api/v1/write\n"
                        "    queue_config:\n      batch_send_deadline: 1s\n"
                        "    metadata_config:\n      send_interval: 1s\n");
  std::vector<std::string> argv = {"/usr/bin/prometheus", "--config.file=" + config,
                                   "--storage.tsdb.path=" + dir.path() + "/data",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port)};
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  bool arrived = Eventually(
      [&] {
        std::string s = Series(oriel, "up{job=\"prometheus\"}");
        return s.find("\"instance\":\"127.0.0.1:" + std::to_string(port) + "\"") !=
               std::string::npos;
      },
      30s);
  // Prometheus' own metrics arrive with their metadata.
  bool families = Eventually(
      [&] {
        return Get(oriel.http_url() + "/api/v1/metadata?metric=prometheus_build_info")
                   .body.find("\"type\":\"gauge\"") != std::string::npos;
      },
      15s);
  std::string names = Get(oriel.http_url() + "/api/v1/label/__name__/values").body;
  std::string metrics = Get(oriel.http_url() + "/metrics").body;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(arrived) << Series(oriel, "up");
  EXPECT_TRUE(families) << Get(oriel.http_url() + "/api/v1/metadata").body.substr(0, 500);
  EXPECT_NE(names.find("prometheus_tsdb_head_series"), std::string::npos);
  EXPECT_NE(metrics.find("oriel_remote_write_requests_total{version=\"1.0\",code=\"204\"}"),
            std::string::npos);
}

TEST(MetricsIngestE2E, OpenTelemetryJsSdkMetrics) {
  std::string js = std::string(ORIEL_SOURCE_DIR) + "/tests/e2e/js";
  if (!std::filesystem::exists(js + "/node_modules/@opentelemetry/sdk-node")) {
    GTEST_SKIP() << "JS clients not installed: run `make deps` (npm ci in tests/e2e/js)";
  }
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  auto app = RunCommand({"/usr/bin/env", "OTEL_EXPORTER_OTLP_ENDPOINT=" + oriel.http_url(),
                         "OTEL_SERVICE_NAME=checkout",
                         "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test", "node",
                         js + "/metrics_app.mjs"});
  ASSERT_EQ(app.exit_code, 0) << app.output;
  std::string series = Series(oriel, "{job=\"checkout\"}");
  // Names follow Prometheus' OTLP translation: unit and _total suffixes, dots to underscores.
  for (const char* name :
       {"\"http_server_requests_total\"", "\"http_server_duration_milliseconds_bucket\"",
        "\"http_server_duration_milliseconds_sum\"", "\"http_server_duration_milliseconds_count\"",
        "\"http_server_active_requests\"", "\"room_temperature_celsius\""}) {
    EXPECT_NE(series.find(name), std::string::npos) << name << " in " << series;
  }
  EXPECT_NE(series.find("\"le\":\"+Inf\""), std::string::npos);
  EXPECT_NE(series.find("\"code\":\"500\""), std::string::npos);
  // The other resource attributes go to target_info.
  std::string info = Series(oriel, "target_info{job=\"checkout\"}");
  EXPECT_NE(info.find("\"deployment_environment\":\"test\""), std::string::npos) << info;
  std::string meta =
      Get(oriel.http_url() + "/api/v1/metadata?metric=http_server_requests_total").body;
  EXPECT_NE(meta.find("\"type\":\"counter\",\"help\":\"Requests served.\""), std::string::npos)
      << meta;
}

TEST(MetricsIngestE2E, OtlpJsonOverHttpAnswersInJson) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  long long now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string body =
      "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"stringValue\":\"json-app\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"queue.depth\","
      "\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" +
      std::to_string(now_ns) + "\",\"asInt\":\"7\"}]}}]}]}]}";
  auto res = Post(oriel.http_url() + "/v1/metrics", body, {"Content-Type: application/json"});
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.Header("content-type"), "application/json");
  EXPECT_NE(Series(oriel, "queue_depth").find("\"job\":\"json-app\""), std::string::npos);
  auto bad = Post(oriel.http_url() + "/v1/metrics", "{\"resourceMetrics\":[",
                  {"Content-Type: application/json"});
  EXPECT_EQ(bad.status, 400);
  auto unsupported = Post(oriel.http_url() + "/v1/metrics", "x", {"Content-Type: text/plain"});
  EXPECT_EQ(unsupported.status, 415);
}

TEST(MetricsIngestE2E, PushgatewayGroupsAreQueryableAndSurviveRestart) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  {
    OrielProcess oriel({.data_dir = data});
    ASSERT_TRUE(oriel.listening()) << oriel.Output();
    auto put = Fetch({.method = "PUT",
                      .url = oriel.http_url() + "/metrics/job/backup/instance/db1",
                      .body = "# TYPE backup_last_success_seconds gauge\n"
                              "backup_last_success_seconds 1.7e9\n"});
    EXPECT_EQ(put.status, 200) << put.body;
    // Timestamps are refused, as the Pushgateway does.
    auto ts = Fetch({.method = "POST",
                     .url = oriel.http_url() + "/metrics/job/backup",
                     .body = "x 1 1700000000000\n"});
    EXPECT_EQ(ts.status, 400);
    std::string series = Series(oriel, "backup_last_success_seconds");
    EXPECT_NE(series.find("\"instance\":\"db1\",\"job\":\"backup\""), std::string::npos) << series;
    EXPECT_NE(Series(oriel, "push_time_seconds{job=\"backup\"}").find("push_time_seconds"),
              std::string::npos);
    oriel.Signal(SIGTERM);
    ASSERT_EQ(oriel.Wait(6s), 0);
  }
  OrielProcess again({.data_dir = data});
  ASSERT_TRUE(again.listening()) << again.Output();
  std::string groups = Get(again.http_url() + "/api/v1/metrics").body;
  EXPECT_NE(groups.find("backup_last_success_seconds"), std::string::npos) << groups;
  auto del =
      Fetch({.method = "DELETE", .url = again.http_url() + "/metrics/job/backup/instance/db1"});
  EXPECT_EQ(del.status, 202);
  EXPECT_EQ(Get(again.http_url() + "/api/v1/metrics").body.find("backup_last_success_seconds"),
            std::string::npos);
}

// One remote_write request with one new series (seq=<n>).
std::string WriteRequestBody(int n, int64_t t_ms) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* name = ts->add_labels();
  name->set_name("__name__");
  name->set_value("killtest_samples");
  auto* seq = ts->add_labels();
  seq->set_name("seq");
  seq->set_value(std::to_string(n));
  auto* s = ts->add_samples();
  s->set_value(n);
  s->set_timestamp(t_ms);
  return net::SnappyEncode(req.SerializeAsString());
}

TEST(MetricsIngestE2E, KillNineLosesNoAcknowledgedSample) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  std::set<int> acked;
  std::mutex mu;
  {
    OrielProcess oriel({.data_dir = data});
    ASSERT_TRUE(oriel.listening()) << oriel.Output();
    std::atomic<int> next{0};
    std::atomic<bool> stop{false};
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&] {
        while (!stop) {
          int n = next++;
          auto res =
              Fetch({.method = "POST",
                     .url = oriel.http_url() + "/api/v1/write",
                     .headers = {"Content-Encoding: snappy", "Content-Type: application/x-protobuf",
                                 "X-Prometheus-Remote-Write-Version: 0.1.0"},
                     .body = WriteRequestBody(n, now_ms),
                     .timeout_ms = 3000});
          if (res.status == 204) {
            std::lock_guard<std::mutex> lock(mu);
            acked.insert(n);
          }
        }
      });
    }
    std::this_thread::sleep_for(1500ms);
    oriel.Signal(SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_EQ(oriel.Wait(5s), 128 + SIGKILL);
  }
  ASSERT_GT(acked.size(), 10u) << "too few writes were acknowledged to test anything";
  OrielProcess again({.data_dir = data});
  ASSERT_TRUE(again.listening()) << again.Output();
  std::string series = Series(again, "killtest_samples");
  size_t missing = 0;
  for (int n : acked) {
    if (series.find("\"seq\":\"" + std::to_string(n) + "\"") == std::string::npos) ++missing;
  }
  EXPECT_EQ(missing, 0u) << acked.size() << " acknowledged, " << CountOf(series, "\"seq\"")
                         << " present after restart";
}

}  // namespace
}  // namespace oriel::testing
