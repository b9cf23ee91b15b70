// Splits one query's table work over the machine's cores (two here): a range query is one
// request, and without this it would leave the other core idle while it runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace oriel::promql {

// Runs fn(part, begin, end) over contiguous parts [begin, end) of [0, n), numbered from 0, one
// per thread (the calling thread takes part 0), and returns the first error. Work smaller than
// `min_per_thread` items a part stays on the calling thread: starting a thread costs more than it
// saves. `fn` must only write state of its own part, so that the result does not depend on the
// split. There are at most kMaxParallelParts parts.
inline constexpr size_t kMaxParallelParts = 2;
inline absl::Status ParallelFor(size_t n, size_t min_per_thread,
                                const std::function<absl::Status(size_t, size_t, size_t)>& fn) {
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxParallelParts);
  threads = std::min(threads, std::max<size_t>(1, n / std::max<size_t>(1, min_per_thread)));
  if (threads <= 1) return fn(0, 0, n);
  std::vector<absl::Status> status(threads);
  std::vector<std::thread> workers;
  const size_t part = (n + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t) {
    size_t begin = std::min(n, t * part), end = std::min(n, begin + part);
    workers.emplace_back([&, t, begin, end] { status[t] = fn(t, begin, end); });
  }
  status[0] = fn(0, 0, std::min(n, part));
  for (auto& w : workers) w.join();
  for (auto& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace oriel::promql
