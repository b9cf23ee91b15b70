#include "tracestore/span_memory.h"

#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

TEST(SpanMemoryTest, MallocChunks) {
  EXPECT_EQ(MallocChunkBytes(1), 32u);
  EXPECT_EQ(MallocChunkBytes(24), 32u);
  EXPECT_EQ(MallocChunkBytes(25), 48u);
  EXPECT_EQ(MallocChunkBytes(100), 112u);
}

}  // namespace
}  // namespace oriel::tracestore
