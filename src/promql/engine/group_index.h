// The groups of one aggregation call site (`sum by (job) (...)`) over a whole query: each input
// label set is mapped to a dense group id once, so that later steps find their group without
// building and hashing the group's label set again.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/labels.h"
#include "promql/engine/labels_memo.h"
#include "promql/parser/ast.h"

namespace oriel::promql {

// The labels an aggregation keeps of `metric` (its by/without clause).
model::Labels GroupLabels(const model::Labels& metric, const AggregateExpr& a);

class GroupIndex {
 public:
  explicit GroupIndex(const AggregateExpr& a) : aggregate_(a) {}

  // The id of the group `metric` falls into: dense, stable for the query.
  size_t IdOf(const model::Labels& metric);
  // The same for the input series at `position` of a step: a range query hands the same series
  // in the same order at every step, so this compares one pointer before any lookup.
  size_t IdOf(const model::Labels& metric, size_t position);
  // The labels of group `id`.
  const model::Labels& Labels(size_t id) const { return groups_[id]; }
  size_t size() const { return groups_.size(); }

 private:
  struct Hash {
    size_t operator()(const model::Labels& l) const { return static_cast<size_t>(l.Hash()); }
  };

  const AggregateExpr& aggregate_;
  LabelsMemo<size_t> memo_;
  absl::flat_hash_map<model::Labels, size_t, Hash> ids_;
  std::vector<model::Labels> groups_;
  // The label set (kept alive, so that its identity is not reused) and group id seen last at
  // each input position.
  std::vector<std::pair<model::Labels, size_t>> by_position_;
};

}  // namespace oriel::promql
