#include "model/labels.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "base/check.h"

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

// Labels::Hash of a range of LabelRef: the set's or a decoder's views of one.
template <typename Range>
uint64_t HashLabels(const Range& labels) {
  // Names and values separated by a byte that cannot occur in UTF-8 text. One-shot XXH3 over
  // the concatenation gives the same value as streaming it, without allocating a hash state
  // per call (this runs for every new series of every write).
  static constexpr char kSep = '\xff';
  thread_local std::string buf;
  buf.clear();
  for (const LabelRef& l : labels) {
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

}  // namespace

Labels Labels::FromUnsorted(std::vector<Label> labels) {
  SortAndDedupe(labels);
  return FromSorted(labels);
}

Labels Labels::FromSorted(const std::vector<Label>& labels) {
  std::vector<LabelRef> views;
  views.reserve(labels.size());
  for (const Label& l : labels) views.push_back({l.name, l.value});
  return FromSortedViews(views);
}

Labels Labels::FromSortedViews(std::span<const LabelRef> labels) {
  Labels out;
  if (labels.empty()) return out;
  size_t text_bytes = 0;
  for (const LabelRef& l : labels) text_bytes += l.name.size() + l.value.size();
  ORIEL_CHECK(labels.size() < (size_t{1} << 30) && text_bytes <= UINT32_MAX);
  // The narrowest offsets that can hold the text's length: u8 saves a 1M-series head 20-30 MB
  // over u16 (its sets have 5-8 labels in 100-200 bytes).
  const uint32_t width_log2 = text_bytes <= UINT8_MAX ? 0 : text_bytes <= UINT16_MAX ? 1 : 2;
  const size_t offset_bytes = 2 * labels.size() << width_log2;
  char* mem = static_cast<char*>(::operator new(kHeaderBytes + offset_bytes + text_bytes));
  Rep* rep = new (mem) Rep;
  rep->refs.store(1, std::memory_order_relaxed);
  rep->slot.store(kNoIndexSlot, std::memory_order_relaxed);
  rep->hash.store(kHashUnknown, std::memory_order_relaxed);
  rep->count_and_width = static_cast<uint32_t>(labels.size() << 2 | width_log2);
  char* offsets = mem + kHeaderBytes;
  char* text = offsets + offset_bytes;
  size_t end = 0;
  size_t f = 0;
  auto put = [&](std::string_view s) {
    if (!s.empty()) std::memcpy(text + end, s.data(), s.size());
    end += s.size();
    switch (width_log2) {
      case 0:
        reinterpret_cast<uint8_t*>(offsets)[f++] = static_cast<uint8_t>(end);
        break;
      case 1:
        reinterpret_cast<uint16_t*>(offsets)[f++] = static_cast<uint16_t>(end);
        break;
      default:
        reinterpret_cast<uint32_t*>(offsets)[f++] = static_cast<uint32_t>(end);
    }
  };
  for (const LabelRef& l : labels) {
    put(l.name);
    put(l.value);
  }
  out.rep_ = rep;
  return out;
}

size_t Labels::Rep::PayloadBytes() const { return 2 * count() * offset_bytes() + TextBytes(); }

size_t Labels::Rep::AllocationBytes() const { return kHeaderBytes + PayloadBytes(); }

void Labels::Free(Rep* r) {
  r->~Rep();
  ::operator delete(static_cast<void*>(r));
}

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(begin(), end(), name,
                             [](const LabelRef& l, std::string_view n) { return l.name < n; });
  if (it != end() && it->name == name) return it->value;
  return {};
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

uint64_t Labels::Hash() const {
  if (rep_ == nullptr) return ComputeHash(*this);
  uint64_t h = rep_->hash.load(std::memory_order_relaxed);
  if (h != kHashUnknown) return h;
  h = ComputeHash(*this);
  rep_->hash.store(h, std::memory_order_relaxed);
  return h;
}

uint64_t Labels::ComputeHash(const Labels& labels) { return HashLabels(labels); }

uint64_t Labels::HashOf(std::span<const LabelRef> labels) { return HashLabels(labels); }

bool Labels::Equals(std::span<const LabelRef> labels) const {
  if (size() != labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if ((*this)[i] != labels[i]) return false;
  }
  return true;
}

bool Labels::operator==(const Labels& o) const {
  if (rep_ == o.rep_) return true;
  if (rep_ == nullptr || o.rep_ == nullptr) return false;
  // Equal sets have the same offsets and text byte for byte (the offset width follows from the
  // text's length), so one comparison of the payloads decides.
  if (rep_->count_and_width != o.rep_->count_and_width) return false;
  size_t n = rep_->PayloadBytes();
  return n == o.rep_->PayloadBytes() &&
         std::memcmp(reinterpret_cast<const char*>(rep_) + kHeaderBytes,
                     reinterpret_cast<const char*>(o.rep_) + kHeaderBytes, n) == 0;
}

std::strong_ordering Labels::operator<=>(const Labels& o) const {
  if (rep_ == o.rep_) return std::strong_ordering::equal;
  return std::lexicographical_compare_three_way(begin(), end(), o.begin(), o.end());
}

std::string Labels::ToString() const {
  std::string out(MetricName());
  out.push_back('{');
  bool first = true;
  for (const LabelRef& l : *this) {
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

LabelsBuilder::LabelsBuilder(const Labels& base) {
  items_.reserve(base.size());
  for (const LabelRef& l : base) items_.push_back({std::string(l.name), std::string(l.value)});
}

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
