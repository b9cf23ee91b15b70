// The real binary, started on free ports: health, self-metrics, limits, config errors,
// reload and graceful shutdown, as a user or an orchestrator sees them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "http_client.h"
#include "oriel_process.h"

namespace oriel::testing {
namespace {

using namespace std::chrono_literals;

int Connect(const std::string& address) {
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string Gzip(const std::string& data) {
  TempDir dir;
  std::string path = dir.WriteFile("body", data);
  RunCommand({"/bin/gzip", "-f", path});
  std::ifstream in(path + ".gz", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FoundationE2E, ServesHealthReadinessAndGrafanaHealth) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  auto healthy = Get(oriel.http_url() + "/-/healthy");
  EXPECT_EQ(healthy.status, 200);
  auto ready = Get(oriel.http_url() + "/-/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto health = Get(oriel.http_url() + "/api/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Header("content-type"), "application/json");
  EXPECT_NE(health.body.find("\"database\":\"ok\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"version\":\"0."), std::string::npos) << health.body;
  EXPECT_EQ(Get(oriel.http_url() + "/no/such/page").status, 404);
  // The gRPC listener accepts connections.
  int fd = Connect(oriel.grpc_address());
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  // The URLs are printed for the user (after the log lines that the launcher waits for).
  EXPECT_TRUE(oriel.WaitForOutput(oriel.http_url() + "/\n", 5s)) << oriel.Output();
}

TEST(FoundationE2E, MetricsPassPromtoolCheck) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  Get(oriel.http_url() + "/-/healthy");
  auto metrics = Get(oriel.http_url() + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_open_fds", "process_start_time_seconds", "oriel_build_info{",
                           "oriel_http_request_duration_seconds_bucket",
                           "oriel_http_requests_total{handler=\"/-/healthy\",code=\"200\"}",
                           "oriel_http_request_body_bytes_total"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
  if (!std::filesystem::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool is not installed";
  auto check = RunCommand({"/usr/bin/promtool", "check", "metrics"}, metrics.body);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "");
}

TEST(FoundationE2E, GzipInAndOut) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  auto raw = Fetch({.url = oriel.http_url() + "/metrics", .headers = {"Accept-Encoding: gzip"}});
  EXPECT_EQ(raw.Header("content-encoding"), "gzip");
  auto decoded = Fetch({.url = oriel.http_url() + "/metrics", .decode_gzip = true});
  EXPECT_NE(decoded.body.find("process_cpu_seconds_total"), std::string::npos);
  // A gzip body is decoded before the handler sees it: a corrupt one is named as such.
  auto corrupt = Fetch({.method = "POST",
                        .url = oriel.http_url() + "/-/reload",
                        .headers = {"Content-Encoding: gzip"},
                        .body = "not gzip"});
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_NE(corrupt.body.find("cannot decompress body"), std::string::npos);
  auto good = Fetch({.method = "POST",
                     .url = oriel.http_url() + "/-/reload",
                     .headers = {"Content-Encoding: gzip"},
                     .body = Gzip("ignored")});
  EXPECT_EQ(good.status, 200) << good.body;
}

TEST(FoundationE2E, OversizedBodyGets413FromConfiguredLimit) {
  OrielProcess oriel({.config_yaml = "limits:\n  max_request_body_size: 1KB\n"});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  auto big = Post(oriel.http_url() + "/-/reload", std::string(4096, 'x'));
  EXPECT_EQ(big.status, 413) << big.error;
  EXPECT_NE(big.body.find("1024 bytes"), std::string::npos) << big.body;
  EXPECT_EQ(Post(oriel.http_url() + "/-/reload", "small").status, 200);
}

TEST(FoundationE2E, SigtermFinishesInFlightRequestAndExitsZeroWithinFiveSeconds) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  // A request whose body is still arriving when SIGTERM comes.
  int fd = Connect(oriel.http_url().substr(7));
  ASSERT_GE(fd, 0);
  std::string head = "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345";
  ASSERT_EQ(write(fd, head.data(), head.size()), (ssize_t)head.size());
  std::this_thread::sleep_for(200ms);
  // Meanwhile other clients keep the server busy.
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::thread load([&] {
    while (!stop) {
      if (Fetch({.url = oriel.http_url() + "/metrics", .timeout_ms = 2000}).status == 200) ++served;
    }
  });
  std::this_thread::sleep_for(200ms);
  auto start = std::chrono::steady_clock::now();
  oriel.Signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(write(fd, "67890", 5), 5);
  std::string answer = ReadAll(fd);
  close(fd);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  int code = oriel.Wait(6s);
  auto elapsed = std::chrono::steady_clock::now() - start;
  stop = true;
  load.join();
  EXPECT_EQ(code, 0) << oriel.Output();
  EXPECT_LT(elapsed, 5s);
  EXPECT_GT(served.load(), 0);
  EXPECT_NE(oriel.Output().find("msg=stopped"), std::string::npos) << oriel.Output();
}

TEST(FoundationE2E, SigintAlsoStopsCleanly) {
  OrielProcess oriel({});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  oriel.Signal(SIGINT);
  EXPECT_EQ(oriel.Wait(5s), 0);
}

TEST(FoundationE2E, ReloadBySighupAndHttpAppliesOrRejectsConfig) {
  OrielProcess oriel({.config_yaml = "server:\n  log_level: info\n"});
  ASSERT_TRUE(oriel.listening()) << oriel.Output();
  std::ofstream(oriel.config_path()) << "server:\n  log_level: debug\n";
  oriel.Signal(SIGHUP);
  EXPECT_TRUE(oriel.WaitForOutput("msg=\"config reloaded\"", 5s)) << oriel.Output();

  std::ofstream(oriel.config_path()) << "server:\n  log_level: debug\n  nonsense: 1\n";
  auto failed = Post(oriel.http_url() + "/-/reload", "");
  EXPECT_EQ(failed.status, 500);
  EXPECT_NE(failed.body.find(":3:3: unknown key \"nonsense\" in server"), std::string::npos)
      << failed.body;
  auto metrics = Get(oriel.http_url() + "/metrics");
  EXPECT_NE(metrics.body.find("oriel_config_last_reload_successful 0"), std::string::npos);
  // The server keeps running with the previous config.
  EXPECT_EQ(Get(oriel.http_url() + "/-/ready").status, 200);
}

TEST(FoundationE2E, BadConfigExitsTwoWithFileLineAndKey) {
  TempDir dir;
  std::string path =
      dir.WriteFile("bad.yml", "server:\n  http_listen: [\"127.0.0.1:0\"]\n  colour: blue\n");
  auto serve =
      RunCommand({OrielBinary(), "serve", "--config", path, "--data-dir", dir.path() + "/data"});
  EXPECT_EQ(serve.exit_code, 2) << serve.output;
  EXPECT_NE(serve.output.find(path + ":3:3: unknown key \"colour\" in server"), std::string::npos)
      << serve.output;
  auto check = RunCommand({OrielBinary(), "check-config", path});
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.output.find(path + ":3:3: unknown key \"colour\""), std::string::npos);

  std::string good = dir.WriteFile("good.yml", "global:\n  scrape_interval: 15s\n");
  auto ok = RunCommand({OrielBinary(), "check-config", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("SUCCESS"), std::string::npos);

  auto bad_flag =
      RunCommand({OrielBinary(), "--http-listen", "nowhere", "--data-dir", dir.path() + "/data"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("flag --http-listen: invalid address \"nowhere\""),
            std::string::npos)
      << bad_flag.output;
}

TEST(FoundationE2E, VersionPrintsRevisionAndBuildDate) {
  auto v = RunCommand({OrielBinary(), "version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.output.find("oriel, version 0."), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("revision: "), std::string::npos);
  EXPECT_NE(v.output.find("build date: 20"), std::string::npos);
}

TEST(FoundationE2E, SecondProcessOnTheSameDataDirIsRefused) {
  OrielProcess first({});
  ASSERT_TRUE(first.listening()) << first.Output();
  OrielProcess second({.data_dir = first.data_dir()});
  EXPECT_EQ(second.Wait(10s), 1) << second.Output();
  EXPECT_NE(second.Output().find("another process is using it"), std::string::npos)
      << second.Output();
}

TEST(FoundationE2E, PortInUseIsAClearError) {
  OrielProcess first({});
  ASSERT_TRUE(first.listening()) << first.Output();
  OrielProcess second({.args = {"--http-listen", first.http_url().substr(7)}});
  EXPECT_EQ(second.Wait(10s), 1);
  EXPECT_NE(second.Output().find("cannot listen on"), std::string::npos) << second.Output();
}

}  // namespace
}  // namespace oriel::testing
