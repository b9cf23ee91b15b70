#include "tsdb/page_cache.h"

namespace oriel::tsdb {

uint64_t PageCache::NewOwner() {
  std::lock_guard lock(mu_);
  return next_owner_++;
}

std::shared_ptr<const std::string> PageCache::Get(uint64_t owner, size_t page) {
  std::lock_guard lock(mu_);
  auto it = index_.find(Key{owner, page});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->data;
}

void PageCache::Put(uint64_t owner, size_t page, std::shared_ptr<const std::string> data) {
  const size_t size = data->size();
  if (size > capacity_) return;
  std::lock_guard lock(mu_);
  auto [it, inserted] = index_.try_emplace(Key{owner, page});
  if (!inserted) return;  // another reader decompressed it meanwhile
  lru_.push_front(Entry{owner, page, std::move(data)});
  it->second = lru_.begin();
  bytes_ += size;
  while (bytes_ > capacity_) {
    const Entry& last = lru_.back();
    bytes_ -= last.data->size();
    index_.erase(Key{last.owner, last.page});
    lru_.pop_back();
  }
}

size_t PageCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace oriel::tsdb
