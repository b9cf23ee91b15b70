// Prometheus' query pretty-printer (promql/parser/prettier.go, what /api/v1/format_query
// returns): a node whose one-line form is longer than the line limit is split over several lines,
// its children indented two spaces per level.
#pragma once

#include <cstddef>
#include <string>

#include "promql/parser/ast.h"

namespace oriel::promql {

// Prometheus' maxCharactersPerLine.
inline constexpr size_t kPrettyLineLimit = 100;

// The pretty form of `e`. Lines are split only where Prometheus splits them: binary operators,
// aggregation and function arguments, parentheses, and the expression inside a subquery; a
// selector or literal stays on one line however long it is. `line_limit` is a parameter for
// tests (Prometheus' own test table uses 10).
std::string Prettify(const Expr& e, size_t line_limit = kPrettyLineLimit);

}  // namespace oriel::promql
