#include "loadgen/exposition.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

struct Parsed {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, double> samples;     // "name{labels}" -> value
  std::vector<std::string> errors;
};

// A strict reading of the text format: every sample belongs to the family of the last # TYPE,
// each family is announced once, HELP precedes TYPE.
Parsed Parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line, family, help;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      help = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      family = line.substr(7, sp - 7);
      if (help != family) p.errors.push_back("TYPE without HELP: " + line);
      if (!p.types.emplace(family, line.substr(sp + 1)).second) {
        p.errors.push_back("family announced twice: " + family);
      }
      continue;
    }
    const size_t sp = line.rfind(' ');
    const std::string key = line.substr(0, sp);
    const std::string name = key.substr(0, key.find('{'));
    const std::string& type = p.types[family];
    const bool ok = name == family ||
                    (type == "histogram" && (name == family + "_bucket" ||
                                             name == family + "_sum" || name == family + "_count"));
    if (!ok) p.errors.push_back(fmt::format("{} outside its family (in {})", name, family));
    char* end = nullptr;
    const double v = std::strtod(line.c_str() + sp + 1, &end);
    if (*end != '\0') p.errors.push_back("bad value: " + line);
    if (!p.samples.emplace(key, v).second) p.errors.push_back("duplicate series: " + key);
  }
  return p;
}

TEST(ExpositionTest, EveryFamilyOnceEverySeriesOnceValuesAdvance) {
  NodeSeriesSet set({.series = 3000, .seed = 5});
  ExpositionWriter writer(set);
  const Parsed before = Parse(writer.Render());
  EXPECT_TRUE(before.errors.empty()) << before.errors.front();
  EXPECT_EQ(before.samples.size(), set.size());
  EXPECT_EQ(before.types.at("node_cpu_seconds_total"), "counter");
  EXPECT_EQ(before.types.at("node_load1"), "gauge");
  EXPECT_EQ(before.types.at("http_request_duration_seconds"), "histogram");

  set.Advance();
  set.Advance();
  const Parsed after = Parse(writer.Render());
  EXPECT_TRUE(after.errors.empty());
  int grew = 0, counters = 0;
  for (const auto& [key, v] : after.samples) {
    if (key.rfind("node_cpu_seconds_total{", 0) != 0) continue;
    ++counters;
    EXPECT_GE(v, before.samples.at(key)) << key;
    grew += v > before.samples.at(key) ? 1 : 0;
  }
  ASSERT_GT(counters, 0);
  EXPECT_EQ(grew, counters) << "counters advance every interval";
  EXPECT_TRUE(after.samples.count(
      R"(http_request_duration_seconds_bucket{code="200",handler="/api/v1/orders",)"
      R"(instance="node-0000.eu-west-1a.example.net:8080",job="api",le="+Inf",method="POST"})"))
      << "label order and +Inf bucket";
}

TEST(ExpositionTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

// Prometheus' own parser and linter. Exit code 1 is a parse error; 3 lint findings, of which
// node_exporter's own names (node_memory_MemTotal_bytes is camelCase) are expected.
TEST(ExpositionTest, PromtoolAcceptsIt) {
  const char* promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) GTEST_SKIP() << "no " << promtool << " installed";
  NodeSeriesSet set({.series = 5000, .seed = 2});
  set.Advance();
  const std::string dir = testing::TempDir();
  const std::string in = dir + "/exposition.txt", out = dir + "/promtool.out";
  std::ofstream(in) << ExpositionWriter(set).Render();
  const int rc =
      std::system(fmt::format("{} check metrics < {} > {} 2>&1", promtool, in, out).c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  std::ifstream result(out);
  std::stringstream text;
  text << result.rdbuf();
  const int code = WEXITSTATUS(rc);
  ASSERT_TRUE(code == 0 || code == 3) << "exit " << code << ": " << text.str();
  std::istringstream lines(text.str());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    EXPECT_NE(line.find("camelCase"), std::string::npos) << "unexpected finding: " << line;
  }
}

}  // namespace
}  // namespace oriel::loadgen
