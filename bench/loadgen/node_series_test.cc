#include "loadgen/node_series.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

std::string Key(const NodeSeriesSet& set, size_t i) {
  std::string key;
  for (const LabelRef& l : set.Labels(i)) {
    key += set.Symbol(l.name) + "=" + set.Symbol(l.value) + ",";
  }
  return key;
}

std::string LabelValue(const NodeSeriesSet& set, size_t i, std::string_view name) {
  for (const LabelRef& l : set.Labels(i)) {
    if (set.Symbol(l.name) == name) return set.Symbol(l.value);
  }
  return "";
}

TEST(NodeSeriesSetTest, HasExactlyTheRequestedNumberOfDistinctSeries) {
  for (int64_t n : {0, 1, 7, 999, 10000, 12345}) {
    NodeSeriesSet set({.series = n, .seed = 3});
    ASSERT_EQ(set.size(), static_cast<size_t>(n));
    std::set<std::string> keys;
    for (size_t i = 0; i < set.size(); ++i) keys.insert(Key(set, i));
    EXPECT_EQ(keys.size(), set.size()) << "duplicate label sets at n=" << n;
  }
}

TEST(NodeSeriesSetTest, SameSeedSameSeriesAndValues) {
  NodeSeriesSet a({.series = 5000, .seed = 42});
  NodeSeriesSet b({.series = 5000, .seed = 42});
  NodeSeriesSet c({.series = 5000, .seed = 43});
  for (int tick = 0; tick < 3; ++tick) {
    a.Advance();
    b.Advance();
    c.Advance();
  }
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(Key(a, i), Key(b, i));
    ASSERT_EQ(a.Value(i), b.Value(i)) << Key(a, i);
    differs = differs || Key(a, i) != Key(c, i) || a.Value(i) != c.Value(i);
  }
  EXPECT_TRUE(differs) << "another seed should give another workload";
}

TEST(NodeSeriesSetTest, LabelSetsLookLikeNodeExporter) {
  NodeSeriesSet set({.series = 20000, .seed = 1});
  std::set<std::string> names, jobs, instances, modes, mountpoints, devices;
  for (size_t i = 0; i < set.size(); ++i) {
    auto labels = set.Labels(i);
    ASSERT_GE(labels.size(), 3u);
    for (size_t j = 1; j < labels.size(); ++j) {
      EXPECT_LT(set.Symbol(labels[j - 1].name), set.Symbol(labels[j].name)) << Key(set, i);
    }
    for (const LabelRef& l : labels) {
      const std::string& name = set.Symbol(l.name);
      EXPECT_FALSE(set.Symbol(l.value).empty()) << Key(set, i);
      ASSERT_FALSE(name.empty());
      for (char ch : name) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    }
    names.insert(LabelValue(set, i, "__name__"));
    jobs.insert(LabelValue(set, i, "job"));
    instances.insert(LabelValue(set, i, "instance"));
    if (!LabelValue(set, i, "mode").empty()) modes.insert(LabelValue(set, i, "mode"));
    if (!LabelValue(set, i, "mountpoint").empty())
      mountpoints.insert(LabelValue(set, i, "mountpoint"));
    if (!LabelValue(set, i, "device").empty()) devices.insert(LabelValue(set, i, "device"));
  }
  EXPECT_TRUE(names.count("node_cpu_seconds_total"));
  EXPECT_TRUE(names.count("node_memory_MemAvailable_bytes"));
  EXPECT_TRUE(names.count("node_filesystem_avail_bytes"));
  EXPECT_TRUE(names.count("http_request_duration_seconds_bucket"));
  EXPECT_EQ(jobs, (std::set<std::string>{"api", "node"}));
  EXPECT_GT(instances.size(), 40u);  // a fleet of hosts, a few hundred series each
  EXPECT_EQ(modes.size(), 8u);
  EXPECT_TRUE(mountpoints.count("/"));
  EXPECT_TRUE(devices.count("eth0"));
  EXPECT_FALSE(names.count(""));
}

TEST(NodeSeriesSetTest, CountersNeverDecreaseAndHistogramsStayCumulative) {
  NodeSeriesSet set({.series = 8000, .seed = 9});
  std::vector<double> before(set.size());
  for (int tick = 0; tick < 5; ++tick) {
    for (size_t i = 0; i < set.size(); ++i) before[i] = set.Value(i);
    set.Advance();
    for (size_t i = 0; i < set.size(); ++i) {
      if (set.Kind(i) != SeriesKind::kGauge) {
        EXPECT_GE(set.Value(i), before[i]) << Key(set, i);
      }
      EXPECT_GE(set.Value(i), 0) << Key(set, i);
    }
  }
  EXPECT_EQ(set.tick(), 5);
  int histograms = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    if (set.Kind(i) != SeriesKind::kHistogramCount) continue;
    ++histograms;
    // Layout: buckets in `le` order (+Inf last), _sum, _count.
    const size_t buckets = DefaultBuckets().size() + 1;
    ASSERT_GE(i, buckets + 1);
    const size_t first = i - 1 - buckets;
    for (size_t b = 1; b < buckets; ++b) {
      EXPECT_LE(set.Value(first + b - 1), set.Value(first + b)) << Key(set, first + b);
    }
    EXPECT_EQ(LabelValue(set, first + buckets - 1, "le"), "+Inf");
    EXPECT_EQ(set.Value(first + buckets - 1), set.Value(i)) << "+Inf bucket == _count";
    EXPECT_EQ(set.Kind(i - 1), SeriesKind::kHistogramSum);
  }
  EXPECT_GT(histograms, 0);
}

TEST(NodeSeriesSetTest, RoundedUniformEntropyBits) {
  EXPECT_DOUBLE_EQ(RoundedUniformEntropyBits(-0.5, 1), 0);    // always rounds to 0
  EXPECT_DOUBLE_EQ(RoundedUniformEntropyBits(0, 1), 1);       // 0 or 1, half each
  EXPECT_DOUBLE_EQ(RoundedUniformEntropyBits(-0.5, 4), 2);    // four equal cells
  // Cells of 1/6, 1/3, 1/3, 1/6.
  EXPECT_NEAR(RoundedUniformEntropyBits(0, 3), std::log2(6.0) / 3 + 2 * std::log2(3.0) / 3, 1e-12);
  EXPECT_NEAR(RoundedUniformEntropyBits(7.25, 1e9), std::log2(1e9), 1e-6);
  EXPECT_EQ(RoundedUniformEntropyBits(3, 0), 0);
}

// The analytic entropy of each counter's step matches the entropy of the steps Advance() draws.
// Counters only: their steps are never clamped. Series with few possible steps, so that a few
// thousand draws estimate the distribution well.
TEST(NodeSeriesSetTest, ValueEntropyBitsMatchesTheDrawnSteps) {
  NodeSeriesSet set({.series = 2000, .seed = 5});
  constexpr int kRounds = 4000;
  std::vector<std::map<long long, int>> steps(set.size());
  std::vector<double> before(set.size());
  for (int r = 0; r < kRounds; ++r) {
    for (size_t i = 0; i < set.size(); ++i) before[i] = set.Value(i);
    set.Advance();
    for (size_t i = 0; i < set.size(); ++i) {
      if (set.Kind(i) != SeriesKind::kCounter) continue;
      // Steps in hundredths: the finest grid a value sits on.
      steps[i][std::llround((set.Value(i) - before[i]) * 100)]++;
    }
  }
  int compared = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    if (set.Kind(i) != SeriesKind::kCounter || steps[i].size() > 40) continue;
    double empirical = 0;
    for (const auto& [step, n] : steps[i]) {
      const double p = static_cast<double>(n) / kRounds;
      empirical -= p * std::log2(p);
    }
    EXPECT_NEAR(set.ValueEntropyBits(i), empirical, 0.05) << Key(set, i);
    ++compared;
  }
  EXPECT_GT(compared, 10);
  size_t constant_or_histogram = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    if (set.ValueEntropyBits(i) == 0) ++constant_or_histogram;
  }
  EXPECT_GT(constant_or_histogram, 0u);
  EXPECT_LT(constant_or_histogram, set.size());
}

}  // namespace
}  // namespace oriel::loadgen
