// Aggregation operators (sum, avg, ..., topk, quantile, count_values, limitk) with by/without.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/evaluator.h"
#include "promql/engine/topk_order.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {
namespace {

struct Group {
  model::Labels metric;
  bool drop_name = false;
  int64_t count = 0;
  double value = 0;  // sum / min / max / M2
  double comp = 0;   // Kahan compensation
  double mean = 0;
  bool saw_inf_or_nan = false;
  std::vector<double> values;    // quantile
  std::vector<EvalSample> heap;  // topk, bottomk, limitk
};

}  // namespace

double Quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

absl::StatusOr<Value> Aggregate(Evaluator& ev, const AggregateExpr& a, Value param,
                                EvalVector input, int64_t ts) {
  Value out;
  out.type = ValueType::kVector;
  int64_t k = 0;
  double q = 0;
  if (a.op == AggregateOp::kTopk || a.op == AggregateOp::kBottomk || a.op == AggregateOp::kLimitk) {
    double p = param.scalar;
    if (std::isnan(p)) return absl::FailedPreconditionError("Parameter value is NaN");
    if (std::isnan(p) || p >= 9.223372036854775807e18 || p < -9.223372036854775807e18) {
      return absl::FailedPreconditionError(
          fmt::format("Scalar value {} overflows int64", FormatNumber(p)));
    }
    k = static_cast<int64_t>(p);
    if (k < 1) return out;
  }
  if (a.op == AggregateOp::kQuantile) {
    q = param.scalar;
    if (std::isnan(q) || q < 0 || q > 1) {
      ev.Warn(fmt::format("PromQL warning: quantile value should be between 0 and 1, got {}",
                          FormatNumber(q)));
    }
  }
  if (a.op == AggregateOp::kLimitRatio) {
    return absl::UnimplementedError("limit_ratio is not supported");
  }
  std::string cv_label;
  if (a.op == AggregateOp::kCountValues) {
    cv_label = param.str;
    if (!model::IsValidLegacyLabelName(cv_label) && cv_label.empty()) {
      return absl::FailedPreconditionError(fmt::format("invalid label name \"{}\"", cv_label));
    }
  }
  std::vector<Group> groups;
  // This step's groups in the order of their first series: by the query-wide group id, or for
  // count_values (whose groups depend on the values) by labels.
  GroupIndex& ids = ev.Groups(a);
  constexpr size_t kNoGroup = static_cast<size_t>(-1);
  std::vector<size_t> group_of_id;
  absl::flat_hash_map<model::Labels, size_t, LabelsHash> count_values_groups;
  auto group_of = [&](const model::Labels& metric, double f, size_t position) -> Group& {
    if (a.op == AggregateOp::kCountValues) {
      model::LabelsBuilder b(GroupLabels(metric, a));
      b.Set(cv_label, FormatNumber(f));
      auto [it, inserted] = count_values_groups.try_emplace(b.Build(), groups.size());
      if (inserted) groups.push_back(Group{.metric = it->first});
      return groups[it->second];
    }
    size_t id = ids.IdOf(metric, position);
    if (id >= group_of_id.size()) group_of_id.resize(ids.size(), kNoGroup);
    if (group_of_id[id] == kNoGroup) {
      group_of_id[id] = groups.size();
      groups.push_back(Group{.metric = ids.Labels(id)});
    }
    return groups[group_of_id[id]];
  };
  for (size_t position = 0; position < input.size(); ++position) {
    EvalSample& s = input[position];
    Group& g = group_of(s.metric, s.f, position);
    g.drop_name = g.drop_name || s.drop_name;
    ++g.count;
    double f = s.f;
    switch (a.op) {
      case AggregateOp::kSum:
        KahanAdd(f, g.value, g.comp);
        break;
      case AggregateOp::kAvg:
        KahanAdd(f, g.value, g.comp);
        if (std::isinf(f) || std::isnan(f)) g.saw_inf_or_nan = true;
        if (g.count == 1) {
          g.mean = f;
        } else {
          g.mean += f / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
        }
        break;
      case AggregateOp::kMin:
        if (g.count == 1 || g.value > f || std::isnan(g.value)) g.value = f;
        break;
      case AggregateOp::kMax:
        if (g.count == 1 || g.value < f || std::isnan(g.value)) g.value = f;
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        if (std::isinf(f) || std::isnan(f)) g.saw_inf_or_nan = true;
        double delta = f - g.mean;
        g.mean += delta / static_cast<double>(g.count);
        g.value += delta * (f - g.mean);
        break;
      }
      case AggregateOp::kQuantile:
        g.values.push_back(f);
        break;
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk:
      case AggregateOp::kLimitk:
        g.heap.push_back(std::move(s));
        break;
      default:
        break;
    }
  }
  for (auto& g : groups) {
    EvalSample r{g.metric, 0, ts, g.drop_name};
    double n = static_cast<double>(g.count);
    switch (a.op) {
      case AggregateOp::kSum:
        r.f = g.value + g.comp;
        break;
      case AggregateOp::kAvg: {
        double sum = g.value + g.comp;
        r.f = (std::isinf(sum) && !g.saw_inf_or_nan) ? g.mean : sum / n;
        break;
      }
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        r.f = n;
        break;
      case AggregateOp::kGroup:
        r.f = 1;
        break;
      case AggregateOp::kMin:
      case AggregateOp::kMax:
        r.f = g.value;
        break;
      case AggregateOp::kStdvar:
        r.f = g.saw_inf_or_nan ? std::nan("") : g.value / n;
        break;
      case AggregateOp::kStddev:
        r.f = g.saw_inf_or_nan ? std::nan("") : std::sqrt(g.value / n);
        break;
      case AggregateOp::kQuantile:
        r.f = Quantile(q, g.values);
        break;
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk: {
        // The k best in order, ties in input order (as a stable sort would give them), in
        // O(n log k) rather than sorting the whole group.
        bool top = a.op == AggregateOp::kTopk;
        std::vector<uint32_t> order(g.heap.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
        size_t n = std::min(order.size(), static_cast<size_t>(k));
        std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(n), order.end(),
                          [&](uint32_t x, uint32_t y) {
                            double fx = g.heap[x].f, fy = g.heap[y].f;
                            if (TopkBefore(top, fx, fy)) return true;
                            if (TopkBefore(top, fy, fx)) return false;
                            return x < y;
                          });
        for (size_t i = 0; i < n; ++i) {
          EvalSample& s = g.heap[order[i]];
          s.t = ts;
          out.vec.push_back(std::move(s));
        }
        continue;
      }
      case AggregateOp::kLimitk:
        if (static_cast<int64_t>(g.heap.size()) > k) g.heap.resize(static_cast<size_t>(k));
        for (auto& s : g.heap) {
          s.t = ts;
          out.vec.push_back(std::move(s));
        }
        continue;
      default:
        break;
    }
    out.vec.push_back(std::move(r));
  }
  return out;
}

}  // namespace oriel::promql
