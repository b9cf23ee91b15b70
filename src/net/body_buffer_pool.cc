#include "net/body_buffer_pool.h"

#include <utility>

namespace oriel::net {

std::string BodyBufferPool::Take() {
  std::string buffer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffers_.empty()) return buffer;
    buffer = std::move(buffers_.back());
    buffers_.pop_back();
    total_bytes_ -= buffer.capacity();
  }
  return buffer;
}

void BodyBufferPool::Give(std::string buffer) {
  size_t bytes = buffer.capacity();
  if (bytes < kMinKeptBytes || bytes > max_total_bytes_) return;
  buffer.clear();
  std::lock_guard<std::mutex> lock(mu_);
  if (buffers_.size() >= max_buffers_ || total_bytes_ + bytes > max_total_bytes_) return;
  total_bytes_ += bytes;
  buffers_.push_back(std::move(buffer));
}

size_t BodyBufferPool::kept_buffers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffers_.size();
}

size_t BodyBufferPool::kept_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_bytes_;
}

}  // namespace oriel::net
