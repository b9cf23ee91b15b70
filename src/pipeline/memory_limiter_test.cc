#include "pipeline/memory_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace oriel::pipeline {
namespace {

class CountingWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    ++writes;
    return tsdb::WriteResult{};
  }
  int writes = 0;
};

TEST(MemoryLimiterTest, RefusesWritesOverTheLimitAndRecovers) {
  metrics::Registry registry;
  std::atomic<int64_t> rss{100};
  MemoryLimiter limiter(1000, registry, [&] { return rss.load(); });
  CountingWriter next;
  MemoryLimitedWriter writer(next, limiter);
  EXPECT_TRUE(writer.Write({}).ok());
  rss = 5000;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto refused = writer.Write({});
  ASSERT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("5000 bytes is over the limit of 1000"),
            std::string::npos);
  EXPECT_EQ(next.writes, 1);
  rss = 10;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(writer.Write({}).ok());
  EXPECT_EQ(next.writes, 2);
  EXPECT_NE(registry.Expose().find("oriel_memory_limiter_refused_writes_total 1"),
            std::string::npos);
}

class CountingTraceWriter : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> spans) override {
    ++writes;
    return tracestore::TraceWriteResult{.spans_written = static_cast<int64_t>(spans.size())};
  }
  int writes = 0;
};

TEST(MemoryLimiterTest, RefusesSpansOverTheLimit) {
  metrics::Registry registry;
  std::atomic<int64_t> rss{5000};
  MemoryLimiter limiter(1000, registry, [&] { return rss.load(); });
  CountingTraceWriter next;
  MemoryLimitedTraceWriter writer(next, limiter);
  auto refused = writer.Write({{}});
  ASSERT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_EQ(next.writes, 0);
  rss = 10;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto written = writer.Write({{}});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->spans_written, 1);
  EXPECT_EQ(next.writes, 1);
}

TEST(MemoryLimiterTest, DefaultsToMostOfTheMachineAndReadsRealRss) {
  metrics::Registry registry;
  MemoryLimiter limiter(0, registry);
  EXPECT_GT(limiter.limit_bytes(), 0);
  EXPECT_LT(limiter.limit_bytes(), MachineMemoryBytes());
  EXPECT_GT(ProcessResidentBytes(), 1 << 20);
  EXPECT_TRUE(limiter.Check().ok());
}

}  // namespace
}  // namespace oriel::pipeline
