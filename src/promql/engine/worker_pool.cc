#include "promql/engine/worker_pool.h"

#include <algorithm>

namespace oriel::promql {

WorkerPool::WorkerPool(size_t cores) {
  const size_t helpers = std::clamp<size_t>(cores, 1, kMaxParallelParts) - 1;
  for (size_t i = 0; i < helpers; ++i) helpers_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& h : helpers_) h.join();
}

void WorkerPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Task* task = queue_.front();
    queue_.pop_front();
    lock.unlock();
    absl::Status s = (*task->fn)(task->part, task->begin, task->end);
    lock.lock();
    // The caller may return as soon as it sees `done`: the task is not touched after this.
    task->status = std::move(s);
    task->done = true;
    done_.notify_all();
  }
}

absl::Status WorkerPool::ParallelFor(
    size_t n, size_t min_per_thread,
    const std::function<absl::Status(size_t, size_t, size_t)>& fn) {
  size_t parts = std::min(helpers_.size() + 1, kMaxParallelParts);
  parts = std::min(parts, std::max<size_t>(1, n / std::max<size_t>(1, min_per_thread)));
  if (parts <= 1) return fn(0, 0, n);
  const size_t per_part = (n + parts - 1) / parts;
  std::vector<Task> tasks(parts - 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t p = 1; p < parts; ++p) {
      const size_t begin = std::min(n, p * per_part);
      tasks[p - 1] = Task{&fn, p, begin, std::min(n, begin + per_part), absl::OkStatus(), false};
      queue_.push_back(&tasks[p - 1]);
    }
  }
  queued_.notify_all();
  absl::Status first = fn(0, 0, std::min(n, per_part));
  for (Task& task : tasks) {
    std::unique_lock<std::mutex> lock(mu_);
    auto queued = std::find(queue_.begin(), queue_.end(), &task);
    if (queued != queue_.end()) {
      // No helper took it: run it here rather than wait for one.
      queue_.erase(queued);
      lock.unlock();
      task.status = fn(task.part, task.begin, task.end);
    } else {
      done_.wait(lock, [&] { return task.done; });
    }
    if (first.ok()) first = task.status;
  }
  return first;
}

}  // namespace oriel::promql
