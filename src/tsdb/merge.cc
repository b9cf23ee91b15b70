#include "tsdb/merge.h"

#include "base/check.h"

namespace oriel::tsdb {

MergeIterator::MergeIterator(std::vector<std::unique_ptr<SampleIterator>> its)
    : its_(std::move(its)), cur_(its_.size(), ValueType::kNone) {}

SampleIterator::ValueType MergeIterator::Pick() {
  current_ = -1;
  for (size_t i = 0; i < its_.size(); ++i) {
    if (cur_[i] == ValueType::kNone) continue;
    if (current_ < 0 || its_[i]->AtTime() < its_[current_]->AtTime()) {
      current_ = static_cast<int>(i);
    }
  }
  return current_ < 0 ? ValueType::kNone : cur_[current_];
}

SampleIterator::ValueType MergeIterator::Next() {
  if (!started_) {
    started_ = true;
    for (size_t i = 0; i < its_.size(); ++i) cur_[i] = its_[i]->Next();
    return Pick();
  }
  if (current_ < 0) return ValueType::kNone;
  int64_t t = its_[current_]->AtTime();
  // Every source at the current timestamp moves on, so a duplicate is returned once.
  for (size_t i = 0; i < its_.size(); ++i) {
    if (cur_[i] != ValueType::kNone && its_[i]->AtTime() == t) cur_[i] = its_[i]->Next();
  }
  return Pick();
}

SampleIterator::ValueType MergeIterator::Seek(int64_t t) {
  if (started_ && current_ >= 0 && its_[current_]->AtTime() >= t) return cur_[current_];
  if (started_ && current_ < 0) return ValueType::kNone;
  for (size_t i = 0; i < its_.size(); ++i) {
    if (!started_ || cur_[i] != ValueType::kNone) cur_[i] = its_[i]->Seek(t);
  }
  started_ = true;
  return Pick();
}

int64_t MergeIterator::AtTime() const {
  ORIEL_CHECK(current_ >= 0);
  return its_[current_]->AtTime();
}

double MergeIterator::AtFloat() const {
  ORIEL_CHECK(current_ >= 0);
  return its_[current_]->AtFloat();
}

const model::HistogramSample& MergeIterator::AtHistogram() const {
  ORIEL_CHECK(current_ >= 0);
  return its_[current_]->AtHistogram();
}

MergeSeriesSet::MergeSeriesSet(std::vector<std::unique_ptr<SeriesSet>> sets)
    : sets_(std::move(sets)), has_(sets_.size(), false) {}

bool MergeSeriesSet::Next() {
  if (!started_) {
    started_ = true;
    for (size_t i = 0; i < sets_.size(); ++i) has_[i] = sets_[i]->Next();
  } else {
    for (size_t i : at_) has_[i] = sets_[i]->Next();
  }
  at_.clear();
  // Stop at the first failure: a source that stopped early would silently lose series.
  if (!status().ok()) return false;
  const model::Labels* min = nullptr;
  for (size_t i = 0; i < sets_.size(); ++i) {
    if (has_[i] && (min == nullptr || sets_[i]->labels() < *min)) min = &sets_[i]->labels();
  }
  if (min == nullptr) return false;
  for (size_t i = 0; i < sets_.size(); ++i) {
    if (has_[i] && sets_[i]->labels() == *min) at_.push_back(i);
  }
  labels_ = *min;
  return true;
}

const model::Labels& MergeSeriesSet::labels() const {
  ORIEL_CHECK(!at_.empty());
  return labels_;
}

std::unique_ptr<SampleIterator> MergeSeriesSet::Samples() const {
  ORIEL_CHECK(!at_.empty());
  if (at_.size() == 1) return sets_[at_[0]]->Samples();
  std::vector<std::unique_ptr<SampleIterator>> its;
  for (size_t i : at_) its.push_back(sets_[i]->Samples());
  return std::make_unique<MergeIterator>(std::move(its));
}

absl::Status MergeSeriesSet::status() const {
  for (const auto& s : sets_) {
    if (absl::Status st = s->status(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace oriel::tsdb
