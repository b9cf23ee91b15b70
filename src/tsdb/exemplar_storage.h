// Exemplars of the head's series, in one circular buffer shared by all series (as Prometheus
// does): the total is capped, and the oldest exemplar overall is evicted first.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/sample.h"

namespace oriel::tsdb {

// Prometheus' limit on an exemplar's label set: at most this many UTF-8 characters in all
// label names and values together.
inline constexpr size_t kMaxExemplarLabelChars = 128;

// Thread-safe.
class ExemplarStorage {
 public:
  // `capacity` 0 disables exemplar storage (Add drops everything).
  explicit ExemplarStorage(size_t capacity);

  size_t capacity() const { return entries_.size(); }

  // The newest exemplar of series `ref`, if any.
  std::optional<model::Exemplar> Newest(uint32_t ref) const;

  // Stores `e` for series `ref`, evicting the oldest exemplar overall when full. The caller
  // checks order (see DB): exemplars of a series are kept in the order added.
  void Add(uint32_t ref, const model::Exemplar& e);

  // Exemplars of series `ref` with timestamps in [mint, maxt], oldest first.
  std::vector<model::Exemplar> Get(uint32_t ref, int64_t mint, int64_t maxt) const;

  size_t size() const;

 private:
  struct Entry {
    uint32_t ref = 0;
    bool used = false;
    int64_t next = -1;  // the next newer entry of the same series
    model::Exemplar exemplar;
  };
  struct SeriesRange {
    int64_t oldest = -1;
    int64_t newest = -1;
  };

  mutable std::mutex mu_;  // guards everything below
  std::vector<Entry> entries_;
  size_t next_slot_ = 0;
  size_t size_ = 0;
  absl::flat_hash_map<uint32_t, SeriesRange> series_;
};

// Counts UTF-8 characters (not bytes) of every label name and value of `labels`.
size_t ExemplarLabelChars(const model::Labels& labels);

}  // namespace oriel::tsdb
