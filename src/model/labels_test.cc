#include "model/labels.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <limits>
#include <string>
#include <vector>

#include "model/sample.h"

namespace oriel::model {
namespace {

TEST(LabelsTest, SortsDedupesAndDropsEmptyValues) {
  Labels l = Labels::FromUnsorted(
      {{"job", "a"}, {"__name__", "up"}, {"empty", ""}, {"instance", "x"}, {"job", "b"}});
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].name, "__name__");
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

TEST(LabelsTest, IteratesViewsOfNamesAndValues) {
  Labels l = Labels::FromUnsorted({{"b", "2"}, {"a", "1"}, {"c", "33"}});
  std::vector<LabelRef> seen(l.begin(), l.end());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (LabelRef{"a", "1"}));
  EXPECT_EQ(seen[1], (LabelRef{"b", "2"}));
  EXPECT_EQ(seen[2], (LabelRef{"c", "33"}));
  EXPECT_EQ(l.end() - l.begin(), 3);
  EXPECT_EQ(l.begin()[2].value, "33");
  EXPECT_EQ(l.begin()->name, "a");
  EXPECT_EQ(Labels().begin(), Labels().end());
  EXPECT_EQ(Labels().size(), 0u);
  EXPECT_TRUE(Labels::FromUnsorted({{"a", ""}}).empty());
}

TEST(LabelsTest, FromSortedViewsCopiesTheText) {
  std::string name = "job", value = "node";
  Labels l = Labels::FromSortedViews(std::vector<LabelRef>{{name, value}, {"z", "1"}});
  name.assign("xxx");
  value.assign("yyyy");
  EXPECT_EQ(l.Get("job"), "node");
  EXPECT_EQ(l.ToString(), "{job=\"node\", z=\"1\"}");
  EXPECT_EQ(l, Labels::FromUnsorted({{"z", "1"}, {"job", "node"}}));
}

TEST(LabelsTest, CopiesShareOneBuffer) {
  Labels a = Labels::FromUnsorted({{"__name__", "up"}, {"job", "a"}});
  Labels b = a;
  EXPECT_TRUE(a.SharesBufferWith(b));
  EXPECT_EQ(a.BufferAddress(), b.BufferAddress());
  Labels c = Labels::FromUnsorted({{"__name__", "up"}, {"job", "a"}});
  EXPECT_FALSE(a.SharesBufferWith(c));
  EXPECT_EQ(a, c);
  Labels moved = std::move(b);
  EXPECT_TRUE(moved.SharesBufferWith(a));
  b = moved;  // assigning to a moved-from handle
  EXPECT_EQ(b, a);
  b = b;  // self-assignment keeps the set alive
  EXPECT_EQ(b.Get("job"), "a");
  // Header, four 1-byte offsets and 14 bytes of text: far below the strings and vector it used
  // to take.
  EXPECT_EQ(a.BufferBytes(), 20u + 4u + 14u);
}

TEST(LabelsTest, ComparesLikeItsLabelsInOrder) {
  Labels a = Labels::FromUnsorted({{"a", "1"}});
  Labels ab = Labels::FromUnsorted({{"a", "1"}, {"b", "1"}});
  Labels a2 = Labels::FromUnsorted({{"a", "2"}});
  Labels b = Labels::FromUnsorted({{"b", "0"}});
  EXPECT_LT(Labels(), a);
  EXPECT_LT(a, ab);
  EXPECT_LT(ab, a2);
  EXPECT_LT(a2, b);
  EXPECT_NE(a, ab);
  EXPECT_NE(a, Labels());
  EXPECT_EQ(Labels(), Labels());
  // The same text split differently is a different set.
  EXPECT_NE(Labels::FromUnsorted({{"a", "bc"}}), Labels::FromUnsorted({{"ab", "c"}}));
}

TEST(LabelsTest, LongTextUsesWideOffsets) {
  // Past 65535 bytes of text the offsets no longer fit 16 bits.
  std::string long_value(70000, 'v');
  Labels l = Labels::FromUnsorted({{"a", long_value}, {"b", "x"}, {"c", long_value}});
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l.Get("a"), long_value);
  EXPECT_EQ(l.Get("b"), "x");
  EXPECT_EQ(l.Get("c"), long_value);
  EXPECT_EQ(l[2].name, "c");
  EXPECT_EQ(l, Labels::FromUnsorted({{"c", long_value}, {"b", "x"}, {"a", long_value}}));
  EXPECT_EQ(l.BufferBytes(), 20u + 6u * 4u + 3u + 2u * 70000u + 1u);
}

TEST(LabelsTest, OffsetsAreAsNarrowAsTheTextAllows) {
  // 255 bytes of text fit 8-bit offsets, 256 need 16 bits (and 65535 still fit them).
  for (size_t text : {size_t{255}, size_t{256}, size_t{65535}, size_t{65536}}) {
    std::string value(text - 3, 'v');  // "a", "b", "x" and the value
    Labels l = Labels::FromUnsorted({{"a", value}, {"b", "x"}});
    const size_t offset_bytes = text <= 255 ? 1 : text <= 65535 ? 2 : 4;
    EXPECT_EQ(l.BufferBytes(), 20u + 4u * offset_bytes + text) << text;
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].name, "a");
    EXPECT_EQ(l[0].value, value);
    EXPECT_EQ(l[1].name, "b");
    EXPECT_EQ(l.Get("b"), "x");
    EXPECT_EQ(l, Labels::FromUnsorted({{"b", "x"}, {"a", value}}));
    // A set one byte longer has other offsets, and is another set.
    EXPECT_NE(l, Labels::FromUnsorted({{"a", value + "v"}, {"b", "x"}}));
  }
}

TEST(LabelsTest, ViewsHashAndCompareAsTheSetOfThem) {
  std::vector<LabelRef> views = {{"__name__", "up"}, {"instance", "host:9100"}, {"job", "node"}};
  Labels set = Labels::FromSortedViews(views);
  EXPECT_EQ(Labels::HashOf(views), set.Hash());
  EXPECT_TRUE(set.Equals(views));
  EXPECT_FALSE(set.Equals(std::span<const LabelRef>(views).first(2)));
  std::vector<LabelRef> other = views;
  other[2].value = "nodes";
  EXPECT_NE(Labels::HashOf(other), set.Hash());
  EXPECT_FALSE(set.Equals(other));
  EXPECT_TRUE(Labels().Equals({}));
  EXPECT_EQ(Labels::HashOf({}), Labels().Hash());
}

TEST(LabelsTest, IndexSlotIsSharedByCopiesAndUnsetOnNewSets) {
  Labels a = Labels::FromUnsorted({{"__name__", "up"}});
  EXPECT_EQ(a.IndexSlot(), Labels::kNoIndexSlot);
  Labels copy = a;
  copy.SetIndexSlot(7);
  EXPECT_EQ(a.IndexSlot(), 7u);
  EXPECT_EQ(Labels::FromUnsorted({{"__name__", "up"}}).IndexSlot(), Labels::kNoIndexSlot);
  Labels().SetIndexSlot(3);  // no buffer to keep it in
  EXPECT_EQ(Labels().IndexSlot(), Labels::kNoIndexSlot);
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
