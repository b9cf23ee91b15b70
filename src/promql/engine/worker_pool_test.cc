#include "promql/engine/worker_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace oriel::promql {
namespace {

// Every item in exactly one part, parts contiguous and numbered from 0.
void ExpectCovers(WorkerPool& pool, size_t n, size_t min_per_thread, size_t want_parts) {
  std::vector<std::atomic<int>> seen(n);
  std::atomic<size_t> parts{0};
  absl::Status s = pool.ParallelFor(n, min_per_thread, [&](size_t part, size_t begin, size_t end) {
    EXPECT_LT(part, kMaxParallelParts);
    for (size_t i = begin; i < end; ++i) seen[i].fetch_add(1);
    parts.fetch_add(1);
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << i;
  EXPECT_EQ(parts.load(), want_parts);
}

TEST(WorkerPoolTest, SplitsWorkOnlyWhenItIsLargeEnough) {
  WorkerPool pool(2);
  ExpectCovers(pool, 1000, 100, 2);
  ExpectCovers(pool, 150, 100, 1);
  ExpectCovers(pool, 0, 100, 1);
  WorkerPool one_core(1);
  ExpectCovers(one_core, 1000, 100, 1);
}

TEST(WorkerPoolTest, ReturnsTheFirstError) {
  WorkerPool pool(2);
  absl::Status s = pool.ParallelFor(100, 10, [](size_t part, size_t, size_t) {
    return part == 1 ? absl::DeadlineExceededError("late") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
}

// Queries share the helpers: a part the busy helper has not started runs on its caller, so
// concurrent calls all finish, each with its own parts.
TEST(WorkerPoolTest, ConcurrentCallersAllFinish) {
  WorkerPool pool(2);
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        std::vector<int> seen(64, 0);
        absl::Status s = pool.ParallelFor(64, 8, [&](size_t, size_t begin, size_t end) {
          for (size_t i = begin; i < end; ++i) ++seen[i];
          return absl::OkStatus();
        });
        bool all = s.ok();
        for (int v : seen) all = all && v == 1;
        if (all) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 800);
}

}  // namespace
}  // namespace oriel::promql
