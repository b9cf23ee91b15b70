// Prometheus' type checks on a parsed expression (checkAST in its parser).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "promql/parser/ast.h"

namespace oriel::promql {

struct CheckError {
  int32_t pos = 0;      // byte offset the error points at
  std::string message;  // empty: the expression is well-typed
};

// Checks `e` in Prometheus' order and returns its first error. Also normalizes as Prometheus
// does: set operators get many-to-many matching, and vector matching is dropped when a side is
// a scalar. `input` is the query text (to locate operators).
CheckError CheckAst(Expr& e, std::string_view input);

// Whether the anchored/smoothed modifier on a range argument of `call` is supported by that
// function. Prometheus reports this when the query runs, not as a parse error, with exactly
// this message ("smoothed modifier can only be used with: delta, increase, rate - not with
// deriv"), so the engine calls it.
[[nodiscard]] absl::Status ValidateRangeModifier(const Call& call);

// "<line>:<col>" of a byte offset, both 1-based, as in Prometheus' parse errors.
std::string PositionString(std::string_view input, int32_t pos);

}  // namespace oriel::promql
