// Differential test: the same samples remote-written into Oriel and into Debian's Prometheus
// 2.42, then the same PromQL queries sent to both; answers must agree within 1e-6 (relative).
// Samples sit off the whole second and queries at whole seconds, so that the one Prometheus 2
// vs 3 difference in range and lookback windows (closed vs left-open start, see
// COMPATIBILITY.md) cannot show.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "http_client.h"
#include "net/compression.h"
#include "oriel_process.h"
#include "prometheus/remote.pb.h"

namespace oriel::testing {
namespace {

using namespace std::chrono_literals;

// The data set: counters with a reset, gauges, and classic histogram buckets, 15 s apart.
constexpr int64_t kStep = 15000;
constexpr int kPoints = 240;  // one hour

std::string Dataset(int64_t start_ms) {
  prometheus::WriteRequest req;
  auto add = [&](std::vector<std::pair<std::string, std::string>> labels, auto value_at) {
    auto* ts = req.add_timeseries();
    std::sort(labels.begin(), labels.end());
    for (auto& [k, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    for (int i = 0; i < kPoints; ++i) {
      auto* s = ts->add_samples();
      // Off the whole second: no query time below lands exactly on a sample, so the results do
      // not depend on whether a window's start is open (Prometheus 3) or closed (Prometheus 2).
      s->set_timestamp(start_ms + 3700 + i * kStep);
      s->set_value(value_at(i));
    }
  };
  for (const char* job : {"api", "web"}) {
    for (const char* inst : {"a", "b", "c"}) {
      double rate = (job[0] == 'a' ? 3.0 : 1.5) * (inst[0] - 'a' + 1);
      add({{"__name__", "http_requests_total"}, {"job", job}, {"instance", inst}, {"code", "200"}},
          [=](int i) { return i < 150 ? rate * i : rate * (i - 150); });  // one reset
      add({{"__name__", "http_requests_total"}, {"job", job}, {"instance", inst}, {"code", "500"}},
          [=](int i) { return std::floor(rate * i / 10); });
      add({{"__name__", "memory_bytes"}, {"job", job}, {"instance", inst}},
          [=](int i) { return 1e6 * rate + 1000 * std::sin(i / 10.0); });
      double cum = 0;
      for (const char* le : {"0.1", "0.5", "1", "+Inf"}) {
        cum += rate;
        double per = cum;
        add({{"__name__", "latency_seconds_bucket"}, {"job", job}, {"instance", inst}, {"le", le}},
            [=](int i) { return per * i; });
      }
    }
  }
  return net::SnappyEncode(req.SerializeAsString());
}

const char* kQueries[] = {
    "http_requests_total",
    "http_requests_total{code=\"200\", job=~\"a.*\"}",
    "http_requests_total offset 10m",
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "delta(memory_bytes[10m])",
    "idelta(memory_bytes[5m])",
    "deriv(memory_bytes[10m])",
    "predict_linear(memory_bytes[10m], 600)",
    "resets(http_requests_total[1h])",
    "changes(memory_bytes[10m])",
    "sum(rate(http_requests_total[5m]))",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance) (rate(http_requests_total[5m]))",
    "avg by (job) (memory_bytes)",
    "min(memory_bytes)",
    "max by (instance) (memory_bytes)",
    "count(memory_bytes)",
    "stddev(memory_bytes)",
    "stdvar by (job) (memory_bytes)",
    "topk(2, memory_bytes)",
    "bottomk(1, rate(http_requests_total[5m]))",
    "quantile(0.9, memory_bytes)",
    "count_values(\"code\", http_requests_total)",
    "group by (job) (memory_bytes)",
    "histogram_quantile(0.9, sum by (le, job) (rate(latency_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(latency_seconds_bucket[5m]))",
    "rate(http_requests_total{code=\"500\"}[5m]) / ignoring(code) "
    "rate(http_requests_total{code=\"200\"}[5m])",
    "sum by (job) (rate(http_requests_total{code=\"500\"}[5m])) / on(job) group_left sum by (job) "
    "(rate(http_requests_total[5m]))",
    "memory_bytes > 2e6",
    "memory_bytes > bool 2e6",
    "memory_bytes and on(instance) memory_bytes{instance=\"a\"}",
    "memory_bytes or http_requests_total{code=\"500\"}",
    "memory_bytes unless on(job) memory_bytes{job=\"web\"}",
    "-memory_bytes % 7 + 2 ^ 3 * 1.5",
    "abs(sin(memory_bytes)) + ceil(memory_bytes / 1000) - floor(sqrt(memory_bytes))",
    "round(memory_bytes, 0.5)",
    "clamp(memory_bytes, 1.5e6, 3e6)",
    "clamp_min(memory_bytes, 2e6)",
    "clamp_max(memory_bytes, 2e6)",
    "exp(memory_bytes / 1e7)",
    "ln(memory_bytes)",
    "log2(memory_bytes) + log10(memory_bytes)",
    "avg_over_time(memory_bytes[10m])",
    "min_over_time(memory_bytes[10m])",
    "max_over_time(memory_bytes[10m])",
    "sum_over_time(memory_bytes[10m])",
    "count_over_time(memory_bytes[10m])",
    "stddev_over_time(memory_bytes[10m])",
    "quantile_over_time(0.75, memory_bytes[10m])",
    "last_over_time(memory_bytes[10m])",
    "present_over_time(memory_bytes[10m])",
    "absent(nonexistent_metric)",
    "absent(memory_bytes)",
    "absent_over_time(nonexistent_metric[5m])",
    "label_replace(memory_bytes, \"host\", \"h-$1\", \"instance\", \"(.*)\")",
    "label_join(memory_bytes, \"id\", \"/\", \"job\", \"instance\")",
    "sort(memory_bytes)",
    "sort_desc(rate(http_requests_total[5m]))",
    "timestamp(memory_bytes)",
    "vector(1) + scalar(sum(memory_bytes))",
    "time()",
    "hour(timestamp(memory_bytes)) + minute(timestamp(memory_bytes))",
    "day_of_week(vector(1700000000))",
    "max_over_time(rate(http_requests_total[5m])[20m:1m])",
    "avg_over_time(sum(memory_bytes)[10m:30s])",
    "sum(memory_bytes) * on() group_left() vector(2)",
    "count by (code) (http_requests_total) > 1",
    "sgn(deriv(memory_bytes[5m]))",
    "acos(clamp(memory_bytes / 1e7, -1, 1))",
};

// Canonical form of a query answer: series key -> list of (t, value).
using Answer = std::map<std::string, std::vector<std::pair<double, std::string>>>;

bool ParseAnswer(const std::string& body, Answer* out, std::string* type) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("status")) return false;
  if (std::string(doc["status"].GetString()) != "success") {
    *type = "error";
    return true;
  }
  const auto& data = doc["data"];
  *type = data["resultType"].GetString();
  auto point = [](const rapidjson::Value& p) {
    return std::make_pair(p[0].GetDouble(), std::string(p[1].GetString()));
  };
  if (*type == "scalar" || *type == "string") {
    (*out)[""].push_back(point(data["result"]));
    return true;
  }
  for (const auto& r : data["result"].GetArray()) {
    std::map<std::string, std::string> labels;
    for (const auto& m : r["metric"].GetObject()) labels[m.name.GetString()] = m.value.GetString();
    std::string key;
    for (const auto& [k, v] : labels) key += k + "=" + v + ",";
    auto& points = (*out)[key];
    if (r.HasMember("value")) points.push_back(point(r["value"]));
    if (r.HasMember("values")) {
      for (const auto& p : r["values"].GetArray()) points.push_back(point(p));
    }
  }
  return true;
}

bool Close(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double x = std::strtod(a.c_str(), nullptr), y = std::strtod(b.c_str(), nullptr);
  if (std::isnan(x) && std::isnan(y)) return true;
  return std::fabs(x - y) <= 1e-6 * std::max(std::fabs(x), std::fabs(y)) + 1e-12;
}

std::string Diff(const Answer& want, const Answer& got) {
  if (want.size() != got.size()) {
    return "series count " + std::to_string(want.size()) + " vs " + std::to_string(got.size());
  }
  for (const auto& [key, points] : want) {
    auto it = got.find(key);
    if (it == got.end()) return "missing series {" + key + "}";
    if (it->second.size() != points.size()) return "point count differs for {" + key + "}";
    for (size_t i = 0; i < points.size(); ++i) {
      if (points[i].first != it->second[i].first ||
          !Close(points[i].second, it->second[i].second)) {
        return "{" + key + "} at " + std::to_string(points[i].first) + ": " + points[i].second +
               " vs " + it->second[i].second;
      }
    }
  }
  return "";
}

TEST(PromqlDifferentialE2E, SameAnswersAsPrometheus) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) {
    GTEST_SKIP() << "peer not installed: /usr/bin/prometheus (Debian package prometheus)";
  }
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  TempDir dir;
  int port = FreeTcpPort();
  std::string config = dir.WriteFile("prometheus.yml", "global:\n  scrape_interval: 1h\n");
  std::vector<std::string> argv = {"/usr/bin/prometheus", "--config.file=" + config,
                                   "--storage.tsdb.path=" + dir.path() + "/data",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                   "--web.enable-remote-write-receiver"};
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
  std::string prom = "http://127.0.0.1:" + std::to_string(port);
  // Under a loaded machine (ctest -j) Prometheus can take a while to open its TSDB.
  for (int i = 0; i < 600 && Get(prom + "/-/ready").status != 200; ++i)
    std::this_thread::sleep_for(100ms);

  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int64_t start_ms = (now_ms - kPoints * kStep) / kStep * kStep;
  std::string body = Dataset(start_ms);
  std::vector<std::string> headers = {"Content-Encoding: snappy",
                                      "Content-Type: application/x-protobuf",
                                      "X-Prometheus-Remote-Write-Version: 0.1.0"};
  auto to_prom =
      Fetch({.method = "POST", .url = prom + "/api/v1/write", .headers = headers, .body = body});
  auto to_oriel = Fetch({.method = "POST",
                         .url = oriel.http_url() + "/api/v1/write",
                         .headers = headers,
                         .body = body});
  ASSERT_EQ(to_oriel.status, 204) << to_oriel.body;
  if (to_prom.status != 204) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    FAIL() << "Prometheus refused the data set: " << to_prom.status << " " << to_prom.body;
  }

  int64_t end_ms = start_ms + (kPoints - 1) * kStep;
  std::vector<std::string> params_list;
  for (int64_t t : {end_ms, end_ms - 1234567, start_ms + 700000}) {
    // 7 s past a multiple of 15 s: not a multiple of any subquery step used below either.
    params_list.push_back("time=" + std::to_string(t / 1000 + 7));
  }
  params_list.push_back("start=" + std::to_string((start_ms + 600000) / 1000 + 7) +
                        "&end=" + std::to_string(end_ms / 1000) + "&step=60");
  int compared = 0, failed = 0;
  std::string failures;
  for (const char* q : kQueries) {
    for (const std::string& params : params_list) {
      bool range = params.rfind("start=", 0) == 0;
      std::string path = std::string(range ? "/api/v1/query_range?" : "/api/v1/query?") + params +
                         "&query=" + UrlEncode(q);
      auto want_res = Get(prom + path);
      auto got_res = Get(oriel.http_url() + path);
      Answer want, got;
      std::string want_type, got_type;
      ++compared;
      if (!ParseAnswer(want_res.body, &want, &want_type) ||
          !ParseAnswer(got_res.body, &got, &got_type)) {
        ++failed;
        failures += std::string(q) + " [" + params +
                    "]: unparsable answer: " + got_res.body.substr(0, 200) + "\n";
        continue;
      }
      std::string diff =
          want_type != got_type ? "result type " + want_type + " vs " + got_type : Diff(want, got);
      if (!diff.empty()) {
        ++failed;
        failures += std::string(q) + " [" + params + "]: " + diff + "\n";
      }
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::printf("promql differential: %d passed, %d failed\n", compared - failed, failed);
  EXPECT_EQ(failed, 0) << failures;
}

}  // namespace
}  // namespace oriel::testing
