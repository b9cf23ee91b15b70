// Sends queries to the real Prometheus (Debian's 2.42, /api/v1/format_query) and compares its
// pretty-printed text with Prettify's: a hand-picked list and every expression of the peer
// promqltest files. Skipped when the binary is not installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "http_client.h"
#include "oriel_process.h"
#include "promql/parser/parser.h"
#include "promql/parser/prettier.h"

namespace oriel::promql {
namespace {

constexpr char kPrometheusBinary[] = "/usr/bin/prometheus";

// Queries whose canonical text is the same in Prometheus 2.42 and 3 (2.42 predates quoted
// UTF-8 names, duration expressions and the newer number printing), short ones and ones well
// past the 100-character limit, covering every node type the prettier splits.
const char* const kQueries[] = {
    "up",
    "sum(rate(http_requests_total[5m])) by (job)",
    "a > b and c < d",
    R"(foo{job="api",instance=~"10\\..*",env!="dev",zone!~"eu-.*"} offset 5m)",
    "histogram_quantile(0.99, sum by (le, job) "
    "(rate(http_request_duration_seconds_bucket{job=\"api-server\"}[5m])))",
    "sum without (instance) (rate(node_cpu_seconds_total{mode!=\"idle\",job=\"node\"}[1m])) / "
    "ignoring (mode) group_left sum without (instance, mode) "
    "(rate(node_cpu_seconds_total{job=\"node\"}[1m]))",
    "max_over_time(rate(demo_api_request_duration_seconds_count{job=\"demo\",instance=\"localhost:"
    "8080\"}[1m])[1h:1m] offset 1m)",
    "label_replace(label_replace(up{job=\"api-server\",service=\"a:c\"}, \"foo\", \"$1\", "
    "\"service\", \"(.*):.*\"), \"bar\", \"$1\", \"service\", \"(.*):.*\")",
    "(node_filesystem_avail_bytes{job=\"node\",fstype!=\"\"} / "
    "node_filesystem_size_bytes{job=\"node\",fstype!=\"\"} * 100 < 40 and "
    "predict_linear(node_filesystem_avail_bytes{job=\"node\",fstype!=\"\"}[6h], 24*60*60) < 0 and "
    "node_filesystem_readonly{job=\"node\",fstype!=\"\"} == 0)",
    "(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or "
    "(node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)",
    "1 - ((node_memory_MemAvailable_bytes{job=\"node\"} or "
    "(node_memory_Buffers_bytes{job=\"node\"} + node_memory_Cached_bytes{job=\"node\"} + "
    "node_memory_MemFree_bytes{job=\"node\"} + node_memory_Slab_bytes{job=\"node\"}) ) / "
    "node_memory_MemTotal_bytes{job=\"node\"})",
    "min by (job, integration) (rate(alertmanager_notifications_failed_total{job=\"alertmanager\", "
    "integration=~\".*\"}[5m]) / rate(alertmanager_notifications_total{job=\"alertmanager\", "
    "integration=\"~.*\"}[5m])) > 0.01",
    "topk(5, sum by (pod, namespace) "
    "(container_memory_working_set_bytes{namespace=~\"kube-system|monitoring\",container!=\"\"}))",
    "count_values(\"version\", "
    "build_info{job=\"prometheus\",instance=\"prometheus-0.prometheus.monitoring.svc:9090\"})",
    "quantile_over_time(0.95, "
    "rate(http_requests_total{job=\"api-server\",handler=\"/api/v1/query_range\"}[5m])[30m:1m])",
    "-sum(rate(process_cpu_seconds_total{job=\"prometheus\",instance=\"prometheus-0.prometheus."
    "monitoring.svc:9090\"}[5m]))",
    "sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (job) / on (job) "
    "sum(rate(http_requests_total[5m])) by (job) > bool 0.05",
    "absent(up{job=\"kubernetes-apiservers\",instance=\"10.0.0.1:443\",cluster=\"production-eu-"
    "west-1\"} == 1)",
    "clamp(sum(rate(container_cpu_usage_seconds_total{namespace=\"default\",pod=~\"web-.*\"}[5m])) "
    "by (pod), 0, 1) * 100",
    "rate(http_requests_total[5m] @ 1700000000) + rate(http_requests_total[5m] offset 1d) + "
    "rate(http_requests_total[5m] @ end())",
    "sum by (job) (rate(a_metric_with_a_rather_long_name_total[5m])) unless sum by (job) "
    "(rate(another_metric_with_a_long_name_total[5m]))",
    "stddev_over_time(scrape_duration_seconds{job=\"node\",instance=\"node-exporter-0.monitoring."
    "svc:9100\"}[1h]) > 2 * avg_over_time(scrape_duration_seconds{job=\"node\"}[1h])",
    "vector(1) + "
    "scalar(sum(up{job=\"a-job-name-that-is-quite-long-to-push-this-query-over-the-limit\",env="
    "\"production\"}))",
};

// Runs Prometheus on a free port with an empty data dir; stops it in the destructor.
class PrometheusPeer {
 public:
  PrometheusPeer() {
    port_ = testing::FreeTcpPort();
    std::string config = dir_.WriteFile("prometheus.yml", "global:\n  scrape_interval: 1h\n");
    std::vector<std::string> argv = {kPrometheusBinary, "--config.file=" + config,
                                     "--storage.tsdb.path=" + dir_.path() + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    for (int i = 0; i < 600 && !ready(); ++i) {
      if (testing::Get(url() + "/-/ready").status == 200) ready_ = true;
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~PrometheusPeer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  testing::TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

class PrettierPeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(kPrometheusBinary)) prom_ = new PrometheusPeer();
  }
  static void TearDownTestSuite() {
    delete prom_;
    prom_ = nullptr;
  }
  void SetUp() override {
    if (prom_ == nullptr) {
      GTEST_SKIP() << "peer not installed: " << kPrometheusBinary << " (Debian package prometheus)";
    }
    ASSERT_TRUE(prom_->ready()) << "Prometheus did not become ready";
  }

  // Prometheus' format_query answer, or nullopt when it rejects the query.
  static std::optional<std::string> PrometheusFormat(std::string_view query) {
    auto res =
        testing::Get(prom_->url() + "/api/v1/format_query?query=" + testing::UrlEncode(query));
    if (res.status != 200) return std::nullopt;
    rapidjson::Document doc;
    doc.Parse(res.body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("data") ||
        !doc["data"].IsString()) {
      ADD_FAILURE() << "unexpected answer: " << res.body;
      return std::nullopt;
    }
    return std::string(doc["data"].GetString());
  }

  static PrometheusPeer* prom_;
};

PrometheusPeer* PrettierPeerTest::prom_ = nullptr;

TEST_F(PrettierPeerTest, SameTextAsPrometheusFormatQuery) {
  int compared = 0;
  for (const char* q : kQueries) {
    std::optional<std::string> want = PrometheusFormat(q);
    ASSERT_TRUE(want.has_value()) << "Prometheus rejected " << q;
    auto expr = ParseExpr(q);
    ASSERT_TRUE(expr.ok()) << q << ": " << expr.status();
    EXPECT_EQ(Prettify(**expr), *want) << "query: " << q;
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(std::size(kQueries)));
}

// Every expression of the peer promqltest files that Prometheus 2.42 accepts. Skipped: those
// whose text holds a number Prometheus 2 prints in exponent form (1e+06; Prometheus 3 and Oriel
// print 1000000), and those Oriel rejects (syntax Prometheus 3 removed, e.g. holt_winters).
TEST_F(PrettierPeerTest, PeerTestFileExpressions) {
  const char* shared = std::getenv("ORIEL_SHARED_DIR");
  if (shared == nullptr || *shared == '\0') {
    GTEST_SKIP() << "ORIEL_SHARED_DIR is not set (ctest sets it): no peer test files";
  }
  std::filesystem::path dir = std::filesystem::path(shared) / "peer-tests" / "promql";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  const std::regex eval(
      R"(^eval(?:_fail|_warn|_info|_ordered)?\s+(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.+)$)");
  const std::regex exponent(R"([0-9]e[+-][0-9][0-9])");
  std::set<std::string> queries;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, eval)) queries.insert(m[1]);
    }
  }
  int compared = 0, number_format = 0, oriel_rejects = 0;
  for (const std::string& q : queries) {
    std::optional<std::string> want = PrometheusFormat(q);
    if (!want) continue;
    if (std::regex_search(*want, exponent)) {
      ++number_format;
      continue;
    }
    auto expr = ParseExpr(q);
    if (!expr.ok()) {
      ++oriel_rejects;
      continue;
    }
    EXPECT_EQ(Prettify(**expr), *want) << "query: " << q;
    ++compared;
  }
  std::printf("%d compared, %d skipped for number format, %d rejected by Oriel\n", compared,
              number_format, oriel_rejects);
  EXPECT_GT(compared, 1000);
}

}  // namespace
}  // namespace oriel::promql
