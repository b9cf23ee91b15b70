#include "promql/engine/point_slabs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

namespace oriel::promql {
namespace {

TEST(PointSlabsTest, RunsAreDisjointAndKeepWhatIsWritten) {
  PointSlabs slabs;
  std::vector<std::span<FloatPoint>> runs;
  // 10k series of 100 points: about 8 slabs of 2 MiB, not 10k allocations.
  for (int64_t i = 0; i < 10000; ++i) {
    std::span<FloatPoint> r = slabs.Allocate(100);
    ASSERT_EQ(r.size(), 100u);
    for (size_t k = 0; k < r.size(); ++k) r[k] = {i, static_cast<double>(k)};
    runs.push_back(r);
  }
  EXPECT_LE(slabs.num_slabs(), 16u);
  for (int64_t i = 0; i < 10000; ++i) {
    const auto& r = runs[static_cast<size_t>(i)];
    ASSERT_TRUE(std::all_of(r.begin(), r.end(), [&](const FloatPoint& p) { return p.t == i; }))
        << "series " << i << " was overwritten";
    EXPECT_EQ(r.back().f, 99);
  }
  EXPECT_TRUE(slabs.Allocate(0).empty());
}

TEST(PointSlabsTest, ALongSeriesGetsASlabOfItsOwnAndTheCurrentOneGoesOn) {
  PointSlabs slabs;
  std::span<FloatPoint> small = slabs.Allocate(10);
  std::span<FloatPoint> big = slabs.Allocate(PointSlab::kPoints + 1);
  std::span<FloatPoint> next = slabs.Allocate(10);
  EXPECT_EQ(big.size(), PointSlab::kPoints + 1);
  EXPECT_EQ(next.data(), small.data() + 10);  // still filling the first slab
  EXPECT_EQ(slabs.num_slabs(), 2u);
  EXPECT_EQ(slabs.bytes(), (2 * PointSlab::kPoints + 1) * sizeof(FloatPoint));
}

TEST(PointSlabsTest, MergedSlabsLiveAsLongAsTheOneTheyWentInto) {
  PointSlabs all;
  std::span<FloatPoint> kept;
  {
    PointSlabs part;
    kept = part.Allocate(3);
    std::fill(kept.begin(), kept.end(), FloatPoint{7, 7});
    all.Allocate(1);
    all.Merge(std::move(part));
    EXPECT_EQ(part.num_slabs(), 0u);
    EXPECT_EQ(part.bytes(), 0u);
  }
  EXPECT_EQ(all.num_slabs(), 2u);
  EXPECT_EQ(kept[2].t, 7);
  // The merged-in slab is not filled further: the next run comes from all's own slab.
  std::span<FloatPoint> after = all.Allocate(1);
  EXPECT_TRUE(after.data() < kept.data() || after.data() >= kept.data() + PointSlab::kPoints);
}

}  // namespace
// Slabs start on a huge-page boundary, so that the kernel can back each with one huge page.
TEST(PointSlabsTest, SlabsAreHugePageAligned) {
  PointSlabs slabs;
  for (size_t n : {size_t{1}, PointSlab::kPoints, PointSlab::kPoints + 1}) {
    const auto at = reinterpret_cast<uintptr_t>(slabs.Allocate(n).data());
    EXPECT_EQ(at % PointSlab::kAlignment, 0u) << n << " points";
  }
}

}  // namespace oriel::promql
