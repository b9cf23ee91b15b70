// Splits one query's table work over the machine's cores (two here): a range query is one
// request, and without this it would leave the other core idle while it runs. The helper
// threads live as long as the engine: a thread started per query costs its start and, worse,
// takes a fresh allocator arena each time, so that the memory it fills (the decoded samples) is
// page-faulted in anew by every query.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace oriel::promql {

// At most this many parts per ParallelFor (the caller's and the helpers').
inline constexpr size_t kMaxParallelParts = 2;

// Thread-safe: any number of queries may call ParallelFor at once.
class WorkerPool {
 public:
  // Starts helpers for a machine of `cores` cores (none on one core), at most
  // kMaxParallelParts - 1.
  explicit WorkerPool(size_t cores = std::thread::hardware_concurrency());
  // Joins the helpers. REQUIRES: no ParallelFor running.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs fn(part, begin, end) over contiguous parts [begin, end) of [0, n), numbered from 0, and
  // returns the first error. The caller runs part 0, helpers the others; a part no helper has
  // started by the time the caller is done with its own (helpers busy with another query) runs
  // on the caller too, so a query never waits for another one's work. Work smaller than
  // `min_per_thread` items a part stays on the calling thread: handing it over costs more than
  // it saves. `fn` must only write state of its own part, so that the result does not depend on
  // the split.
  absl::Status ParallelFor(size_t n, size_t min_per_thread,
                           const std::function<absl::Status(size_t, size_t, size_t)>& fn);

 private:
  struct Task {
    const std::function<absl::Status(size_t, size_t, size_t)>* fn;
    size_t part, begin, end;
    absl::Status status;
    bool done = false;
  };

  void Work();

  std::mutex mu_;
  std::condition_variable queued_;  // a task was queued, or stopping
  std::condition_variable done_;    // a helper finished a task
  std::deque<Task*> queue_;         // tasks no one has started; a task is taken off to run it
  bool stopping_ = false;
  std::vector<std::thread> helpers_;
};

}  // namespace oriel::promql
