#include "net/body_buffer_pool.h"

#include <gtest/gtest.h>

#include <string>

#include "net/http_message.h"

namespace oriel::net {
namespace {

std::string BufferOf(size_t capacity) {
  std::string s;
  s.reserve(capacity);
  s = "leftover text";
  return s;
}

TEST(BodyBufferPoolTest, TakeGivesBackTheCapacityEmpty) {
  BodyBufferPool pool(2, 8 << 20);
  EXPECT_EQ(pool.Take().capacity(), std::string().capacity());
  pool.Give(BufferOf(1 << 20));
  EXPECT_EQ(pool.kept_buffers(), 1u);
  std::string taken = pool.Take();
  EXPECT_TRUE(taken.empty());
  EXPECT_GE(taken.capacity(), size_t{1} << 20);
  EXPECT_EQ(pool.kept_buffers(), 0u);
  EXPECT_EQ(pool.kept_bytes(), 0u);
}

TEST(BodyBufferPoolTest, KeepsTheLastGivenFirst) {
  BodyBufferPool pool(2, 8 << 20);
  pool.Give(BufferOf(1 << 20));
  pool.Give(BufferOf(3 << 20));
  EXPECT_GE(pool.Take().capacity(), size_t{3} << 20);
  std::string second = pool.Take();
  EXPECT_GE(second.capacity(), size_t{1} << 20);
  EXPECT_LT(second.capacity(), size_t{3} << 20);
}

TEST(BodyBufferPoolTest, DropsSmallBuffersAndWhatExceedsTheBounds) {
  BodyBufferPool pool(2, 8 << 20);
  pool.Give(BufferOf(1 << 10));  // too small to be worth keeping
  EXPECT_EQ(pool.kept_buffers(), 0u);
  pool.Give(BufferOf(9 << 20));  // larger than the whole budget
  EXPECT_EQ(pool.kept_buffers(), 0u);
  pool.Give(BufferOf(5 << 20));
  pool.Give(BufferOf(4 << 20));  // would exceed the byte budget
  EXPECT_EQ(pool.kept_buffers(), 1u);
  pool.Give(BufferOf(1 << 20));
  pool.Give(BufferOf(1 << 20));  // would exceed the buffer count
  EXPECT_EQ(pool.kept_buffers(), 2u);
  EXPECT_LE(pool.kept_bytes(), size_t{8} << 20);
}

TEST(BodyBufferPoolTest, ResponseNewBodyUsesThePoolWhenSet) {
  HttpResponse without_pool;
  EXPECT_TRUE(without_pool.NewBody().empty());
  BodyBufferPool pool(1, 8 << 20);
  pool.Give(BufferOf(2 << 20));
  HttpResponse response;
  response.body_pool = &pool;
  EXPECT_GE(response.NewBody().capacity(), size_t{2} << 20);
  EXPECT_EQ(pool.kept_buffers(), 0u);
}

}  // namespace
}  // namespace oriel::net
