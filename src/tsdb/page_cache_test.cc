#include "tsdb/page_cache.h"

#include <gtest/gtest.h>

namespace oriel::tsdb {
namespace {

std::shared_ptr<const std::string> Bytes(size_t n, char c) {
  return std::make_shared<const std::string>(n, c);
}

TEST(PageCacheTest, KeepsPagesByOwnerWithinTheBudget) {
  PageCache cache(100);
  const uint64_t a = cache.NewOwner(), b = cache.NewOwner();
  EXPECT_NE(a, b);
  cache.Put(a, 0, Bytes(40, 'a'));
  cache.Put(b, 0, Bytes(40, 'b'));
  ASSERT_NE(cache.Get(a, 0), nullptr);
  EXPECT_EQ(*cache.Get(a, 0), std::string(40, 'a'));
  EXPECT_EQ(*cache.Get(b, 0), std::string(40, 'b'));
  EXPECT_EQ(cache.Get(a, 1), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
  // (a, 0) was used last: (b, 0) goes to make room.
  cache.Get(a, 0);
  cache.Put(a, 1, Bytes(40, 'c'));
  EXPECT_EQ(cache.Get(b, 0), nullptr);
  EXPECT_NE(cache.Get(a, 0), nullptr);
  EXPECT_NE(cache.Get(a, 1), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
}

TEST(PageCacheTest, PagesLargerThanTheBudgetAreNotKept) {
  PageCache cache(10);
  const uint64_t a = cache.NewOwner();
  cache.Put(a, 0, Bytes(11, 'x'));
  EXPECT_EQ(cache.Get(a, 0), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(PageCacheTest, APageAddedTwiceCountsOnce) {
  PageCache cache(100);
  const uint64_t a = cache.NewOwner();
  cache.Put(a, 0, Bytes(30, 'x'));
  cache.Put(a, 0, Bytes(30, 'y'));
  EXPECT_EQ(cache.bytes(), 30u);
  EXPECT_EQ(*cache.Get(a, 0), std::string(30, 'x'));
}

}  // namespace
}  // namespace oriel::tsdb
