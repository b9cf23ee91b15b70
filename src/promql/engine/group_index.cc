#include "promql/engine/group_index.h"

#include <algorithm>

namespace oriel::promql {

model::Labels GroupLabels(const model::Labels& metric, const AggregateExpr& a) {
  std::vector<model::LabelRef> out;
  for (const auto& lb : metric) {
    bool listed = std::find(a.grouping.begin(), a.grouping.end(), lb.name) != a.grouping.end();
    if (a.without ? (!listed && lb.name != model::kMetricName) : listed) out.push_back(lb);
  }
  return model::Labels::FromSortedViews(out);
}

size_t GroupIndex::IdOf(const model::Labels& metric) {
  if (const size_t* id = memo_.Find(metric)) return *id;
  model::Labels key = GroupLabels(metric, aggregate_);
  auto [it, inserted] = ids_.try_emplace(key, groups_.size());
  if (inserted) groups_.push_back(std::move(key));
  memo_.Insert(metric, it->second);
  return it->second;
}

size_t GroupIndex::IdOf(const model::Labels& metric, size_t position) {
  if (position < by_position_.size() && by_position_[position].first.SharesBufferWith(metric)) {
    return by_position_[position].second;
  }
  const size_t id = IdOf(metric);
  if (position >= by_position_.size()) by_position_.resize(position + 1);
  by_position_[position] = {metric, id};
  return id;
}

}  // namespace oriel::promql
