#include "promql/engine/slab_recycler.h"

#include <gtest/gtest.h>

namespace oriel::promql {
namespace {

constexpr size_t kSlabBytes = PointSlab::kPoints * sizeof(FloatPoint);

TEST(SlabRecyclerTest, TheNextQueryGetsTheSlabsTheLastOneFreed) {
  SlabRecycler recycler;
  const FloatPoint* first = nullptr;
  {
    PointSlabs query(&recycler);
    first = query.Allocate(10).data();
    query.Allocate(PointSlab::kPoints);      // a second standard slab
    query.Allocate(PointSlab::kPoints + 1);  // its own size: not kept
  }
  EXPECT_EQ(recycler.kept_bytes(), 2 * kSlabBytes);
  PointSlabs next(&recycler);
  const FloatPoint* a = next.Allocate(PointSlab::kPoints).data();
  const FloatPoint* b = next.Allocate(PointSlab::kPoints).data();
  EXPECT_TRUE(a == first || b == first);
  EXPECT_EQ(recycler.kept_bytes(), 0u);
}

TEST(SlabRecyclerTest, KeepsAtMostItsBound) {
  SlabRecycler recycler(3 * kSlabBytes);
  {
    PointSlabs query(&recycler);
    for (int i = 0; i < 5; ++i) query.Allocate(PointSlab::kPoints);
  }
  EXPECT_EQ(recycler.kept_bytes(), 3 * kSlabBytes);
  // Merged slabs go back too, once, from where they were merged into.
  {
    PointSlabs all(&recycler);
    PointSlabs part(&recycler);
    part.Allocate(1);
    all.Merge(std::move(part));
    EXPECT_EQ(recycler.kept_bytes(), 2 * kSlabBytes);
  }
  EXPECT_EQ(recycler.kept_bytes(), 3 * kSlabBytes);
}

}  // namespace
}  // namespace oriel::promql
