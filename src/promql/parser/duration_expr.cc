#include "promql/parser/duration_expr.h"

#include <cmath>

#include "base/units.h"
#include "fmt/format.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {

absl::Duration SecondsToDuration(double seconds) {
  // Rounded, not truncated: 1.001 * 1000 is 1000.999..., and "1001ms" must stay 1s1ms.
  double ms = std::round(seconds * 1000);
  if (!(ms > -9.2e18)) return absl::Milliseconds(static_cast<int64_t>(-9.2e18));
  if (!(ms < 9.2e18)) return absl::Milliseconds(static_cast<int64_t>(9.2e18));
  return absl::Milliseconds(static_cast<int64_t>(ms));
}

bool DurationExpr::IsConstant() const {
  if (op == Op::kStep || op == Op::kRange) return false;
  if (lhs && !lhs->IsConstant()) return false;
  if (rhs && !rhs->IsConstant()) return false;
  return true;
}

absl::StatusOr<double> DurationExpr::Evaluate(absl::Duration step, absl::Duration range) const {
  auto child = [&](const std::unique_ptr<DurationExpr>& e) { return e->Evaluate(step, range); };
  double out = 0;
  switch (op) {
    case Op::kLiteral:
      return value;
    case Op::kStep:
      return absl::ToDoubleSeconds(step);
    case Op::kRange:
      return absl::ToDoubleSeconds(range);
    case Op::kNeg:
    case Op::kPos: {
      auto v = child(rhs);
      if (!v.ok()) return v;
      return op == Op::kNeg ? -*v : *v;
    }
    default:
      break;
  }
  auto l = child(lhs);
  if (!l.ok()) return l;
  auto r = child(rhs);
  if (!r.ok()) return r;
  switch (op) {
    case Op::kMinOf:
      out = std::min(*l, *r);
      break;
    case Op::kMaxOf:
      out = std::max(*l, *r);
      break;
    case Op::kAdd:
      out = *l + *r;
      break;
    case Op::kSub:
      out = *l - *r;
      break;
    case Op::kMul:
      out = *l * *r;
      break;
    case Op::kDiv:
      if (*r == 0) return absl::InvalidArgumentError("division by zero");
      out = *l / *r;
      break;
    case Op::kMod:
      if (*r == 0) return absl::InvalidArgumentError("modulo by zero");
      out = std::fmod(*l, *r);
      break;
    case Op::kPow:
      out = std::pow(*l, *r);
      break;
    default:
      break;
  }
  if (!std::isfinite(out)) {
    return absl::InvalidArgumentError(fmt::format("duration expression is not finite: {}", out));
  }
  return out;
}

std::string DurationExpr::String() const {
  std::string s;
  switch (op) {
    case Op::kLiteral:
      if (is_duration) {
        s = value < 0 ? fmt::format("-{}", DurationString(SecondsToDuration(-value)))
                      : DurationString(SecondsToDuration(value));
      } else {
        s = FormatNumber(value);
      }
      break;
    case Op::kStep:
      s = "step()";
      break;
    case Op::kRange:
      s = "range()";
      break;
    case Op::kMinOf:
      s = fmt::format("min_of({}, {})", lhs->String(), rhs->String());
      break;
    case Op::kMaxOf:
      s = fmt::format("max_of({}, {})", lhs->String(), rhs->String());
      break;
    case Op::kNeg:
      s = fmt::format("-{}", rhs->String());
      break;
    case Op::kPos:
      s = rhs->String();
      break;
    default: {
      static constexpr const char* kOps[] = {"+", "-", "*", "/", "%", "^"};
      s = fmt::format("{} {} {}", lhs->String(),
                      kOps[static_cast<int>(op) - static_cast<int>(Op::kAdd)], rhs->String());
    }
  }
  return wrapped ? fmt::format("({})", s) : s;
}

}  // namespace oriel::promql
