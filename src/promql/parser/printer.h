// Pieces of Prometheus' canonical query text (printer.go) that the prettier reuses when it splits
// a node over several lines; Expr::String() (ast.h) prints a whole node on one line.
#pragma once

#include <string>

#include "promql/parser/ast.h"

namespace oriel::promql {

// The aggregation up to its opening parenthesis: "sum", "sum by (job) ", "topk without () ".
std::string AggregateOpPrefix(const AggregateExpr& a);

// What follows the operator of a binary expression: " bool", " on (a) group_left (b)", fill
// modifiers; "" for a plain operator.
std::string BinaryModifierText(const BinaryExpr& b);

// "[<range>:<step>]" plus the subquery's @ and offset modifiers.
std::string SubqueryTimeSuffix(const SubqueryExpr& s);

}  // namespace oriel::promql
