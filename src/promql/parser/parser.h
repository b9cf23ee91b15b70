// Parses PromQL (Prometheus 3 semantics) into the AST of ast.h, with Prometheus' type checks and
// error messages ("1:5: parse error: unexpected ..."), and parses series selectors for match[].
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/matcher.h"
#include "promql/parser/ast.h"

namespace oriel::promql {

// Experimental language features; all off by default as in Prometheus 3 (each is a
// --enable-feature flag there).
struct ParseOptions {
  // promql-experimental-functions: the functions marked experimental, limitk and limit_ratio.
  bool enable_experimental_functions = false;
  // promql-duration-expr: arithmetic, step(), range(), min_of(), max_of() in ranges and offsets.
  bool experimental_duration_expr = false;
  // promql-extended-range-selectors: the `anchored` and `smoothed` modifiers.
  bool enable_extended_range_selectors = false;
  // promql-binop-fill-modifiers: fill(), fill_left(), fill_right() on binary operators.
  bool enable_binop_fill_modifiers = false;

  // Everything on (what Prometheus' own promqltest runner uses).
  static ParseOptions All() { return {true, true, true, true}; }
};

// Parses and type-checks a PromQL expression. Errors are InvalidArgument with Prometheus' message
// for the first error found, prefixed by its position: "<line>:<col>: parse error: <msg>".
[[nodiscard]] absl::StatusOr<ExprPtr> ParseExpr(std::string_view input,
                                                const ParseOptions& options = {});

// Parses a series selector such as `up{job="api"}` or `{"my.metric"}` (the match[] parameter)
// into its matchers, the metric name as a __name__ matcher.
[[nodiscard]] absl::StatusOr<std::vector<model::Matcher>> ParseMetricSelector(
    std::string_view input);

// Unquotes a PromQL string literal ("...", '...' with Go escapes, or `raw`).
[[nodiscard]] absl::StatusOr<std::string> UnquoteString(std::string_view quoted);

}  // namespace oriel::promql
