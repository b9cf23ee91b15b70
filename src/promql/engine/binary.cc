// Binary operators: scalar/scalar, vector/scalar, vector/vector with matching, and the set ops.
#include <cmath>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/evaluator.h"

namespace oriel::promql {
namespace {

bool DropsName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kPow:
    case BinaryOp::kAtan2:
      return true;
    default:
      return false;
  }
}

// The labels a sample is matched on.
model::Labels MatchLabels(const model::Labels& l, const VectorMatching& m) {
  std::vector<model::LabelRef> out;
  for (const auto& lb : l) {
    bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), lb.name) !=
                  m.matching_labels.end();
    if (m.on ? listed : (!listed && lb.name != model::kMetricName)) out.push_back(lb);
  }
  return model::Labels::FromSortedViews(out);
}

std::string Signature(const model::Labels& l, const VectorMatching& m) {
  std::string sig;
  for (const auto& lb : l) {
    bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), lb.name) !=
                  m.matching_labels.end();
    if (m.on ? listed : (!listed && lb.name != model::kMetricName)) {
      sig += lb.name;
      sig += '\xff';
      sig += lb.value;
      sig += '\xff';
    }
  }
  return sig;
}

// Prometheus' labels.String(): `{__name__="x", a="b"}`.
std::string RawString(const model::Labels& l) {
  std::string out = "{";
  for (const auto& lb : l) {
    if (out.size() > 1) out += ", ";
    out += fmt::format("{}=\"{}\"", lb.name, lb.value);
  }
  return out + "}";
}

std::string SigOf(const model::Labels& l) {
  std::string sig;
  for (const auto& lb : l) {
    sig += lb.name;
    sig += '\xff';
    sig += lb.value;
    sig += '\xff';
  }
  return sig;
}

model::Labels ResultMetric(const model::Labels& lhs, const model::Labels& rhs,
                           const VectorMatching& m) {
  if (m.card == VectorMatchCard::kOneToOne && !m.on && m.matching_labels.empty() &&
      m.include.empty()) {
    // Nothing to remove or add: share the left side's labels (later steps then find this
    // series' output by identity, see LabelsMemo).
    return lhs;
  }
  model::LabelsBuilder b(lhs);
  if (m.card == VectorMatchCard::kOneToOne) {
    if (m.on) {
      for (const auto& lb : lhs) {
        if (std::find(m.matching_labels.begin(), m.matching_labels.end(), lb.name) ==
            m.matching_labels.end()) {
          b.Del(lb.name);
        }
      }
    } else {
      for (const auto& n : m.matching_labels) b.Del(n);
    }
  }
  for (const auto& n : m.include) {
    std::string_view v = rhs.Get(n);
    if (!v.empty()) {
      b.Set(n, v);
    } else {
      b.Del(n);
    }
  }
  return b.Build();
}

}  // namespace

double ArithOrCompare(BinaryOp op, double l, double r, bool return_bool, bool* keep) {
  *keep = true;
  bool cmp = false;
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    case BinaryOp::kEql:
      cmp = l == r;
      break;
    case BinaryOp::kNeq:
      cmp = l != r;
      break;
    case BinaryOp::kGtr:
      cmp = l > r;
      break;
    case BinaryOp::kLss:
      cmp = l < r;
      break;
    case BinaryOp::kGte:
      cmp = l >= r;
      break;
    case BinaryOp::kLte:
      cmp = l <= r;
      break;
    default:
      *keep = false;
      return 0;
  }
  if (return_bool) return cmp ? 1 : 0;
  *keep = cmp;
  return l;
}

absl::StatusOr<double> ScalarBinop(BinaryOp op, double lhs, double rhs) {
  bool keep;
  if (IsSetOp(op) || op == BinaryOp::kTrimUpper || op == BinaryOp::kTrimLower) {
    return absl::InvalidArgumentError(
        fmt::format("cannot evaluate operator {}: not defined on scalars", BinaryOpString(op)));
  }
  return ArithOrCompare(op, lhs, rhs, true, &keep);
}

absl::StatusOr<Value> Evaluator::EvalBinary(const BinaryExpr& b, int64_t ts) {
  ORIEL_ASSIGN_OR_RETURN(Value lhs, Eval(*b.lhs, ts));
  ORIEL_ASSIGN_OR_RETURN(Value rhs, Eval(*b.rhs, ts));
  Value out;
  if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
    out.type = ValueType::kScalar;
    ORIEL_ASSIGN_OR_RETURN(out.scalar, ScalarBinop(b.op, lhs.scalar, rhs.scalar));
    return out;
  }
  out.type = ValueType::kVector;
  if (b.op == BinaryOp::kTrimUpper || b.op == BinaryOp::kTrimLower) {
    return absl::UnimplementedError("native histograms: trim operators are not supported");
  }
  // Vector and scalar.
  if (lhs.type == ValueType::kScalar || rhs.type == ValueType::kScalar) {
    bool scalar_left = lhs.type == ValueType::kScalar;
    Value& vec = scalar_left ? rhs : lhs;
    double scalar = scalar_left ? lhs.scalar : rhs.scalar;
    for (auto& s : vec.vec) {
      double l = scalar_left ? scalar : s.f;
      double r = scalar_left ? s.f : scalar;
      bool keep;
      double v = ArithOrCompare(b.op, l, r, b.return_bool, &keep);
      if (IsComparisonOp(b.op) && !b.return_bool) v = s.f;
      if (!keep) continue;
      s.f = v;
      s.t = ts;
      if (DropsName(b.op) || b.return_bool) s.drop_name = true;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  const VectorMatching m = b.matching ? *b.matching : VectorMatching{};
  if (IsSetOp(b.op)) {
    switch (b.op) {
      case BinaryOp::kAnd: {
        absl::flat_hash_set<std::string> rs;
        for (const auto& s : rhs.vec) rs.insert(Signature(s.metric, m));
        for (auto& s : lhs.vec) {
          if (rs.contains(Signature(s.metric, m))) {
            s.t = ts;
            out.vec.push_back(std::move(s));
          }
        }
        return out;
      }
      case BinaryOp::kOr: {
        absl::flat_hash_set<std::string> ls;
        for (auto& s : lhs.vec) {
          ls.insert(Signature(s.metric, m));
          s.t = ts;
          out.vec.push_back(std::move(s));
        }
        for (auto& s : rhs.vec) {
          if (!ls.contains(Signature(s.metric, m))) {
            s.t = ts;
            out.vec.push_back(std::move(s));
          }
        }
        return out;
      }
      default: {
        absl::flat_hash_set<std::string> rs;
        for (const auto& s : rhs.vec) rs.insert(Signature(s.metric, m));
        for (auto& s : lhs.vec) {
          if (!rs.contains(Signature(s.metric, m))) {
            s.t = ts;
            out.vec.push_back(std::move(s));
          }
        }
        return out;
      }
    }
  }
  if (m.card == VectorMatchCard::kManyToMany) {
    return absl::FailedPreconditionError("many-to-many only allowed for set operators");
  }
  bool swapped = m.card == VectorMatchCard::kOneToMany;
  EvalVector& many = swapped ? rhs.vec : lhs.vec;
  EvalVector& one = swapped ? lhs.vec : rhs.vec;
  absl::flat_hash_map<std::string, size_t> one_sigs;
  for (size_t i = 0; i < one.size(); ++i) {
    auto [it, inserted] = one_sigs.try_emplace(Signature(one[i].metric, m), i);
    if (!inserted) {
      const auto& prev = one[it->second];
      model::Labels a = prev.metric, c = one[i].metric;
      return absl::FailedPreconditionError(fmt::format(
          "found duplicate series for the match group {} on the {} hand-side of the operation: "
          "[{}, {}];many-to-many matching not allowed: matching labels must be unique on one "
          "side",
          RawString(MatchLabels(one[i].metric, m)), swapped ? "left" : "right", RawString(a),
          RawString(c)));
    }
  }
  // For one-to-one: which signatures matched; otherwise the result label sets per signature.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> matched;
  // fill()/fill_left()/fill_right() (experimental): a missing side takes the fill value and the
  // match group's labels. As in Prometheus, group_right swaps the sides but not the fill values.
  std::optional<double> fill_one = m.fill_rhs;
  std::optional<double> fill_many = m.fill_lhs;
  absl::flat_hash_set<std::string> many_sigs;
  auto pair = [&](const EvalSample& s, const EvalSample& o,
                  const std::string& sig) -> absl::Status {
    double l = swapped ? o.f : s.f;
    double r = swapped ? s.f : o.f;
    bool keep;
    double v = ArithOrCompare(b.op, l, r, b.return_bool, &keep);
    model::Labels metric = ResultMetric(s.metric, o.metric, m);
    // Matching errors count even for pairs that a comparison then filters out.
    if (m.card == VectorMatchCard::kOneToOne) {
      if (!matched.try_emplace(sig).second) {
        return absl::FailedPreconditionError(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!matched[sig].insert(SigOf(metric)).second) {
      return absl::FailedPreconditionError(
          "multiple matches for labels: grouping labels must ensure unique matches");
    }
    if (!keep) return absl::OkStatus();
    bool drop = DropsName(b.op) || b.return_bool ? true : s.drop_name;
    out.vec.push_back({std::move(metric), v, ts, drop});
    return absl::OkStatus();
  };
  for (auto& s : many) {
    std::string sig = Signature(s.metric, m);
    many_sigs.insert(sig);
    auto it = one_sigs.find(sig);
    if (it == one_sigs.end()) {
      if (fill_one) {
        EvalSample o{MatchLabels(s.metric, m), *fill_one, ts, false};
        ORIEL_RETURN_IF_ERROR(pair(s, o, sig));
      }
      continue;
    }
    ORIEL_RETURN_IF_ERROR(pair(s, one[it->second], sig));
  }
  if (fill_many) {
    for (const auto& o : one) {
      std::string sig = Signature(o.metric, m);
      if (many_sigs.contains(sig)) continue;
      EvalSample s{MatchLabels(o.metric, m), *fill_many, ts, false};
      ORIEL_RETURN_IF_ERROR(pair(s, o, sig));
    }
  }
  return out;
}

}  // namespace oriel::promql
