#include "ingest/remote_write/series_labels_cache.h"

#include <xxhash.h>

namespace oriel::ingest {
namespace {

bool SameLabels(const model::Labels& cached, std::span<const LabelView> labels) {
  if (cached.size() != labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    model::LabelRef l = cached[i];
    if (l.name != labels[i].name || l.value != labels[i].value) return false;
  }
  return true;
}

}  // namespace

uint64_t ChainSeriesKey(uint64_t key, std::string_view label_message) {
  return XXH3_64bits_withSeed(label_message.data(), label_message.size(), key);
}

SeriesLabelsCache::SeriesLabelsCache(size_t generation_capacity)
    : generation_capacity_(generation_capacity) {}

SeriesLabelsCache::Hit SeriesLabelsCache::Find(uint64_t key,
                                               std::span<const LabelView> labels) const {
  if (auto it = current_.find(key); it != current_.end()) {
    if (SameLabels(it->second, labels)) return {&it->second, false};
    return {};
  }
  if (auto it = previous_.find(key); it != previous_.end() && SameLabels(it->second, labels)) {
    return {&it->second, true};
  }
  return {};
}

void SeriesLabelsCache::Insert(Entries entries) {
  if (entries.empty() || generation_capacity_ == 0) return;
  std::lock_guard lock(mu_);
  for (auto& [key, labels] : entries) {
    if (current_.size() >= generation_capacity_) {
      previous_ = std::move(current_);
      current_ = Map();
    }
    current_.insert_or_assign(key, std::move(labels));
  }
}

size_t SeriesLabelsCache::size() const {
  std::shared_lock lock(mu_);
  return current_.size() + previous_.size();
}

}  // namespace oriel::ingest
