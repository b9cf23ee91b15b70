#include "model/labels.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <limits>

#include "model/sample.h"

namespace oriel::model {
namespace {

TEST(LabelsTest, SortsDedupesAndDropsEmptyValues) {
  Labels l = Labels::FromUnsorted(
      {{"job", "a"}, {"__name__", "up"}, {"empty", ""}, {"instance", "x"}, {"job", "b"}});
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l.items()[0].name, "__name__");
  EXPECT_EQ(l.Get("job"), "b");
  EXPECT_EQ(l.Get("empty"), "");
  EXPECT_EQ(l.MetricName(), "up");
  EXPECT_EQ(l.ToString(), "up{instance=\"x\", job=\"b\"}");
  EXPECT_EQ(Labels::FromUnsorted({{"a", "q\"\\\n"}}).ToString(), "{a=\"q\\\"\\\\\\n\"}");
  EXPECT_EQ(Labels::FromUnsorted({{"__name__", "up"}}).ToString(), "up");
}

TEST(LabelsTest, HashIsStableAndDistinguishesBoundaries) {
  Labels a = Labels::FromUnsorted({{"a", "bc"}});
  Labels b = Labels::FromUnsorted({{"ab", "c"}});
  EXPECT_NE(a.Hash(), b.Hash());
  EXPECT_EQ(a.Hash(), Labels::FromUnsorted({{"a", "bc"}}).Hash());
}

TEST(LabelsTest, HashIsXxh3OfNamesAndValuesEachEndedByFf) {
  // The value must not change across versions (hashes may be kept beside data).
  Labels l = Labels::FromUnsorted({{"__name__", "up"}, {"job", "a"}});
  const std::string bytes = std::string("__name__\xffup\xffjob\xff") + "a\xff";
  EXPECT_EQ(l.Hash(), XXH3_64bits(bytes.data(), bytes.size()));
  // A long label set (past any small-buffer size) hashes the same way.
  std::string long_value(100000, 'x');
  Labels big = Labels::FromUnsorted({{"a", long_value}});
  const std::string big_bytes = "a\xff" + long_value + "\xff";
  EXPECT_EQ(big.Hash(), XXH3_64bits(big_bytes.data(), big_bytes.size()));
  EXPECT_EQ(l.Hash(), XXH3_64bits(bytes.data(), bytes.size()));  // after the buffer was freed
  EXPECT_EQ(Labels().Hash(), XXH3_64bits("", 0));
}

TEST(LabelsTest, BuilderEditsOnTopOfBase) {
  Labels base = Labels::FromUnsorted({{"__name__", "x"}, {"a", "1"}});
  Labels out = LabelsBuilder(base).Set("b", "2").Del("__name__").Set("a", "3").Build();
  EXPECT_EQ(out.ToString(), "{a=\"3\", b=\"2\"}");
}

TEST(LabelsTest, ValidatesLegacyNames) {
  EXPECT_TRUE(IsValidLegacyMetricName("http_requests:rate5m"));
  EXPECT_FALSE(IsValidLegacyMetricName("1abc"));
  EXPECT_FALSE(IsValidLegacyLabelName("a:b"));
  EXPECT_TRUE(IsValidLegacyLabelName("_a1"));
}

TEST(SampleTest, StaleMarkerIsASpecificNaN) {
  EXPECT_TRUE(IsStaleNaN(StaleNaN()));
  EXPECT_FALSE(IsStaleNaN(std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace
}  // namespace oriel::model
