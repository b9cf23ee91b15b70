#include "loadgen/trace_id_sample.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

constexpr int64_t kStart = 1'700'000'000'000'000'000;

TEST(HexIdTest, LowercaseTwoDigitsPerByte) {
  EXPECT_EQ(HexId(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(HexId(""), "");
}

TEST(TraceIdSampleTest, KeepsEveryTraceBelowCapacityWithItsRoot) {
  TraceGenerator gen({.services = 4, .seed = 3});
  TraceIdSample sample(100, 1);
  std::vector<GeneratedTrace> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(gen.Next(kStart + i * 1'000'000'000LL));
    sample.Add(sent.back(), gen);
  }
  ASSERT_EQ(sample.traces().size(), 10u);
  EXPECT_EQ(sample.offered(), 10);
  for (size_t i = 0; i < sent.size(); ++i) {
    const GeneratedSpan& root = sent[i].spans.front();
    EXPECT_EQ(sample.traces()[i].trace_id, HexId(root.span.trace_id()));
    EXPECT_EQ(sample.traces()[i].trace_id.size(), 32u);
    EXPECT_EQ(sample.traces()[i].service, gen.ServiceOf(root.resource));
    EXPECT_EQ(sample.traces()[i].operation, root.span.name());
  }
}

TEST(TraceIdSampleTest, SpreadsOverAllTracesAboveCapacity) {
  TraceGenerator gen({.services = 4, .seed = 5});
  TraceIdSample sample(50, 7);
  std::vector<std::string> order;  // hex ids in sending order
  for (int i = 0; i < 2000; ++i) {
    const GeneratedTrace t = gen.Next(kStart + i * 1'000'000LL);
    order.push_back(HexId(t.spans.front().span.trace_id()));
    sample.Add(t, gen);
  }
  ASSERT_EQ(sample.traces().size(), 50u);
  EXPECT_EQ(sample.offered(), 2000);
  std::set<std::string> kept;
  for (const SampledTrace& t : sample.traces()) kept.insert(t.trace_id);
  EXPECT_EQ(kept.size(), 50u);  // no duplicates
  int early = 0, late = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (kept.count(order[i]) == 0) continue;
    (i < order.size() / 2 ? early : late)++;
  }
  EXPECT_EQ(early + late, 50);  // every kept id was sent
  // A first-N sample would have none from the second half; a uniform one about half.
  EXPECT_GE(late, 10);
  EXPECT_GE(early, 10);
}

TEST(TraceIdSampleTest, ZeroCapacityKeepsNothing) {
  TraceGenerator gen({.services = 2, .seed = 1});
  TraceIdSample sample(0, 1);
  sample.Add(gen.Next(kStart), gen);
  EXPECT_TRUE(sample.traces().empty());
  EXPECT_EQ(sample.Format(), "");
}

TEST(TraceIdSampleTest, WritesTabSeparatedLines) {
  TraceGenerator gen({.services = 3, .seed = 9});
  TraceIdSample sample(5, 1);
  for (int i = 0; i < 3; ++i) sample.Add(gen.Next(kStart + i), gen);
  const std::string path = ::testing::TempDir() + "/trace_ids.tsv";
  ASSERT_TRUE(sample.WriteFile(path).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), sample.Format());
  std::istringstream lines(text.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const SampledTrace& t = sample.traces()[n++];
    EXPECT_EQ(line, t.trace_id + "\t" + t.service + "\t" + t.operation);
  }
  EXPECT_EQ(n, 3);
  std::remove(path.c_str());
}

TEST(TraceIdSampleTest, UnwritablePathIsAnError) {
  TraceIdSample sample(1, 1);
  const absl::Status status = sample.WriteFile("/nonexistent-dir/trace_ids.tsv");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot open trace id file /nonexistent-dir/trace_ids.tsv"),
            std::string::npos);
}

}  // namespace
}  // namespace oriel::loadgen
