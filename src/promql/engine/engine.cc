#include "promql/engine/engine.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/evaluator.h"
#include "promql/engine/labels_memo.h"
#include "promql/engine/slab_recycler.h"
#include "promql/engine/worker_pool.h"

namespace oriel::promql {
namespace {

// Drops the metric name, and with it the type and unit labels that Prometheus' experimental
// type-and-unit labels attach to the name.
model::Labels WithoutName(const model::Labels& l) {
  model::LabelsBuilder b(l);
  b.Del(model::kMetricName);
  b.Del("__type__");
  b.Del("__unit__");
  return b.Build();
}

// Range queries warn that sorting has no effect there.
void WarnSorts(const Expr& e, Evaluator& ev) {
  switch (e.kind()) {
    case NodeKind::kCall: {
      const auto& c = e.As<Call>();
      if (c.func->name.starts_with("sort")) {
        ev.Warn(
            "PromQL warning: sort is ineffective for range queries since results are always "
            "ordered by labels",
            &e.pos);
      }
      for (const auto& a : c.args) WarnSorts(*a, ev);
      return;
    }
    case NodeKind::kParen:
      WarnSorts(*e.As<ParenExpr>().expr, ev);
      return;
    case NodeKind::kUnary:
      WarnSorts(*e.As<UnaryExpr>().expr, ev);
      return;
    case NodeKind::kBinary:
      WarnSorts(*e.As<BinaryExpr>().lhs, ev);
      WarnSorts(*e.As<BinaryExpr>().rhs, ev);
      return;
    case NodeKind::kAggregate:
      WarnSorts(*e.As<AggregateExpr>().expr, ev);
      return;
    default:
      return;
  }
}

absl::Status DuplicateLabelsetError() {
  return absl::FailedPreconditionError("vector cannot contain metrics with the same labelset");
}

// A range query's result straight from the table of its expression, series by series; nullopt
// when two series end up with the same labels after dropping their names (the step-by-step path
// then merges them or reports the collision).
absl::StatusOr<std::optional<Matrix>> MatrixFromTable(const StepTable& t, int64_t start_ms,
                                                      int64_t step_ms, int64_t max_samples) {
  for (int64_t n : t.samples) {
    if (n > max_samples) return TooManySamplesError();
  }
  Matrix out;
  absl::flat_hash_map<model::Labels, bool, LabelsHash> seen;
  int64_t points = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const uint8_t* present = t.present.data() + i * t.steps;
    const double* values = t.values.data() + i * t.steps;
    const size_t n = static_cast<size_t>(std::count(present, present + t.steps, uint8_t{1}));
    if (n == 0) continue;
    model::Labels metric = t.drop_name ? WithoutName(t.metrics[i]) : t.metrics[i];
    if (!seen.try_emplace(metric, true).second) return std::nullopt;
    points += static_cast<int64_t>(n);
    if (points > max_samples) return TooManySamplesError();
    Series s{std::move(metric), {}};
    s.floats.reserve(n);
    for (size_t j = 0; j < t.steps; ++j) {
      if (present[j]) s.floats.push_back({start_ms + static_cast<int64_t>(j) * step_ms, values[j]});
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Engine::Engine(EngineOptions options)
    : options_(std::move(options)),
      pool_(std::make_unique<WorkerPool>()),
      recycler_(std::make_unique<SlabRecycler>()) {}

Engine::~Engine() = default;

absl::StatusOr<QueryResult> Engine::InstantQuery(tsdb::MetricsReader& reader,
                                                 std::string_view query, int64_t time_ms,
                                                 const QueryOptions& options) const {
  ORIEL_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr(query, options_.parse_options));
  return Exec(reader, *expr, time_ms, time_ms, 0, true, options, query);
}

absl::StatusOr<QueryResult> Engine::RangeQuery(tsdb::MetricsReader& reader, std::string_view query,
                                               int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                               const QueryOptions& options) const {
  if (step_ms <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  if (end_ms < start_ms) {
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  }
  ORIEL_ASSIGN_OR_RETURN(ExprPtr expr, ParseExpr(query, options_.parse_options));
  return Exec(reader, *expr, start_ms, end_ms, step_ms, false, options, query);
}

absl::StatusOr<QueryResult> Engine::Exec(tsdb::MetricsReader& reader, const Expr& expr,
                                         int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                         bool instant, const QueryOptions& options,
                                         std::string_view query_text) const {
  absl::Duration timeout =
      options.timeout > absl::ZeroDuration() ? options.timeout : options_.timeout;
  int64_t lookback =
      options.lookback_delta_ms > 0 ? options.lookback_delta_ms : options_.lookback_delta_ms;
  Evaluator ev(reader, options_, start_ms, end_ms, instant ? 0 : step_ms, lookback,
               absl::Now() + timeout, *pool_, *recycler_);
  ev.query_text = std::string(query_text);
  ev.Prepare(expr);
  QueryResult result;
  if (instant) {
    ev.BeginStep();
    ORIEL_ASSIGN_OR_RETURN(Value v, ev.Eval(expr, start_ms));
    switch (v.type) {
      case ValueType::kScalar:
        result.value = Scalar{start_ms, v.scalar};
        break;
      case ValueType::kString:
        result.value = String{start_ms, std::move(v.str)};
        break;
      case ValueType::kVector: {
        Vector out;
        absl::flat_hash_map<model::Labels, bool, LabelsHash> seen;
        for (auto& s : v.vec) {
          model::Labels m = s.drop_name ? WithoutName(s.metric) : std::move(s.metric);
          if (!seen.try_emplace(m, true).second) return DuplicateLabelsetError();
          out.push_back({std::move(m), start_ms, s.f});
        }
        result.value = std::move(out);
        break;
      }
      case ValueType::kMatrix: {
        Matrix out;
        for (auto& s : v.mat) {
          out.push_back(
              {s.drop_name ? WithoutName(s.metric) : std::move(s.metric), s.TakePoints()});
        }
        std::sort(out.begin(), out.end(),
                  [](const Series& a, const Series& b) { return a.metric < b.metric; });
        result.value = std::move(out);
        break;
      }
      default:
        return absl::InternalError("cannot evaluate query: expression has no type");
    }
  } else {
    ValueType t = expr.type();
    if (t != ValueType::kScalar && t != ValueType::kVector) {
      return absl::InvalidArgumentError(
          fmt::format("invalid expression type \"{}\" for range query, must be Scalar or "
                      "instant Vector",
                      DocumentedType(t)));
    }
    WarnSorts(expr, ev);
    ORIEL_ASSIGN_OR_RETURN(const StepTable* table, ev.Table(expr));
    if (table != nullptr) {
      ORIEL_ASSIGN_OR_RETURN(std::optional<Matrix> m,
                             MatrixFromTable(*table, start_ms, step_ms, options_.max_samples));
      if (m) {
        std::sort(m->begin(), m->end(),
                  [](const Series& a, const Series& b) { return a.metric < b.metric; });
        result.value = *std::move(m);
        result.warnings = std::move(ev.warnings);
        result.infos = std::move(ev.infos);
        return result;
      }
    }
    // Keyed by the final labels (after delayed name removal): series that lose their names
    // merge when their steps do not collide. Each step finds a sample's output series through
    // memos of its labels (one per drop_name), so the final labels are built once per series.
    Matrix out;
    absl::flat_hash_map<model::Labels, size_t, LabelsHash> index;
    LabelsMemo<size_t> named, unnamed;
    int64_t points = 0;
    for (int64_t ts = start_ms; ts <= end_ms; ts += step_ms) {
      ORIEL_RETURN_IF_ERROR(ev.CheckDeadline());
      ev.BeginStep();
      ORIEL_ASSIGN_OR_RETURN(Value v, ev.Eval(expr, ts));
      if (v.type == ValueType::kScalar) {
        v.vec.push_back({model::Labels(), v.scalar, ts, false});
      }
      for (auto& s : v.vec) {
        LabelsMemo<size_t>& memo = s.drop_name ? unnamed : named;
        const size_t* found = memo.Find(s.metric);
        size_t i;
        if (found != nullptr) {
          i = *found;
        } else {
          model::Labels key = s.drop_name ? WithoutName(s.metric) : s.metric;
          auto [it, inserted] = index.try_emplace(key, out.size());
          if (inserted) out.push_back({std::move(key), {}});
          i = it->second;
          memo.Insert(s.metric, i);
        }
        std::vector<FloatPoint>& floats = out[i].floats;
        if (!floats.empty() && floats.back().t == ts) return DuplicateLabelsetError();
        floats.push_back({ts, s.f});
        ++points;
      }
      if (points > options_.max_samples) {
        return TooManySamplesError();
      }
    }
    std::sort(out.begin(), out.end(),
              [](const Series& a, const Series& b) { return a.metric < b.metric; });
    result.value = std::move(out);
  }
  result.warnings = std::move(ev.warnings);
  result.infos = std::move(ev.infos);
  return result;
}

}  // namespace oriel::promql
