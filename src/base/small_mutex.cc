#include "base/small_mutex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace oriel {
namespace {

// The futex calls on the lock word. Private: the word is never shared between processes.
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>& word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

void SmallMutex::LockContended() {
  // Holders usually let go within a few hundred cycles (a series' samples being applied); a
  // short spin saves the sleep and wake-up system calls then. A holder that waits for an fsync
  // keeps the lock for milliseconds, so past the spin the waiter sleeps.
  constexpr int kSpins = 100;
  for (int i = 0; i < kSpins; ++i) {
    uint32_t state = state_.load(std::memory_order_relaxed);
    if (state == kContended) break;  // others are asleep already: queue up behind them
    if (state == kUnlocked) {
      uint32_t expected = kUnlocked;
      if (state_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire)) return;
    }
    CpuRelax();
  }
  // Marking the word contended before sleeping makes the holder's unlock wake a sleeper; a
  // thread that gets the lock this way keeps it marked contended, since others may still sleep.
  while (state_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
    FutexWait(state_, kContended);
  }
}

void SmallMutex::WakeOne() { FutexWake(state_, 1); }

}  // namespace oriel
