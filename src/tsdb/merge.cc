#include "tsdb/merge.h"

#include <algorithm>

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

void MergeIterator::AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                                 std::vector<int64_t>* histogram_times) {
  const size_t begin = out->size();
  // Histogram times are needed to merge even when the caller skips them: a histogram of an
  // earlier source hides a float of a later one at the same timestamp.
  std::vector<int64_t> times;
  std::vector<size_t> ends, time_ends;
  ends.reserve(its_.size());
  time_ends.reserve(its_.size());
  for (auto& it : its_) {
    it->AppendFloats(mint, maxt, out, &times);
    ends.push_back(out->size());
    time_ends.push_back(times.size());
  }
  if (times.empty()) {
    bool ordered = true;
    bool seen = false;
    int64_t last = 0;
    size_t run = begin;
    for (size_t end : ends) {
      if (end > run) {
        if (seen && (*out)[run].timestamp_ms <= last) {
          ordered = false;
          break;
        }
        last = (*out)[end - 1].timestamp_ms;
        seen = true;
      }
      run = end;
    }
    if (ordered) return;
  }
  // Overlapping sources (out-of-order blocks, or the head and a block after a crash): sorted by
  // time, stably so that at one timestamp the lowest source comes first and wins.
  struct Entry {
    int64_t t;
    double v;
    bool histogram;
  };
  std::vector<Entry> entries;
  entries.reserve(out->size() - begin + times.size());
  size_t run = begin, time_run = 0;
  for (size_t i = 0; i < its_.size(); ++i) {
    for (size_t j = run; j < ends[i]; ++j) {
      entries.push_back({(*out)[j].timestamp_ms, (*out)[j].value, false});
    }
    for (size_t j = time_run; j < time_ends[i]; ++j) entries.push_back({times[j], 0, true});
    run = ends[i];
    time_run = time_ends[i];
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.t < b.t; });
  out->resize(begin);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].t == entries[i - 1].t) continue;
    if (!entries[i].histogram) {
      out->push_back({entries[i].t, entries[i].v});
    } else if (histogram_times != nullptr) {
      histogram_times->push_back(entries[i].t);
    }
  }
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
