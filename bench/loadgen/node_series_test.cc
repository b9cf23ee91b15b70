#include "loadgen/node_series.h"

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

}  // namespace
}  // namespace oriel::loadgen
