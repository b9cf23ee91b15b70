// Merging reads over several sources (blocks and the head): series with equal labels become one
// series whose samples are the sorted union of the sources' samples, identical timestamps kept
// once (the earliest source in the list wins).
#pragma once

#include <memory>
#include <vector>

#include "tsdb/metrics_store.h"

namespace oriel::tsdb {

// Iterates the union of `its` in time order; at a timestamp present in several, the sample of
// the lowest index wins.
class MergeIterator final : public SampleIterator {
 public:
  explicit MergeIterator(std::vector<std::unique_ptr<SampleIterator>> its);

  ValueType Next() override;
  ValueType Seek(int64_t t) override;
  int64_t AtTime() const override;
  double AtFloat() const override;
  const model::HistogramSample& AtHistogram() const override;
  // Each source appends its run in turn; when the runs follow each other in time (consecutive
  // blocks, then the head) that is the union already, else they are merged.
  void AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                    std::vector<int64_t>* histogram_times) override;

 private:
  ValueType Pick();

  std::vector<std::unique_ptr<SampleIterator>> its_;
  std::vector<ValueType> cur_;
  bool started_ = false;
  int current_ = -1;
};

// Merges series sets (each in label order) into one in label order. status() is the first
// non-OK status of the inputs.
class MergeSeriesSet final : public SeriesSet {
 public:
  explicit MergeSeriesSet(std::vector<std::unique_ptr<SeriesSet>> sets);

  bool Next() override;
  const model::Labels& labels() const override;
  std::unique_ptr<SampleIterator> Samples() const override;
  absl::Status status() const override;

 private:
  std::vector<std::unique_ptr<SeriesSet>> sets_;
  std::vector<bool> has_;   // whether sets_[i] is positioned on a series
  std::vector<size_t> at_;  // the sets positioned on the current series
  bool started_ = false;
  model::Labels labels_;
};

}  // namespace oriel::tsdb
