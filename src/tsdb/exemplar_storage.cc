#include "tsdb/exemplar_storage.h"

namespace oriel::tsdb {
namespace {

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<uint8_t>(c) & 0xc0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

}  // namespace

size_t ExemplarLabelChars(const model::Labels& labels) {
  size_t n = 0;
  for (const model::LabelRef& l : labels) n += Utf8Chars(l.name) + Utf8Chars(l.value);
  return n;
}

ExemplarStorage::ExemplarStorage(size_t capacity) : entries_(capacity) {}

std::optional<model::Exemplar> ExemplarStorage::Newest(uint32_t ref) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(ref);
  if (it == series_.end()) return std::nullopt;
  return entries_[it->second.newest].exemplar;
}

void ExemplarStorage::Add(uint32_t ref, const model::Exemplar& e) {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return;
  size_t slot = next_slot_;
  Entry& entry = entries_[slot];
  if (entry.used) {
    // Evict: the overwritten entry is the oldest of its series.
    auto it = series_.find(entry.ref);
    if (entry.next == -1) {
      series_.erase(it);
    } else {
      it->second.oldest = entry.next;
    }
    --size_;
  }
  entry.ref = ref;
  entry.used = true;
  entry.next = -1;
  entry.exemplar = e;
  ++size_;
  auto [it, inserted] = series_.try_emplace(ref);
  if (inserted) {
    it->second.oldest = static_cast<int64_t>(slot);
  } else {
    entries_[it->second.newest].next = static_cast<int64_t>(slot);
  }
  it->second.newest = static_cast<int64_t>(slot);
  next_slot_ = (slot + 1) % entries_.size();
}

std::vector<model::Exemplar> ExemplarStorage::Get(uint32_t ref, int64_t mint, int64_t maxt) const {
  std::lock_guard lock(mu_);
  std::vector<model::Exemplar> out;
  auto it = series_.find(ref);
  if (it == series_.end()) return out;
  for (int64_t i = it->second.oldest; i != -1; i = entries_[i].next) {
    const model::Exemplar& e = entries_[i].exemplar;
    if (e.timestamp_ms >= mint && e.timestamp_ms <= maxt) out.push_back(e);
  }
  return out;
}

size_t ExemplarStorage::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

}  // namespace oriel::tsdb
