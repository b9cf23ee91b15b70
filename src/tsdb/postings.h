// The inverted index of the head: label pair -> ids of the series carrying it, with label
// matcher evaluation as Prometheus does it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "tsdb/bitmap.h"

namespace oriel::tsdb {

// Not thread-safe (the head guards it with its index lock).
class PostingsIndex {
 public:
  // Indexes series `id` under each of its label pairs.
  void Add(uint32_t id, const model::Labels& labels);
  // Removes series `id` (which had `labels`) from the index.
  void Remove(uint32_t id, const model::Labels& labels);
  // Adds series `id` to the postings of one label pair (loading an on-disk index).
  void AddPosting(const std::string& name, const std::string& value, uint32_t id);

  // The series matching every matcher. A matcher that matches the empty string also selects
  // series without its label (Prometheus semantics: an absent label has the value ""). With no
  // matchers, or only such matchers, the candidates are all series.
  Bitmap Select(std::span<const model::Matcher> matchers) const;

  const Bitmap& all() const { return all_; }
  // Sorted label names / values of label `name` over every indexed series.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(std::string_view name) const;

 private:
  // Series with label `m.name()` whose value matches (or, with `invert`, does not match) `m`.
  Bitmap Union(const model::Matcher& m, bool invert) const;

  using ValueMap = absl::flat_hash_map<std::string, Bitmap>;
  absl::flat_hash_map<std::string, ValueMap> postings_;
  Bitmap all_;
};

}  // namespace oriel::tsdb
