// Duration expressions (experimental in Prometheus 3, behind promql-duration-expr): arithmetic on
// durations and numbers in ranges, subquery steps and offsets, e.g. `foo[5m + step()]`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace oriel::promql {

struct DurationExpr {
  enum class Op : uint8_t {
    kLiteral,  // `value` seconds
    kStep,     // step(): the query resolution
    kRange,    // range(): end - start of the query
    kMinOf,    // min_of(lhs, rhs)
    kMaxOf,    // max_of(lhs, rhs)
    kNeg,      // -rhs
    kPos,      // +rhs
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMod,
    kPow,
  };
  Op op = Op::kLiteral;
  double value = 0;          // kLiteral: seconds
  bool is_duration = false;  // kLiteral written as a duration ("5m") rather than a number
  bool wrapped = false;      // written inside parentheses
  std::unique_ptr<DurationExpr> lhs;
  std::unique_ptr<DurationExpr> rhs;

  // Whether the value does not depend on step() or range().
  bool IsConstant() const;
  // The value in seconds; fails on division by zero or a non-finite result.
  [[nodiscard]] absl::StatusOr<double> Evaluate(absl::Duration step, absl::Duration range) const;
  // Prometheus' canonical form, e.g. `(5m + step()) * 2`.
  std::string String() const;
};

// Converts seconds to a Duration in whole milliseconds (rounded; clamped to +-9.2e18 ms).
absl::Duration SecondsToDuration(double seconds);

}  // namespace oriel::promql
