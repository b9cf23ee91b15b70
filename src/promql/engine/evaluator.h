// The step evaluator behind Engine: evaluates an expression at one timestamp at a time, over
// series it loads once per selector for the whole query. Internal to the engine.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/labels.h"
#include "promql/engine/engine.h"
#include "promql/engine/group_index.h"
#include "promql/engine/kahan.h"
#include "promql/engine/point_slabs.h"
#include "promql/engine/range_table.h"
#include "promql/engine/slab_recycler.h"
#include "promql/parser/ast.h"
#include "tsdb/metrics_store.h"

namespace oriel::promql {

// A sample while evaluating: `drop_name` marks a __name__ that is removed only at the end
// (Prometheus 3's delayed name removal), so that label_replace and by(__name__) still see it.
struct EvalSample {
  model::Labels metric;
  double f = 0;
  int64_t t = 0;  // the sample's own timestamp for raw selectors, else the evaluation time
  bool drop_name = false;
};
using EvalVector = std::vector<EvalSample>;

struct LabelsHash {
  size_t operator()(const model::Labels& l) const { return static_cast<size_t>(l.Hash()); }
};

// A series of a range vector. Matrix selectors hand out their windows as views into the samples
// loaded once per query (so a range query costs no copy per series and step); series built on
// the fly (subqueries, edge-interpolated windows) keep their samples in `owned`.
class EvalSeries {
 public:
  EvalSeries() = default;
  // A view into samples that outlive the evaluation (the evaluator's loaded selections).
  EvalSeries(model::Labels metric, std::span<const FloatPoint> view, bool drop_name)
      : metric(std::move(metric)), drop_name(drop_name), points_(view) {}
  // Owning its samples.
  EvalSeries(model::Labels metric, std::vector<FloatPoint> owned, bool drop_name)
      : metric(std::move(metric)),
        drop_name(drop_name),
        owned_(std::move(owned)),
        points_(owned_) {}
  EvalSeries(const EvalSeries& o) { *this = o; }
  EvalSeries(EvalSeries&& o) noexcept { *this = std::move(o); }
  EvalSeries& operator=(const EvalSeries& o);
  EvalSeries& operator=(EvalSeries&& o) noexcept;

  std::span<const FloatPoint> points() const { return points_; }
  // Appends to an owning series. REQUIRES: not a view.
  void Append(FloatPoint p) {
    owned_.push_back(p);
    points_ = owned_;
  }
  // The samples as a vector (copied from a view, moved out of an owning series).
  std::vector<FloatPoint> TakePoints();

  model::Labels metric;
  bool drop_name = false;

 private:
  bool owning() const { return points_.data() == owned_.data(); }

  std::vector<FloatPoint> owned_;
  std::span<const FloatPoint> points_;
};
using EvalMatrix = std::vector<EvalSeries>;

struct Value {
  ValueType type = ValueType::kNone;
  double scalar = 0;
  std::string str;
  EvalVector vec;
  EvalMatrix mat;
};

// The error of a query that would hold more than EngineOptions::max_samples samples at once
// (Prometheus' wording).
absl::Status TooManySamplesError();

class Evaluator {
 public:
  // `pool` splits table work and sample decoding over the cores; `recycler` lends the slabs
  // for decoded samples. Both must outlive the evaluator.
  Evaluator(tsdb::MetricsReader& reader, const EngineOptions& options, int64_t start_ms,
            int64_t end_ms, int64_t step_ms, int64_t lookback_ms, absl::Time deadline,
            WorkerPool& pool, SlabRecycler& recycler);

  // Computes the time span each selector needs; call once before Eval.
  void Prepare(const Expr& root);
  [[nodiscard]] absl::StatusOr<Value> Eval(const Expr& e, int64_t ts);

  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  // Adds an annotation once; `pos` (when the query text is known) appends " (line:col)".
  void Warn(std::string msg, const PosRange* pos = nullptr);
  void Info(std::string msg, const PosRange* pos = nullptr);
  // The query text, for annotation positions ("" when evaluating a rewritten expression).
  std::string query_text;

  // Resets the per-step sample count (max_samples applies to one step of the top level).
  void BeginStep() { samples_in_step_ = 0; }
  [[nodiscard]] absl::Status CheckDeadline() const;
  int64_t start_ms() const { return start_; }
  int64_t end_ms() const { return end_; }
  int64_t step_ms() const { return step_; }
  // The groups of aggregation `a`, kept for the whole query.
  GroupIndex& Groups(const AggregateExpr& a);

  // The values of `e` at every step of this range query, when `e` is computed by table
  // (range_table.h): a window function of a plain range selector, a sum/avg/count/group/min/max/
  // stddev/stdvar of one, or histogram_quantile of a literal and either of those. Null when `e` is
  // not of such a form or this is not a range query; decided and built once per node.
  [[nodiscard]] absl::StatusOr<const StepTable*> Table(const Expr& e);
  // Step `ts` (one of the query's steps) of table `t` as the vector the step-by-step evaluation
  // gives, counting its samples against max_samples.
  [[nodiscard]] absl::StatusOr<Value> TableRow(const StepTable& t, int64_t ts);

 private:
  struct Loaded {
    model::Labels metric;
    // As stored, stale markers included; in slabs_.
    std::span<const FloatPoint> points;
    // Without stale markers (what range vectors see); filled only when there are some.
    std::span<const FloatPoint> non_stale;
    bool has_stale = false;
    std::span<const FloatPoint> floats() const { return has_stale ? non_stale : points; }
    // Where the last window of this series began and ended (indexes of the first point after
    // its start and after its end), so that a range query walks the samples forward instead of
    // searching them at every step.
    size_t window_start = 0;
    size_t window_end = 0;
  };
  struct Selection {
    int64_t mint = 0;
    int64_t maxt = 0;
    bool loaded = false;
    std::vector<Loaded> series;
  };
  // What one DecodeSeries call decoded.
  struct Decoded {
    std::vector<Loaded> series;  // those with samples in the span, in the set's order
    bool exhausted = false;      // the set has no series left
    int64_t samples = 0;         // decoded, stale markers included
  };
  // A window function of a plain range selector (`rate(x[5m])`, no @, range modifier or
  // duration expression): the input a table computes in one pass per series.
  struct WindowCall {
    const Call* call = nullptr;
    WindowFunc f = WindowFunc::kRate;
    const VectorSelector* selector = nullptr;
    int64_t range = 0;
    int64_t offset = 0;
  };

  void PrepareWalk(const Expr& e, int64_t mint, int64_t maxt);
  // Widens what Load reads for `vs` to include [mint, maxt].
  void WidenSelection(const VectorSelector& vs, int64_t mint, int64_t maxt);
  // A range or step in ms: `range` as written, or `expr` (a duration expression) evaluated.
  [[nodiscard]] absl::StatusOr<int64_t> RangeMs(absl::Duration range,
                                                const DurationExpr* expr) const;
  int64_t AtTime(const AtModifier& at, int64_t ts) const;
  [[nodiscard]] absl::StatusOr<std::vector<Loaded>*> Load(const VectorSelector& vs, int64_t mint,
                                                          int64_t maxt);
  // Walks up to `max_series` more series of `set` and decodes their samples in [lo, hi] into
  // `slabs`, which must outlive the result; with `floats_only`, stale markers are left out of
  // `points` (what a window function reads) and `non_stale` stays empty.
  [[nodiscard]] absl::StatusOr<Decoded> DecodeSeries(tsdb::SeriesSet& set, int64_t lo, int64_t hi,
                                                     size_t max_series, bool floats_only,
                                                     PointSlabs& slabs);
  [[nodiscard]] absl::Status CountSamples(int64_t n);

  [[nodiscard]] absl::StatusOr<Value> EvalVectorSelector(const VectorSelector& vs, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalMatrixSelector(const MatrixSelector& ms, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalSubquery(const SubqueryExpr& sq, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalBinary(const BinaryExpr& b, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalAggregate(const AggregateExpr& a, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalCall(const Call& c, int64_t ts);
  [[nodiscard]] absl::StatusOr<Value> EvalInfo(const Call& c, int64_t ts);

  // Whether `ts` is one of the range query's steps (tables hold only those).
  bool IsStep(int64_t ts) const {
    return step_ > 0 && ts >= start_ && ts <= end_ && (ts - start_) % step_ == 0;
  }
  // `e` as a window function over a plain range selector; nullopt when it is not one.
  std::optional<WindowCall> WindowCallOf(const Expr& e) const;
  // `e` as a window function over a plain range selector (range_table.h), loading its series;
  // null when it is not one.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WindowSource>> WindowSourceOf(const Expr& e);
  // Hands `consume` window call `w` over consecutive blocks of its selector's series, in the
  // order Load gives them, decoding each block into memory the next one reuses (about
  // EngineOptions::range_block_bytes of samples), so that a table over a wide range never holds
  // every series' samples at once. Stops early when `consume` returns false. When the selection
  // is already loaded, it is handed over as one block.
  [[nodiscard]] absl::Status StreamWindows(
      const WindowCall& w, absl::FunctionRef<absl::StatusOr<bool>(const WindowSource&)> consume);
  [[nodiscard]] absl::StatusOr<std::unique_ptr<StepTable>> BuildTable(const Expr& e);
  // The rows of `e` for a table over it: a window function of a selector (`from_window`) or a
  // table of its own (topk of a sum); null when it is neither.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RowSource>> RowSourceOf(const Expr& e,
                                                                       bool* from_window);
  // topk/bottomk/limitk with a literal k as a table; nullptr when its input is not one.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<StepTable>> BuildSelectTable(const AggregateExpr& a,
                                                                            size_t steps);
  // The info annotation rate and increase give for a metric that does not look like a counter,
  // once a window of `c` held samples.
  void NoteCounterName(const Call& c, const std::vector<int64_t>& samples);

  tsdb::MetricsReader& reader_;
  const EngineOptions& options_;
  int64_t start_;
  int64_t end_;
  int64_t step_;
  int64_t lookback_;
  absl::Time deadline_;
  WorkerPool& pool_;
  SlabRecycler& recycler_;
  int64_t samples_in_step_ = 0;
  absl::flat_hash_map<const VectorSelector*, Selection> selections_;
  // The points of every load of the query, earlier and narrower ones too: range vectors still in
  // use may view them.
  PointSlabs slabs_;
  absl::flat_hash_map<std::string, bool> seen_annotations_;
  // info()'s selection of info series, built once per call site.
  absl::flat_hash_map<const Call*, std::unique_ptr<VectorSelector>> info_selectors_;
  absl::flat_hash_map<const AggregateExpr*, std::unique_ptr<GroupIndex>> group_indexes_;
  // By expression node; null when the node is not evaluated by table (decided once).
  absl::flat_hash_map<const Expr*, std::unique_ptr<StepTable>> tables_;
};

// Binary operator helpers (binary.cc).
[[nodiscard]] absl::StatusOr<double> ScalarBinop(BinaryOp op, double lhs, double rhs);
// Applies an arithmetic or comparison op; `keep` is false when a comparison filters out the pair.
double ArithOrCompare(BinaryOp op, double lhs, double rhs, bool return_bool, bool* keep);

// Function dispatch (functions.cc). `args` are the evaluated arguments.
[[nodiscard]] absl::StatusOr<Value> CallFunction(Evaluator& ev, const Call& call,
                                                 std::vector<Value>& args, int64_t ts);

// Aggregation (aggregate.cc).
[[nodiscard]] absl::StatusOr<Value> Aggregate(Evaluator& ev, const AggregateExpr& a, Value param,
                                              EvalVector input, int64_t ts);

// Prometheus' quantile over float values (sorts `values`).
double Quantile(double q, std::vector<double>& values);

}  // namespace oriel::promql
