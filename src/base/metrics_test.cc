#include "base/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace oriel::metrics {
namespace {

TEST(MetricsTest, ExposesSmallRegistryExactly) {
  Registry r;
  // Registered out of order: the exposition sorts families by name.
  Gauge& temp = r.AddGauge("oriel_temperature_celsius", "Current temperature.");
  Counter& requests = r.AddCounter("oriel_requests_total", "Requests served.");
  CounterFamily& errors = r.AddCounterFamily("oriel_errors_total",
                                             "Errors by kind.\nSecond \\ line.", {"kind", "path"});
  Histogram& latency = r.AddHistogram("oriel_latency_seconds", "Latency.", {0.1, 0.5, 1});
  r.AddGaugeFunc("oriel_answer", "The answer.", [] { return 42.0; });
  r.AddCollector([](ExpositionWriter& w) {
    w.Family("oriel_tenant_series", "Series per tenant.", MetricType::kGauge);
    w.Sample({{"tenant", "b"}}, 7);
    w.Sample({{"tenant", "a"}}, 1.5);
  });
  r.AddCounterFamily("oriel_unused_total", "Never used, so left out.", {"x"});

  temp.Set(-3.25);
  requests.Inc();
  requests.Inc(2);
  errors.WithLabels({"parse", "/a\"b\\c\nd"}).Inc();
  errors.WithLabels({"io", "/x"}).Inc(5);
  latency.Observe(0.05);
  latency.Observe(0.1);
  latency.Observe(0.7);
  latency.Observe(3);

  EXPECT_EQ(r.Expose(),
            "# HELP oriel_answer The answer.\n"
            "# TYPE oriel_answer gauge\n"
            "oriel_answer 42\n"
            "# HELP oriel_errors_total Errors by kind.\\nSecond \\\\ line.\n"
            "# TYPE oriel_errors_total counter\n"
            "oriel_errors_total{kind=\"io\",path=\"/x\"} 5\n"
            "oriel_errors_total{kind=\"parse\",path=\"/a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP oriel_latency_seconds Latency.\n"
            "# TYPE oriel_latency_seconds histogram\n"
            "oriel_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "oriel_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "oriel_latency_seconds_bucket{le=\"1\"} 3\n"
            "oriel_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "oriel_latency_seconds_sum 3.85\n"
            "oriel_latency_seconds_count 4\n"
            "# HELP oriel_requests_total Requests served.\n"
            "# TYPE oriel_requests_total counter\n"
            "oriel_requests_total 3\n"
            "# HELP oriel_temperature_celsius Current temperature.\n"
            "# TYPE oriel_temperature_celsius gauge\n"
            "oriel_temperature_celsius -3.25\n"
            "# HELP oriel_tenant_series Series per tenant.\n"
            "# TYPE oriel_tenant_series gauge\n"
            "oriel_tenant_series{tenant=\"b\"} 7\n"
            "oriel_tenant_series{tenant=\"a\"} 1.5\n");
}

TEST(MetricsTest, HistogramFamilyPutsLeAfterItsLabels) {
  Registry r;
  HistogramFamily& h = r.AddHistogramFamily("oriel_request_duration_seconds", "Durations.",
                                            {"handler"}, {0.5, 1, 1e6, INFINITY});
  Histogram& q = h.WithLabels({"query"});
  q.Observe(1);
  q.Observe(std::nan(""));
  EXPECT_EQ(r.Expose(),
            "# HELP oriel_request_duration_seconds Durations.\n"
            "# TYPE oriel_request_duration_seconds histogram\n"
            "oriel_request_duration_seconds_bucket{handler=\"query\",le=\"0.5\"} 0\n"
            "oriel_request_duration_seconds_bucket{handler=\"query\",le=\"1\"} 1\n"
            "oriel_request_duration_seconds_bucket{handler=\"query\",le=\"1000000\"} 1\n"
            "oriel_request_duration_seconds_bucket{handler=\"query\",le=\"+Inf\"} 2\n"
            "oriel_request_duration_seconds_sum{handler=\"query\"} NaN\n"
            "oriel_request_duration_seconds_count{handler=\"query\"} 2\n");
}

TEST(MetricsTest, WithLabelsReturnsTheSameChild) {
  Registry r;
  GaugeFamily& f = r.AddGaugeFamily("oriel_queue_length", "Queue length.", {"queue", "shard"});
  Gauge& a = f.WithLabels({"ingest", "1"});
  std::vector<std::string> values = {"ingest", "1"};
  EXPECT_EQ(&a, &f.WithLabels(values));
  EXPECT_NE(&a, &f.WithLabels({"ingest", "2"}));
  a.Inc(5);
  a.Dec();
  a.Add(-0.5);
  EXPECT_EQ(f.WithLabels(values).Value(), 3.5);
  a.Set(10);
  EXPECT_EQ(a.Value(), 10);
}

TEST(MetricsTest, ConcurrentIncrementsAreExact) {
  Registry r;
  Counter& c = r.AddCounter("oriel_hits_total", "Hits.");
  CounterFamily& f = r.AddCounterFamily("oriel_labelled_hits_total", "Hits.", {"t"});
  Histogram& h = r.AddHistogram("oriel_sizes_bytes", "Sizes.", ExponentialBuckets(1, 2, 8));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = f.WithLabels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kPerThread; ++i) {
        c.Inc();
        mine.Inc();
        h.Observe(i % 300);
      }
    });
  }
  // Scrapes race with the writers: they must neither crash nor see torn values.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(r.Expose().empty());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.Value(), kThreads * kPerThread);
  EXPECT_EQ(f.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread);
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.cumulative_counts.back(), s.count);
}

TEST(MetricsTest, FormatsFloatsLikePrometheus) {
  EXPECT_EQ(FormatFloat(0), "0");
  EXPECT_EQ(FormatFloat(-0.0), "0");
  EXPECT_EQ(FormatFloat(1), "1");
  EXPECT_EQ(FormatFloat(-1), "-1");
  EXPECT_EQ(FormatFloat(1e6), "1000000");
  EXPECT_EQ(FormatFloat(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(FormatFloat(1e20), "1e+20");
  EXPECT_EQ(FormatFloat(0.1), "0.1");
  EXPECT_EQ(FormatFloat(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatFloat(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatFloat(1717171717.25), "1717171717.25");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(FormatFloat(5e-324), "5e-324");
  for (double v : {0.005, 2.5, 1.0 / 3, 123456.789e10, -7e-5}) {
    EXPECT_EQ(std::stod(FormatFloat(v)), v) << FormatFloat(v);
  }
}

TEST(MetricsTest, Buckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
  EXPECT_EQ(ExponentialBuckets(1, 2, 3), (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(LinearBuckets(1, 0.5, 3), (std::vector<double>{1, 1.5, 2}));
  EXPECT_EQ(DefaultDurationBuckets().size(), 11u);
  EXPECT_EQ(DefaultDurationBuckets().front(), 0.005);
  EXPECT_EQ(DefaultDurationBuckets().back(), 10);
}

TEST(MetricsTest, CollectorWithoutSamplesIsLeftOut) {
  Registry r;
  r.AddCollector(
      [](ExpositionWriter& w) { w.Family("oriel_empty", "Nothing yet.", MetricType::kGauge); });
  EXPECT_EQ(r.Expose(), "");
}

using MetricsDeathTest = ::testing::Test;

TEST_F(MetricsDeathTest, BugsFailChecks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry r;
  r.AddCounter("oriel_a_total", "A.");
  r.AddHistogram("oriel_h_seconds", "H.", {1});
  EXPECT_DEATH(r.AddCounter("oriel_a_total", "Again."), "check failed");
  EXPECT_DEATH(r.AddGauge("oriel_h_seconds_count", "Collides."), "check failed");
  EXPECT_DEATH(r.AddGauge("1oriel", "Bad name."), "check failed");
  EXPECT_DEATH(r.AddGauge("oriel-x", "Bad name."), "check failed");
  EXPECT_DEATH(r.AddGaugeFamily("oriel_g", "Bad label.", {"__x"}), "check failed");
  EXPECT_DEATH(r.AddGaugeFamily("oriel_g", "Dup label.", {"a", "a"}), "check failed");
  EXPECT_DEATH(r.AddHistogramFamily("oriel_g", "le.", {"le"}, {1}), "check failed");
  EXPECT_DEATH(r.AddHistogram("oriel_g", "Unsorted.", {2, 1}), "check failed");
  CounterFamily& f = r.AddCounterFamily("oriel_f_total", "F.", {"a", "b"});
  EXPECT_DEATH(f.WithLabels({"only_one"}), "check failed");
  EXPECT_DEATH(r.AddCounter("oriel_b_total", "B.").Inc(-1), "check failed");
  r.AddCollector([](ExpositionWriter& w) {
    w.Family("oriel_a_total", "Duplicate of a registered counter.", MetricType::kCounter);
    w.Sample(1);
  });
  EXPECT_DEATH(r.Expose(), "check failed");
}

}  // namespace
}  // namespace oriel::metrics
