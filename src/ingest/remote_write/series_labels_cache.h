// Remembers the label sets of the series remote_write senders send again every scrape, keyed by
// a hash of their wire bytes, so that a known series costs a lookup and a comparison instead of
// building (allocating) its labels anew. The label set handed out is the very one the engine
// already holds for the series, so the engine's own lookup then compares pointers, not strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/labels.h"

namespace oriel::ingest {

// A label as it lies in the request: views into the decoded body.
using LabelView = model::LabelRef;

// Two generations of at most `generation_capacity` entries each: a full current generation
// becomes the previous one (the older previous one is dropped), and a hit in the previous one is
// copied forward. So the series seen lately stay and series that stopped coming are forgotten
// after two generations, bounding the memory (and the label sets it keeps alive) without a
// per-entry recency list. Thread-safe: lookups share a lock, insertions take it exclusively.
class SeriesLabelsCache {
 public:
  explicit SeriesLabelsCache(size_t generation_capacity);

  struct Hit {
    const model::Labels* labels = nullptr;  // null on a miss
    bool from_previous = false;             // insert it again to keep it
  };

  // Holds the lookup lock for one request's worth of Find calls.
  std::shared_lock<std::shared_mutex> LockForLookups() const {
    return std::shared_lock<std::shared_mutex>(mu_);
  }

  // The cached set under `key` if it is exactly `labels` (names and values, in order); a key
  // collision or a set with empty values (which label sets drop) is a miss.
  // REQUIRES: the lock from LockForLookups held. The pointer is valid while it is.
  Hit Find(uint64_t key, std::span<const LabelView> labels) const;

  // Asks the CPU to load the slot of `key`, for a Find soon after.
  // REQUIRES: the lock from LockForLookups held.
  void Prefetch(uint64_t key) const { current_.prefetch(key); }

  // Cache keys and their label sets.
  using Entries = std::vector<std::pair<uint64_t, model::Labels>>;

  // Adds (or replaces) entries. Takes the lock exclusively: call without LockForLookups held.
  void Insert(Entries entries);

  size_t size() const;

 private:
  using Map = absl::flat_hash_map<uint64_t, model::Labels>;

  const size_t generation_capacity_;
  mutable std::shared_mutex mu_;  // guards current_ and previous_
  Map current_;
  Map previous_;
};

// The cache key of a series: its label fields' wire bytes, each chained into the hash in order.
inline constexpr uint64_t kSeriesKeySeed = 0;
uint64_t ChainSeriesKey(uint64_t key, std::string_view label_message);

}  // namespace oriel::ingest
