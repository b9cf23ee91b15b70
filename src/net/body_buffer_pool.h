// Response body buffers kept for reuse: a multi-megabyte answer (a PromQL range query's JSON)
// otherwise page-faults in a fresh allocation per request, since the allocator hands large
// blocks back to the kernel as soon as they are freed.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace oriel::net {

// A bounded stack of empty strings with their capacity. Thread-safe.
class BodyBufferPool {
 public:
  // Buffers below this capacity are not worth keeping (the allocator reuses them cheaply).
  static constexpr size_t kMinKeptBytes = 256 << 10;

  // Keeps at most `max_buffers` buffers of at most `max_total_bytes` capacity together.
  BodyBufferPool(size_t max_buffers, size_t max_total_bytes)
      : max_buffers_(max_buffers), max_total_bytes_(max_total_bytes) {}

  // An empty string, with the capacity of the buffer returned last if one is kept.
  std::string Take();
  // Keeps `buffer`'s capacity for a later Take() if it fits the bounds, else frees it.
  void Give(std::string buffer);

  size_t kept_buffers() const;
  size_t kept_bytes() const;

 private:
  const size_t max_buffers_;
  const size_t max_total_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> buffers_;  // most recently given last: its pages are the warmest
  size_t total_bytes_ = 0;
};

}  // namespace oriel::net
