#include "base/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "base/metrics.h"

namespace oriel::metrics {
namespace {

// Unlabelled sample values by name, from a text exposition.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#' || line.find('{') != std::string::npos) continue;
    size_t space = line.find(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

void WriteFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path) << content;
}

TEST(ProcessMetricsTest, ReadsThisProcess) {
  Registry r;
  RegisterProcessMetrics(r);
  std::map<std::string, double> s = ParseSamples(r.Expose());
  ASSERT_EQ(s.size(), 6u) << r.Expose();
  EXPECT_GE(s["process_cpu_seconds_total"], 0);
  EXPECT_GT(s["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GT(s["process_virtual_memory_bytes"], s["process_resident_memory_bytes"]);
  EXPECT_GE(s["process_open_fds"], 3);
  EXPECT_GE(s["process_max_fds"], s["process_open_fds"]);
  double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(s["process_start_time_seconds"], now + 1);
  EXPECT_GT(s["process_start_time_seconds"], now - 3600);
}

TEST(ProcessMetricsTest, ParsesFixtureTree) {
  std::filesystem::path root = std::filesystem::path(testing::TempDir()) / "oriel_fake_proc";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "self" / "fd");
  for (const char* fd : {"0", "1", "2", "7"}) WriteFile(root / "self" / "fd" / fd, "");
  // A command name with spaces and parentheses must not shift the fields.
  WriteFile(root / "self" / "stat",
            "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194304 99 0 1 0 250 50 0 0 20 0 1 0 12345 "
            "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  WriteFile(root / "stat", "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 9\n");
  WriteFile(root / "self" / "limits",
            "Limit                     Soft Limit           Hard Limit           Units     \n"
            "Max stack size            8388608              unlimited            bytes     \n"
            "Max open files            1024                 4096                 files     \n");
  Registry r;
  RegisterProcessMetrics(r, root.string());
  std::map<std::string, double> s = ParseSamples(r.Expose());
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  EXPECT_DOUBLE_EQ(s["process_cpu_seconds_total"], 300 / hz);
  EXPECT_EQ(s["process_virtual_memory_bytes"], 104857600);
  EXPECT_EQ(s["process_resident_memory_bytes"], 2560 * page);
  EXPECT_DOUBLE_EQ(s["process_start_time_seconds"], 1700000000 + 12345 / hz);
  EXPECT_EQ(s["process_open_fds"], 4);
  EXPECT_EQ(s["process_max_fds"], 1024);
  std::filesystem::remove_all(root);
}

TEST(ProcessMetricsTest, LeavesOutWhatCannotBeRead) {
  Registry r;
  RegisterProcessMetrics(r, "/nonexistent/oriel/proc");
  EXPECT_EQ(r.Expose(), "");
}

TEST(ProcessMetricsTest, PromtoolFindsNoProblems) {
  const char* promtool = "/usr/bin/promtool";
  if (access(promtool, X_OK) != 0) GTEST_SKIP() << promtool << " is not installed";
  Registry r;
  RegisterProcessMetrics(r);
  r.AddCounter("oriel_requests_total", "Requests served.").Inc(3);
  CounterFamily& errors =
      r.AddCounterFamily("oriel_errors_total", "Errors\nby \"kind\".", {"kind", "path"});
  errors.WithLabels({"parse", "/a\"b\\c\nd"}).Inc();
  r.AddGauge("oriel_queue_length", "Queued items.").Set(0.25);
  HistogramFamily& h = r.AddHistogramFamily("oriel_request_duration_seconds", "Durations.",
                                            {"handler"}, DefaultDurationBuckets());
  h.WithLabels({"query"}).Observe(0.3);
  h.WithLabels({"write"}).Observe(12);
  r.AddGaugeFunc("oriel_build_info", "Build information.", [] { return 1.0; });
  r.AddCollector([](ExpositionWriter& w) {
    w.Family("oriel_tenant_series", "Series per tenant.", MetricType::kGauge);
    w.Sample({{"tenant", "a"}}, 12);
  });

  std::filesystem::path file = std::filesystem::path(testing::TempDir()) / "oriel_metrics.txt";
  WriteFile(file, r.Expose());
  std::string cmd = std::string(promtool) + " check metrics < " + file.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace oriel::metrics
