#include "tsdb/postings.h"

#include <algorithm>

#include "base/absl_view.h"

namespace oriel::tsdb {
namespace {

// The entry of `key` in `map`, created if missing; the key is copied only then.
template <typename Map>
typename Map::mapped_type& Entry(Map& map, std::string_view key) {
  auto it = map.find(base::AbslView(key));
  if (it == map.end()) it = map.try_emplace(std::string(key)).first;
  return it->second;
}

}  // namespace

void PostingsIndex::Add(uint32_t id, const model::Labels& labels) {
  for (const model::LabelRef& l : labels) Entry(Entry(postings_, l.name), l.value).Add(id);
  all_.Add(id);
}

void PostingsIndex::AddPosting(const std::string& name, const std::string& value, uint32_t id) {
  postings_[name][value].Add(id);
  all_.Add(id);
}

void PostingsIndex::Remove(uint32_t id, const model::Labels& labels) {
  for (const model::LabelRef& l : labels) {
    auto name_it = postings_.find(base::AbslView(l.name));
    if (name_it == postings_.end()) continue;
    auto value_it = name_it->second.find(base::AbslView(l.value));
    if (value_it == name_it->second.end()) continue;
    value_it->second.Remove(id);
    if (value_it->second.Empty()) name_it->second.erase(value_it);
    if (name_it->second.empty()) postings_.erase(name_it);
  }
  all_.Remove(id);
}

Bitmap PostingsIndex::Union(const model::Matcher& m, bool invert) const {
  Bitmap out;
  auto name_it = postings_.find(m.name());
  if (name_it == postings_.end()) return out;
  const ValueMap& values = name_it->second;
  if (m.type() == model::MatchType::kEqual && !invert) {
    auto it = values.find(m.value());
    if (it != values.end()) out = it->second.Copy();
    return out;
  }
  for (const auto& [value, ids] : values) {
    if (m.Matches(value) != invert) out.Or(ids);
  }
  return out;
}

Bitmap PostingsIndex::Select(std::span<const model::Matcher> matchers) const {
  // Intersect the positive matchers first (they shrink the set fastest), then subtract.
  std::vector<const model::Matcher*> positive, empty_matching;
  for (const model::Matcher& m : matchers) {
    (m.Matches("") ? empty_matching : positive).push_back(&m);
  }
  Bitmap result;
  if (positive.empty()) {
    result = all_.Copy();
  } else {
    result = Union(*positive[0], false);
    for (size_t i = 1; i < positive.size() && !result.Empty(); ++i) {
      result.And(Union(*positive[i], false));
    }
  }
  // A matcher that matches "" keeps the series without the label and those whose value matches:
  // i.e. it removes exactly the series whose value does not match.
  for (const model::Matcher* m : empty_matching) {
    if (result.Empty()) break;
    if (m->type() == model::MatchType::kNotEqual) {
      auto name_it = postings_.find(m->name());
      if (name_it == postings_.end()) continue;
      auto it = name_it->second.find(m->value());
      if (it != name_it->second.end()) result.AndNot(it->second);
      continue;
    }
    result.AndNot(Union(*m, true));
  }
  return result;
}

std::vector<std::string> PostingsIndex::LabelNames() const {
  std::vector<std::string> out;
  out.reserve(postings_.size());
  for (const auto& [name, values] : postings_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PostingsIndex::LabelValues(std::string_view name) const {
  std::vector<std::string> out;
  auto it = postings_.find(std::string(name));
  if (it == postings_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [value, ids] : it->second) out.push_back(value);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace oriel::tsdb
