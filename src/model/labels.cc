#include "model/labels.h"

#include <xxhash.h>

#include <algorithm>

namespace oriel::model {
namespace {

void SortAndDedupe(std::vector<Label>& items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  // Keep the last of equal names, then drop empty values.
  std::vector<Label> out;
  out.reserve(items.size());
  for (auto& l : items) {
    if (!out.empty() && out.back().name == l.name) {
      out.back().value = std::move(l.value);
    } else {
      out.push_back(std::move(l));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  items = std::move(out);
}

void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

Labels Labels::FromUnsorted(std::vector<Label> labels) {
  SortAndDedupe(labels);
  Labels out;
  if (!labels.empty()) out.rep_ = std::make_shared<const Rep>(std::move(labels));
  return out;
}

Labels Labels::FromSorted(std::vector<Label> labels) {
  Labels out;
  if (!labels.empty()) out.rep_ = std::make_shared<const Rep>(std::move(labels));
  return out;
}

const std::vector<Label>& Labels::Empty() {
  static const std::vector<Label> kEmpty;
  return kEmpty;
}

std::string_view Labels::Get(std::string_view name) const {
  const std::vector<Label>& items = this->items();
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != items.end() && it->name == name) return it->value;
  return {};
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

uint64_t Labels::Hash() const {
  if (rep_ == nullptr) return ComputeHash(Empty());
  uint64_t h = rep_->hash.load(std::memory_order_relaxed);
  if (h != kHashUnknown) return h;
  h = ComputeHash(rep_->items);
  rep_->hash.store(h, std::memory_order_relaxed);
  return h;
}

uint64_t Labels::ComputeHash(const std::vector<Label>& items) {
  // Names and values separated by a byte that cannot occur in UTF-8 text. One-shot XXH3 over
  // the concatenation gives the same value as streaming it, without allocating a hash state
  // per call (this runs for every series of every write).
  static constexpr char kSep = '\xff';
  thread_local std::string buf;
  buf.clear();
  for (const Label& l : items) {
    buf.append(l.name);
    buf.push_back(kSep);
    buf.append(l.value);
    buf.push_back(kSep);
  }
  uint64_t h = XXH3_64bits(buf.data(), buf.size());
  // A rare huge label set must not pin its buffer for the thread's lifetime.
  if (buf.capacity() > 64 * 1024) std::string().swap(buf);
  return h;
}

std::string Labels::ToString() const {
  std::string out(MetricName());
  out.push_back('{');
  bool first = true;
  for (const Label& l : items()) {
    if (l.name == kMetricName) continue;
    if (!first) out.append(", ");
    first = false;
    out.append(l.name);
    out.append("=\"");
    AppendEscaped(out, l.value);
    out.push_back('"');
  }
  out.push_back('}');
  if (!out.empty() && out.size() > 2 && out.ends_with("{}") && !MetricName().empty()) {
    out.resize(out.size() - 2);
  }
  return out;
}

LabelsBuilder::LabelsBuilder(const Labels& base) : items_(base.items()) {}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  for (Label& l : items_) {
    if (l.name == name) {
      l.value = std::string(value);
      return *this;
    }
  }
  items_.push_back({std::string(name), std::string(value)});
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) { return Set(name, ""); }

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (const Label& l : items_) {
    if (l.name == name) return l.value;
  }
  return {};
}

Labels LabelsBuilder::Build() const { return Labels::FromUnsorted(items_); }

bool IsValidLegacyMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsValidLegacyLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace oriel::model
