// A per-query memo of what is derived from a series' label set (its aggregation group, its output
// series), keyed by the identity of the label set rather than its contents.
//
// Why identity: evaluation hands the same model::Labels (one shared, immutable buffer) around at
// every step of a range query, so a pointer lookup replaces hashing and comparing label strings
// per series and step. Equal label sets with separate storage just miss the memo and derive the
// same value again. The memo keeps a copy of each key, so that the key's storage cannot be freed
// and reused by another label set while cached.
#pragma once

#include <cstddef>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "model/labels.h"

namespace oriel::promql {

template <typename V>
class LabelsMemo {
 public:
  // Past `max_entries` the memo starts over (label sets built anew at every step, e.g. by
  // label_replace, would otherwise pin all of them in memory).
  explicit LabelsMemo(size_t max_entries = size_t{1} << 17) : max_entries_(max_entries) {}

  // The value stored for `labels`, or null.
  const V* Find(const model::Labels& labels) const {
    auto it = map_.find(labels.BufferAddress());
    return it == map_.end() ? nullptr : &it->second.second;
  }

  void Insert(const model::Labels& labels, V value) {
    if (map_.size() >= max_entries_) map_.clear();
    map_.insert_or_assign(labels.BufferAddress(),
                          std::pair<model::Labels, V>(labels, std::move(value)));
  }

  size_t size() const { return map_.size(); }

 private:
  size_t max_entries_;
  absl::flat_hash_map<const void*, std::pair<model::Labels, V>> map_;
};

}  // namespace oriel::promql
