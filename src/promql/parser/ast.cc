#include "promql/parser/ast.h"

namespace oriel::promql {

std::string_view BinaryOpString(BinaryOp op) {
  static constexpr std::string_view kNames[] = {"+",     "-",  "*",  "/",   "%",  "^",
                                                "atan2", "</", ">/", "==",  "!=", ">",
                                                "<",     ">=", "<=", "and", "or", "unless"};
  return kNames[static_cast<int>(op)];
}

bool IsComparisonOp(BinaryOp op) { return op >= BinaryOp::kEql && op <= BinaryOp::kLte; }

bool IsSetOp(BinaryOp op) { return op >= BinaryOp::kAnd; }

std::string_view AggregateOpString(AggregateOp op) {
  static constexpr std::string_view kNames[] = {
      "sum",    "avg",  "count",   "min",          "max",      "group",  "stddev",
      "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio"};
  return kNames[static_cast<int>(op)];
}

bool AggregateOpHasParam(AggregateOp op) { return op >= AggregateOp::kTopk; }

bool AggregateOpIsExperimental(AggregateOp op) {
  return op == AggregateOp::kLimitk || op == AggregateOp::kLimitRatio;
}

const Expr& Unparen(const Expr& e) {
  const Expr* cur = &e;
  while (cur->kind() == NodeKind::kParen) cur = cur->As<ParenExpr>().expr.get();
  return *cur;
}

}  // namespace oriel::promql
