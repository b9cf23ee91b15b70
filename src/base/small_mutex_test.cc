#include "base/small_mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace oriel {
namespace {

TEST(SmallMutexTest, TryLockFailsWhileHeld) {
  SmallMutex mu;
  ASSERT_TRUE(mu.try_lock());
  EXPECT_FALSE(mu.try_lock());
  mu.unlock();
  EXPECT_TRUE(mu.try_lock());
  mu.unlock();
}

TEST(SmallMutexTest, ExcludesUnderContention) {
  // Plain (non-atomic) read-modify-writes lose updates unless the mutex excludes; holding the
  // lock across a yield makes waiters go to sleep, so the wake-up path is exercised too.
  SmallMutex mu;
  int64_t counter = 0;
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        std::lock_guard lock(mu);
        int64_t seen = counter;
        if (i % 1000 == 0) std::this_thread::yield();
        counter = seen + 1;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, int64_t{kThreads} * kIterations);
}

TEST(SmallMutexTest, WakesASleepingWaiter) {
  SmallMutex mu;
  mu.lock();
  bool entered = false;
  std::thread waiter([&] {
    std::lock_guard lock(mu);
    entered = true;
  });
  // Long enough for the waiter to give up spinning and sleep in the kernel.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  mu.unlock();
  waiter.join();
  EXPECT_TRUE(entered);
}

TEST(SmallMutexTest, WorksWithScopedLockOfTwo) {
  SmallMutex a, b;
  {
    std::scoped_lock lock(a, b);
    EXPECT_FALSE(a.try_lock());
    EXPECT_FALSE(b.try_lock());
  }
  EXPECT_TRUE(a.try_lock());
  EXPECT_TRUE(b.try_lock());
  a.unlock();
  b.unlock();
}

}  // namespace
}  // namespace oriel
