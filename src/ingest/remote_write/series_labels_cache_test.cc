#include "ingest/remote_write/series_labels_cache.h"

#include <gtest/gtest.h>

#include <vector>

namespace oriel::ingest {
namespace {

model::Labels Make(std::string_view name, std::string_view job) {
  return model::Labels::FromSorted({{"__name__", std::string(name)}, {"job", std::string(job)}});
}

std::vector<LabelView> Views(const model::Labels& labels) {
  return std::vector<LabelView>(labels.begin(), labels.end());
}

SeriesLabelsCache::Hit Find(const SeriesLabelsCache& cache, uint64_t key,
                            const model::Labels& labels) {
  auto lock = cache.LockForLookups();
  return cache.Find(key, Views(labels));
}

TEST(SeriesLabelsCacheTest, HandsOutTheCachedSetOnlyWhenTheLabelsMatch) {
  SeriesLabelsCache cache(100);
  model::Labels up = Make("up", "a");
  cache.Insert({{1, up}});
  SeriesLabelsCache::Hit hit = Find(cache, 1, Make("up", "a"));
  ASSERT_NE(hit.labels, nullptr);
  EXPECT_TRUE(hit.labels->SharesBufferWith(up));  // the same shared set, not a copy
  EXPECT_FALSE(hit.from_previous);
  // A key collision must not hand out another series' labels.
  EXPECT_EQ(Find(cache, 1, Make("up", "b")).labels, nullptr);
  EXPECT_EQ(Find(cache, 1, Make("down", "a")).labels, nullptr);
  EXPECT_EQ(Find(cache, 2, Make("up", "a")).labels, nullptr);
  // Fewer or more labels than cached.
  {
    auto lock = cache.LockForLookups();
    std::vector<LabelView> views = Views(up);
    views.pop_back();
    EXPECT_EQ(cache.Find(1, views).labels, nullptr);
    views = Views(up);
    views.push_back({"zone", ""});  // an empty value, which a label set would have dropped
    EXPECT_EQ(cache.Find(1, views).labels, nullptr);
  }
}

TEST(SeriesLabelsCacheTest, ForgetsWhatWasNotSeenForTwoGenerations) {
  SeriesLabelsCache cache(2);
  cache.Insert({{1, Make("a", "x")}, {2, Make("b", "x")}});
  cache.Insert({{3, Make("c", "x")}});  // the first generation is now the previous one
  EXPECT_EQ(cache.size(), 3u);
  SeriesLabelsCache::Hit hit = Find(cache, 1, Make("a", "x"));
  ASSERT_NE(hit.labels, nullptr);
  EXPECT_TRUE(hit.from_previous);
  EXPECT_FALSE(Find(cache, 3, Make("c", "x")).from_previous);

  // Key 1 seen again (copied forward), key 2 not: a second turnover drops 2 but keeps 1.
  cache.Insert({{1, Make("a", "x")}, {4, Make("d", "x")}});
  EXPECT_NE(Find(cache, 1, Make("a", "x")).labels, nullptr);
  EXPECT_EQ(Find(cache, 2, Make("b", "x")).labels, nullptr);
  EXPECT_LE(cache.size(), 4u);
}

TEST(SeriesLabelsCacheTest, CapacityZeroCachesNothing) {
  SeriesLabelsCache cache(0);
  cache.Insert({{1, Make("a", "x")}});
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(Find(cache, 1, Make("a", "x")).labels, nullptr);
}

TEST(SeriesLabelsCacheTest, KeysDependOnEveryLabelMessageAndTheirOrder) {
  uint64_t ab = ChainSeriesKey(ChainSeriesKey(kSeriesKeySeed, "a"), "b");
  uint64_t ba = ChainSeriesKey(ChainSeriesKey(kSeriesKeySeed, "b"), "a");
  EXPECT_NE(ab, ba);
  EXPECT_NE(ab, ChainSeriesKey(kSeriesKeySeed, "ab"));
  EXPECT_EQ(ab, ChainSeriesKey(ChainSeriesKey(kSeriesKeySeed, "a"), "b"));
}

}  // namespace
}  // namespace oriel::ingest
