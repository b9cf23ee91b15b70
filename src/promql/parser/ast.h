// The PromQL abstract syntax tree produced by ParseExpr and walked by the engine. Nodes are plain
// structs owned through ExprPtr; an evaluator switches on Expr::kind() and downcasts with As<T>().
// The tree holds no storage types: label matchers are model::Matcher.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "base/check.h"
#include "model/matcher.h"
#include "promql/parser/duration_expr.h"
#include "promql/parser/functions.h"

namespace oriel::promql {

// Byte offsets [start, end) of a node in the query text (for error and annotation positions).
struct PosRange {
  int32_t start = 0;
  int32_t end = 0;
};

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,  // arithmetic
  kTrimUpper,
  kTrimLower,  // </ and >/: trim native histogram buckets
  kEql,
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,  // comparison
  kAnd,
  kOr,
  kUnless,  // set
};
std::string_view BinaryOpString(BinaryOp op);  // "+", "==", "and", ...
bool IsComparisonOp(BinaryOp op);
bool IsSetOp(BinaryOp op);

enum class AggregateOp : uint8_t {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile,
  kLimitk,
  kLimitRatio,
};
std::string_view AggregateOpString(AggregateOp op);  // "sum", "count_values", ...
// topk, bottomk, count_values, quantile, limitk, limit_ratio take a parameter first.
bool AggregateOpHasParam(AggregateOp op);
// limitk and limit_ratio need ParseOptions::enable_experimental_functions.
bool AggregateOpIsExperimental(AggregateOp op);

// How the @ modifier pins evaluation time.
enum class AtKind : uint8_t { kNone, kTimestamp, kStart, kEnd };

// The @ modifier: kTimestamp carries milliseconds since the epoch.
struct AtModifier {
  AtKind kind = AtKind::kNone;
  int64_t timestamp_ms = 0;
};

// An offset: `offset` is the value when known at parse time; `expr` is set when the offset was
// written as a duration expression (experimental), in which case `offset` holds its value only
// when the expression is constant (no step()/range()).
struct Offset {
  absl::Duration offset = absl::ZeroDuration();
  std::unique_ptr<DurationExpr> expr;
};

enum class NodeKind : uint8_t {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
};

class Expr {
 public:
  virtual ~Expr() = default;
  NodeKind kind() const { return kind_; }
  // The PromQL type of the value this expression evaluates to.
  virtual ValueType type() const = 0;
  // Prometheus' canonical single-line form (as /api/v1/format_query returns it).
  std::string String() const;

  template <typename T>
  const T& As() const {
    ORIEL_CHECK(kind_ == T::kKind);
    return static_cast<const T&>(*this);
  }
  template <typename T>
  T& As() {
    ORIEL_CHECK(kind_ == T::kKind);
    return static_cast<T&>(*this);
  }

  PosRange pos;

 protected:
  explicit Expr(NodeKind kind) : kind_(kind) {}

 private:
  NodeKind kind_;
};

using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral : Expr {
  static constexpr NodeKind kKind = NodeKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kScalar; }
  double value = 0;
  // Written as a duration ("5m"): printed back as one; value is in seconds.
  bool is_duration = false;
};

struct StringLiteral : Expr {
  static constexpr NodeKind kKind = NodeKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kString; }
  std::string value;  // unquoted
};

// Extended range selector modifiers (experimental): `anchored` and `smoothed`.
enum class RangeModifier : uint8_t { kNone, kAnchored, kSmoothed };

struct VectorSelector : Expr {
  static constexpr NodeKind kKind = NodeKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kVector; }
  // The metric name written before the braces or as the first quoted string inside them; ""
  // when the name (if any) comes only from a __name__ matcher.
  std::string name;
  // The name came from inside the braces: Prometheus' AST then has no name (only the matcher),
  // which /api/v1/parse_query shows.
  bool name_in_braces = false;
  // All matchers, including __name__="<name>" (last) when `name` is set outside the braces.
  std::vector<model::Matcher> matchers;
  Offset offset;
  AtModifier at;
  RangeModifier range_modifier = RangeModifier::kNone;
  // info()'s second argument may select by labels only (no non-empty matcher required).
  bool bypass_empty_matcher_check = false;
};

// `selector[range]`; offset, @ and anchored/smoothed live on the inner VectorSelector.
struct MatrixSelector : Expr {
  static constexpr NodeKind kKind = NodeKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kMatrix; }
  const VectorSelector& selector() const { return vector_selector->As<VectorSelector>(); }
  ExprPtr vector_selector;  // always a VectorSelector
  absl::Duration range = absl::ZeroDuration();
  std::unique_ptr<DurationExpr> range_expr;  // set when written as a duration expression
};

struct SubqueryExpr : Expr {
  static constexpr NodeKind kKind = NodeKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kMatrix; }
  ExprPtr expr;
  absl::Duration range = absl::ZeroDuration();
  std::unique_ptr<DurationExpr> range_expr;
  absl::Duration step = absl::ZeroDuration();  // zero: the engine's default resolution
  std::unique_ptr<DurationExpr> step_expr;
  Offset offset;
  AtModifier at;
};

struct ParenExpr : Expr {
  static constexpr NodeKind kKind = NodeKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ValueType type() const override { return expr->type(); }
  ExprPtr expr;
};

struct UnaryExpr : Expr {
  static constexpr NodeKind kKind = NodeKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  ValueType type() const override { return expr->type(); }
  bool negate = false;  // `-x`; false for `+x`
  ExprPtr expr;
};

enum class VectorMatchCard : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  VectorMatchCard card = VectorMatchCard::kOneToOne;
  // on(...) when `on`, else ignoring(...) (empty ignoring = plain matching on all labels).
  bool on = false;
  std::vector<std::string> matching_labels;
  // Labels copied from the "one" side with group_left/group_right.
  std::vector<std::string> include;
  // fill / fill_left / fill_right (experimental): value for a missing side.
  std::optional<double> fill_lhs;
  std::optional<double> fill_rhs;
};

struct BinaryExpr : Expr {
  static constexpr NodeKind kKind = NodeKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  ValueType type() const override {
    return lhs->type() == ValueType::kScalar && rhs->type() == ValueType::kScalar
               ? ValueType::kScalar
               : ValueType::kVector;
  }
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  // Present only when both sides are instant vectors (set operators: many-to-many).
  std::optional<VectorMatching> matching;
};

struct AggregateExpr : Expr {
  static constexpr NodeKind kKind = NodeKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kVector; }
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // set iff AggregateOpHasParam(op)
  std::vector<std::string> grouping;
  bool without = false;
};

struct Call : Expr {
  static constexpr NodeKind kKind = NodeKind::kCall;
  Call() : Expr(kKind) {}
  ValueType type() const override { return func->return_type; }
  const Function* func = nullptr;  // points into the static function table
  std::vector<ExprPtr> args;
};

// Strips any number of enclosing parentheses.
const Expr& Unparen(const Expr& e);

}  // namespace oriel::promql
