// A mutex in four bytes, for objects there are millions of (the metrics head's series, each
// with two locks: std::mutex takes 40 bytes).
#pragma once

#include <atomic>
#include <cstdint>

namespace oriel {

// A non-recursive mutex: a futex word that is 0 (unlocked), 1 (locked) or 2 (locked, and a
// thread may be asleep waiting for it). Uncontended lock and unlock are one atomic operation
// each, no system call. Meets the Lockable requirements (std::lock_guard, std::unique_lock,
// std::scoped_lock). Not fair; no priority inheritance.
class SmallMutex {
 public:
  SmallMutex() = default;
  SmallMutex(const SmallMutex&) = delete;
  SmallMutex& operator=(const SmallMutex&) = delete;

  void lock() {
    uint32_t expected = kUnlocked;
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire)) return;
    LockContended();
  }
  bool try_lock() {
    uint32_t expected = kUnlocked;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(kUnlocked, std::memory_order_release) == kContended) WakeOne();
  }

 private:
  static constexpr uint32_t kUnlocked = 0;
  static constexpr uint32_t kLocked = 1;
  static constexpr uint32_t kContended = 2;

  void LockContended();
  void WakeOne();

  std::atomic<uint32_t> state_{kUnlocked};
};

static_assert(sizeof(SmallMutex) == 4);

}  // namespace oriel
