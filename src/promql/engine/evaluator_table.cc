// The evaluator's side of range-query evaluation by table (range_table.h): which expressions are
// computed that way, their inputs, their annotations, and reading one step back out.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/evaluator.h"
#include "promql/engine/histogram_quantile.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {
namespace {

// A materialized table costs 9 bytes per step and series; past this the query is evaluated step
// by step. Aggregations of a window function do not materialize their input.
constexpr size_t kMaxTableCells = size_t{32} << 20;

// k of topk/bottomk/limitk when it is a number the step-by-step evaluation accepts as one;
// nullopt otherwise (that evaluation then computes it, or reports what is wrong with it).
std::optional<int64_t> LiteralK(const Expr& param) {
  const Expr& p = Unparen(param);
  if (p.kind() != NodeKind::kNumberLiteral) return std::nullopt;
  const double v = p.As<NumberLiteral>().value;
  if (std::isnan(v) || v >= 9.223372036854775807e18 || v < -9.223372036854775807e18) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

}  // namespace

absl::StatusOr<const StepTable*> Evaluator::Table(const Expr& e) {
  if (step_ <= 0 || end_ <= start_) return nullptr;
  const Expr& u = Unparen(e);
  if (u.kind() != NodeKind::kCall && u.kind() != NodeKind::kAggregate) return nullptr;
  if (auto it = tables_.find(&u); it != tables_.end()) return it->second.get();
  // Built before inserting: building may add the tables of sub-expressions.
  ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<StepTable> table, BuildTable(u));
  return tables_.insert_or_assign(&u, std::move(table)).first->second.get();
}

std::optional<Evaluator::WindowCall> Evaluator::WindowCallOf(const Expr& e) const {
  if (e.kind() != NodeKind::kCall) return std::nullopt;
  const Call& c = e.As<Call>();
  std::optional<WindowFunc> f = WindowFuncByName(c.func->name);
  if (!f || c.args.size() != 1) return std::nullopt;
  const Expr& arg = Unparen(*c.args[0]);
  if (arg.kind() != NodeKind::kMatrixSelector) return std::nullopt;
  const auto& ms = arg.As<MatrixSelector>();
  const auto& vs = ms.selector();
  if (ms.range_expr != nullptr || vs.offset.expr != nullptr || vs.at.kind != AtKind::kNone ||
      vs.range_modifier != RangeModifier::kNone) {
    return std::nullopt;
  }
  return WindowCall{&c, *f, &vs, absl::ToInt64Milliseconds(ms.range),
                    absl::ToInt64Milliseconds(vs.offset.offset)};
}

absl::StatusOr<std::unique_ptr<WindowSource>> Evaluator::WindowSourceOf(const Expr& e) {
  std::optional<WindowCall> w = WindowCallOf(e);
  if (!w) return nullptr;
  ORIEL_ASSIGN_OR_RETURN(auto* series,
                         Load(*w->selector, start_ - w->offset - w->range, end_ - w->offset));
  std::vector<model::Labels> metrics;
  std::vector<std::span<const FloatPoint>> floats;
  metrics.reserve(series->size());
  floats.reserve(series->size());
  for (const Loaded& s : *series) {
    metrics.push_back(s.metric);
    floats.push_back(s.floats());
  }
  // A range selector's series keep their names; all but last/first_over_time drop them.
  return std::make_unique<WindowSource>(w->f, std::move(metrics), std::move(floats),
                                        start_ - w->offset, step_, w->range, !KeepsName(w->f));
}

absl::Status Evaluator::StreamWindows(
    const WindowCall& w, absl::FunctionRef<absl::StatusOr<bool>(const WindowSource&)> consume) {
  const int64_t mint = start_ - w.offset - w.range;
  const int64_t maxt = end_ - w.offset;
  Selection& sel = selections_[w.selector];
  if (sel.loaded) {
    // Another evaluation of the selector (a subquery's steps) loaded it already.
    ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<WindowSource> in, WindowSourceOf(*w.call));
    return consume(*in).status();
  }
  // The span Load would read: Prepare's, which covers this call's windows.
  const int64_t lo = sel.mint == 0 && sel.maxt == 0 ? mint : std::min(sel.mint, mint);
  const int64_t hi = sel.mint == 0 && sel.maxt == 0 ? maxt : std::max(sel.maxt, maxt);
  tsdb::SelectHints hints;
  hints.start_ms = lo;
  hints.end_ms = hi;
  hints.step_ms = step_;
  auto set = reader_.Select(lo, hi, w.selector->matchers, &hints);
  const size_t block_points = std::max<size_t>(1, options_.range_block_bytes / sizeof(FloatPoint));
  // The first block is one decoding batch; later ones are sized by the samples per series seen.
  size_t block_series = 128;
  size_t series = 0;
  int64_t samples = 0;
  while (true) {
    // Each block's slabs go back to the recycler before the next block takes them again.
    PointSlabs slabs(&recycler_);
    ORIEL_ASSIGN_OR_RETURN(Decoded d,
                           DecodeSeries(*set, lo, hi, block_series, /*floats_only=*/true, slabs));
    samples += d.samples;
    if (samples > options_.max_samples) {
      return TooManySamplesError();
    }
    if (!d.series.empty()) {
      std::vector<model::Labels> metrics;
      std::vector<std::span<const FloatPoint>> floats;
      metrics.reserve(d.series.size());
      floats.reserve(d.series.size());
      for (Loaded& s : d.series) {
        metrics.push_back(std::move(s.metric));
        floats.push_back(s.points);
      }
      WindowSource in(w.f, std::move(metrics), std::move(floats), start_ - w.offset, step_, w.range,
                      !KeepsName(w.f), static_cast<uint32_t>(series));
      series += d.series.size();
      ORIEL_ASSIGN_OR_RETURN(bool more, consume(in));
      if (!more) return absl::OkStatus();
    }
    if (d.exhausted) return absl::OkStatus();
    const size_t per_series = std::max<int64_t>(1, samples) / std::max<size_t>(1, series);
    block_series = std::max<size_t>(1, block_points / std::max<size_t>(1, per_series));
  }
}

void Evaluator::NoteCounterName(const Call& c, const std::vector<int64_t>& samples) {
  std::string_view name = c.func->name;
  if (name != "rate" && name != "increase") return;
  if (std::none_of(samples.begin(), samples.end(), [](int64_t n) { return n > 0; })) return;
  std::string_view metric = Unparen(*c.args[0]).As<MatrixSelector>().selector().name;
  if (!metric.empty() && !metric.ends_with("_total") && !metric.ends_with("_sum") &&
      !metric.ends_with("_count") && !metric.ends_with("_bucket")) {
    Info(fmt::format("PromQL info: metric might not be a counter, name does not end in "
                     "_total/_sum/_count/_bucket: \"{}\"",
                     metric),
         &c.args[0]->pos);
  }
}

absl::StatusOr<std::unique_ptr<StepTable>> Evaluator::BuildTable(const Expr& e) {
  const size_t steps = static_cast<size_t>((end_ - start_) / step_ + 1);
  if (e.kind() == NodeKind::kAggregate) {
    const auto& a = e.As<AggregateExpr>();
    if (IsSelectAggregate(a.op)) return BuildSelectTable(a, steps);
    if (!IsTableAggregate(a.op) || a.param != nullptr) return nullptr;
    const Expr& in_expr = Unparen(*a.expr);
    std::optional<WindowCall> w = WindowCallOf(in_expr);
    if (!w) return nullptr;
    // Group ids once per series rather than once per series and step; groups are numbered in
    // the order of their first series.
    GroupIndex& ids = Groups(a);
    std::vector<uint32_t> group_of;
    std::vector<uint32_t> local;
    std::vector<model::Labels> groups;
    AggregateAccumulator acc(a.op, steps);
    ORIEL_RETURN_IF_ERROR(StreamWindows(*w, [&](const WindowSource& in) -> absl::StatusOr<bool> {
      group_of.resize(in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        size_t id = ids.IdOf(in.metric(i));
        if (id >= local.size()) local.resize(id + 1, kNoGroup);
        if (local[id] == kNoGroup) {
          local[id] = static_cast<uint32_t>(groups.size());
          groups.push_back(ids.Labels(id));
        }
        group_of[i] = local[id];
      }
      ORIEL_RETURN_IF_ERROR(acc.Add(in, group_of, groups.size(), deadline_, pool_));
      return true;
    }));
    StepTable t = acc.Finish(std::move(groups));
    t.drop_name = !KeepsName(w->f);  // also when no block was added
    NoteCounterName(in_expr.As<Call>(), t.samples);
    return std::make_unique<StepTable>(std::move(t));
  }
  const Call& c = e.As<Call>();
  if (c.func->name == "histogram_quantile") {
    const Expr& param = Unparen(*c.args[0]);
    if (param.kind() != NodeKind::kNumberLiteral) return nullptr;
    const double q = param.As<NumberLiteral>().value;
    const Expr& in_expr = Unparen(*c.args[1]);
    bool from_window = false;
    ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<RowSource> in, RowSourceOf(in_expr, &from_window));
    if (in == nullptr) return nullptr;
    if (std::isnan(q) || q < 0 || q > 1) {
      Warn(fmt::format("PromQL warning: quantile value should be between 0 and 1, got {}",
                       FormatNumber(q)),
           &c.args[0]->pos);
    }
    // A histogram is its series without `le`, the name kept so that two histograms never mix.
    std::vector<uint32_t> group_of(in->size(), kNoGroup);
    std::vector<double> upper(in->size(), 0);
    std::vector<model::Labels> groups;
    absl::flat_hash_map<model::Labels, uint32_t, LabelsHash> index;
    for (size_t i = 0; i < in->size(); ++i) {
      if (!ParseBucketBound(in->metric(i).Get("le"), &upper[i])) continue;
      model::LabelsBuilder b(in->metric(i));
      b.Del("le");
      auto [it, inserted] = index.try_emplace(b.Build(), static_cast<uint32_t>(groups.size()));
      if (inserted) groups.push_back(it->first);
      group_of[i] = it->second;
    }
    ORIEL_ASSIGN_OR_RETURN(HistogramQuantileTable h,
                           BuildHistogramQuantileTable(*in, steps, q, group_of, upper,
                                                       std::move(groups), deadline_, pool_));
    for (size_t i = 0; i < in->size(); ++i) {
      if (!h.ungrouped_seen[i]) continue;
      Warn(fmt::format("PromQL warning: bucket label \"le\" is missing or has a malformed value "
                       "of \"{}\" for metric name \"{}\"",
                       in->metric(i).Get("le"), in->metric(i).MetricName()),
           &c.args[1]->pos);
    }
    if (h.forced_monotonic) {
      Info(
          "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see "
          "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) "
          "for metric name \"\"",
          &c.args[1]->pos);
    }
    // (A table input gave its annotations when it was built.)
    if (from_window) NoteCounterName(in_expr.As<Call>(), h.table.samples);
    return std::make_unique<StepTable>(std::move(h.table));
  }
  std::optional<WindowCall> w = WindowCallOf(c);
  if (!w) return nullptr;
  StepTable t;
  t.steps = steps;
  t.drop_name = !KeepsName(w->f);
  t.samples.assign(steps, 0);
  bool too_large = false;
  ORIEL_RETURN_IF_ERROR(StreamWindows(*w, [&](const WindowSource& in) -> absl::StatusOr<bool> {
    if ((t.size() + in.size()) * steps > kMaxTableCells) {
      // Evaluated step by step instead (which loads the selector again).
      too_large = true;
      return false;
    }
    ORIEL_RETURN_IF_ERROR(AppendRows(in, deadline_, pool_, &t));
    return true;
  }));
  if (too_large) return nullptr;
  NoteCounterName(c, t.samples);
  return std::make_unique<StepTable>(std::move(t));
}

absl::StatusOr<std::unique_ptr<RowSource>> Evaluator::RowSourceOf(const Expr& e,
                                                                  bool* from_window) {
  ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<WindowSource> window, WindowSourceOf(e));
  *from_window = window != nullptr;
  if (window != nullptr) return window;
  ORIEL_ASSIGN_OR_RETURN(const StepTable* t, Table(e));
  if (t == nullptr) return nullptr;
  return std::make_unique<TableSource>(*t);
}

absl::StatusOr<std::unique_ptr<StepTable>> Evaluator::BuildSelectTable(const AggregateExpr& a,
                                                                       size_t steps) {
  std::optional<int64_t> k = LiteralK(*a.param);
  if (!k) return nullptr;
  // The input as a window function of a selector, or as a table of its own (topk of a sum).
  const Expr& in_expr = Unparen(*a.expr);
  bool from_window = false;
  ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<RowSource> in, RowSourceOf(in_expr, &from_window));
  if (in == nullptr) return nullptr;
  if (in->size() * steps > kMaxTableCells) return nullptr;
  GroupIndex& ids = Groups(a);
  std::vector<uint32_t> group_of(in->size());
  for (size_t i = 0; i < in->size(); ++i) {
    group_of[i] = static_cast<uint32_t>(ids.IdOf(in->metric(i)));
  }
  ORIEL_ASSIGN_OR_RETURN(StepTable t,
                         SelectTable(*in, steps, a.op, *k, group_of, deadline_, pool_));
  // (A table input gave its annotations when it was built.)
  if (from_window) NoteCounterName(in_expr.As<Call>(), t.samples);
  return std::make_unique<StepTable>(std::move(t));
}

absl::StatusOr<Value> Evaluator::TableRow(const StepTable& t, int64_t ts) {
  const size_t j = static_cast<size_t>((ts - start_) / step_);
  ORIEL_RETURN_IF_ERROR(CountSamples(t.samples[j]));
  std::vector<uint32_t> order;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.present[i * t.steps + j]) order.push_back(static_cast<uint32_t>(i));
  }
  if (!t.rank.empty()) {
    std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
      return t.rank[x * t.steps + j] < t.rank[y * t.steps + j];
    });
  }
  Value out;
  out.type = ValueType::kVector;
  out.vec.reserve(order.size());
  for (uint32_t i : order) {
    out.vec.push_back({t.metrics[i], t.values[i * t.steps + j], ts, t.drop_name});
  }
  return out;
}

}  // namespace oriel::promql
