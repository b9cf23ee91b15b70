// Range-query evaluation by table: an expression's values at every step of a range query
// computed in one pass per input series, instead of one evaluation of the whole expression per
// step. Per step, the step-by-step evaluation walks every series' samples again, looks up every
// series' group and builds a vector; here each series' samples are walked once for all steps,
// its group is looked up once, and the work is split over two threads.
//
// Results are the same as the step-by-step evaluation's, bit for bit: each (group, step) sums its
// series in the order that evaluation adds them (input order), whatever the split, so a query
// gives the same floats on every run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/labels.h"
#include "promql/engine/engine.h"
#include "promql/engine/window_func.h"
#include "promql/engine/worker_pool.h"
#include "promql/parser/ast.h"

namespace oriel::promql {

// The values of one expression at every step of a range query, series-major: series i at step
// j is values[i * steps + j] when present[i * steps + j].
struct StepTable {
  size_t steps = 0;
  std::vector<model::Labels> metrics;
  bool drop_name = false;  // the same for every series of a table
  std::vector<double> values;
  std::vector<uint8_t> present;
  // Where series i stands at step j in the vector the step-by-step evaluation gives (a step's
  // series sort by it); empty: in series order.
  std::vector<uint32_t> rank;
  // By step: the samples in the step's range-vector windows (what max_samples limits).
  std::vector<int64_t> samples;

  size_t size() const { return metrics.size(); }
};

// The input of a table: series i over steps [a, b).
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual size_t size() const = 0;
  virtual const model::Labels& metric(size_t i) const = 0;
  virtual bool drop_name() const = 0;
  // Fills values, present and rank (b - a entries each) for series i over steps [a, b) and adds
  // the samples of its windows to samples[j - a]. Thread-safe.
  virtual void Row(size_t i, size_t a, size_t b, double* values, uint8_t* present, uint32_t* rank,
                   int64_t* samples) const = 0;
  // Samples by step that Row does not count (those counted when a table input was built).
  virtual const std::vector<int64_t>* counted_samples() const { return nullptr; }
};

// A window function over the samples of a range selector's series: step j's window of series i
// is (ref_j - range, ref_j] with ref_j = first_ref + j * step. Ranks are series order, counted
// from `first_rank` (a block of a selector's series streamed block by block ranks its series
// after those of the blocks before it).
class WindowSource final : public RowSource {
 public:
  WindowSource(WindowFunc f, std::vector<model::Labels> metrics,
               std::vector<std::span<const FloatPoint>> floats, int64_t first_ref, int64_t step,
               int64_t range, bool drop_name, uint32_t first_rank = 0);
  size_t size() const override { return metrics_.size(); }
  const model::Labels& metric(size_t i) const override { return metrics_[i]; }
  bool drop_name() const override { return drop_name_; }
  void Row(size_t i, size_t a, size_t b, double* values, uint8_t* present, uint32_t* rank,
           int64_t* samples) const override;

 private:
  WindowFunc f_;
  std::vector<model::Labels> metrics_;
  std::vector<std::span<const FloatPoint>> floats_;
  int64_t first_ref_;
  int64_t step_;
  int64_t range_;
  bool drop_name_;
  uint32_t first_rank_;
};

// A computed table as input.
class TableSource final : public RowSource {
 public:
  explicit TableSource(const StepTable& t) : t_(t) {}
  size_t size() const override { return t_.size(); }
  const model::Labels& metric(size_t i) const override { return t_.metrics[i]; }
  bool drop_name() const override { return t_.drop_name; }
  void Row(size_t i, size_t a, size_t b, double* values, uint8_t* present, uint32_t* rank,
           int64_t* samples) const override;
  const std::vector<int64_t>* counted_samples() const override { return &t_.samples; }

 private:
  const StepTable& t_;
};

// Appends every row of `in` to `t` (series split over threads), so that a table can be built
// from the blocks of a streamed selector one after the other. REQUIRES: t->steps and
// t->samples.size() are the steps of `in`'s rows, and t->drop_name is in.drop_name().
[[nodiscard]] absl::Status AppendRows(const WindowSource& in, absl::Time deadline, WorkerPool& pool,
                                      StepTable* t);

// Whether AggregateAccumulator computes `op`.
bool IsTableAggregate(AggregateOp op);

// The table builders' timeout check: an error once `deadline` has passed.
absl::Status CheckTableDeadline(absl::Time deadline);

// sum, avg, count, group, min, max, stddev or stdvar by group of the series of one or more
// RowSources added in turn (the blocks of a streamed selector), as a table of (group, step)
// cells: each cell adds its series in the order they were added, whatever the blocks, so the
// result is the same as that of one RowSource of all of them. Not thread-safe; Add splits its
// work over the pool's threads.
class AggregateAccumulator {
 public:
  AggregateAccumulator(AggregateOp op, size_t steps);

  // Adds the series of `in`: series i goes to group group_of[i] (< num_groups; groups are
  // numbered from 0 across every Add, and num_groups never shrinks). REQUIRES: `in` ranks its
  // series in series order, after those added before (a WindowSource), so that a group adds its
  // series in the order the step-by-step evaluation does. Steps are split over threads.
  [[nodiscard]] absl::Status Add(const RowSource& in, std::span<const uint32_t> group_of,
                                 size_t num_groups, absl::Time deadline, WorkerPool& pool);
  // The table, with groups[g] the labels of group g. REQUIRES: groups.size() is the largest
  // num_groups given to Add. The accumulator is spent afterwards.
  StepTable Finish(std::vector<model::Labels> groups);

 private:
  AggregateOp op_;
  size_t steps_;
  size_t groups_ = 0;
  bool drop_name_ = false;  // of the sources added (the same for each)
  // Per (group, step), group-major: aggregate.cc's Group state.
  std::vector<double> value_, comp_, mean_;
  std::vector<int64_t> count_;
  std::vector<uint8_t> special_;
  std::vector<uint32_t> rank_;
  std::vector<int64_t> samples_;  // by step
};

inline constexpr uint32_t kNoGroup = static_cast<uint32_t>(-1);

// Whether SelectTable computes `op`.
bool IsSelectAggregate(AggregateOp op);

// topk, bottomk or limitk(k, in) by group at every step (select_table.cc): the table has the
// series of `in`, each present at the steps where it is among the k its group keeps, ranked as
// in the vector the step-by-step evaluation gives (groups in the order of their first series,
// each group's series best first, ties and NaN as aggregate.cc orders them). Series i of `in`
// goes to group group_of[i]. `in` may rank its series in any order. Steps are split over threads.
[[nodiscard]] absl::StatusOr<StepTable> SelectTable(const RowSource& in, size_t steps,
                                                    AggregateOp op, int64_t k,
                                                    std::span<const uint32_t> group_of,
                                                    absl::Time deadline, WorkerPool& pool);

struct HistogramQuantileTable {
  StepTable table;
  bool forced_monotonic = false;  // some step's buckets had to be made monotonic
  // By input series: present at some step while in no group (a missing or malformed `le`).
  std::vector<uint8_t> ungrouped_seen;
};

// histogram_quantile(q, in) at every step: series i of `in` is a bucket of histogram group_of[i]
// (kNoGroup: not a bucket) with upper bound upper[i]. Steps are split over threads.
[[nodiscard]] absl::StatusOr<HistogramQuantileTable> BuildHistogramQuantileTable(
    const RowSource& in, size_t steps, double q, std::span<const uint32_t> group_of,
    std::span<const double> upper, std::vector<model::Labels> groups, absl::Time deadline,
    WorkerPool& pool);

}  // namespace oriel::promql
