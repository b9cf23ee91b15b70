#include "promql/parser/check.h"

#include "fmt/format.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {

std::string PositionString(std::string_view input, int32_t pos) {
  int line = 1;
  int32_t last_newline = -1;
  for (int32_t i = 0; i < pos && i < static_cast<int32_t>(input.size()); ++i) {
    if (input[static_cast<size_t>(i)] == '\n') {
      ++line;
      last_newline = i;
    }
  }
  return fmt::format("{}:{}", line, pos - last_newline);
}

namespace {

class Checker {
 public:
  explicit Checker(std::string_view input) : input_(input) {}

  ValueType Check(Expr& e) {
    ValueType type = e.type();
    switch (e.kind()) {
      case NodeKind::kAggregate:
        CheckAggregate(e.As<AggregateExpr>());
        break;
      case NodeKind::kBinary:
        CheckBinary(e.As<BinaryExpr>());
        break;
      case NodeKind::kCall:
        CheckCall(e.As<Call>());
        break;
      case NodeKind::kParen:
        Check(*e.As<ParenExpr>().expr);
        break;
      case NodeKind::kUnary: {
        ValueType t = Check(*e.As<UnaryExpr>().expr);
        if (t != ValueType::kScalar && t != ValueType::kVector) {
          Add(e.pos.start, fmt::format("unary expression only allowed on expressions of type "
                                       "scalar or instant vector, got {}",
                                       QuoteString(DocumentedType(t))));
        }
        break;
      }
      case NodeKind::kSubquery: {
        ValueType t = Check(*e.As<SubqueryExpr>().expr);
        if (t != ValueType::kVector) {
          Add(e.pos.start, fmt::format("subquery is only allowed on instant vector, got {} "
                                       "instead",
                                       ValueTypeName(t)));
        }
        break;
      }
      case NodeKind::kMatrixSelector:
        Check(*e.As<MatrixSelector>().vector_selector);
        break;
      case NodeKind::kVectorSelector:
        CheckSelector(e.As<VectorSelector>());
        break;
      case NodeKind::kNumberLiteral:
      case NodeKind::kStringLiteral:
        break;
    }
    return type;
  }

  CheckError result() && { return std::move(first_); }

 private:
  void Add(int32_t pos, std::string msg) {
    if (first_.message.empty()) first_ = {pos, std::move(msg)};
  }

  void ExpectType(Expr& e, ValueType want, std::string_view context) {
    ValueType t = Check(e);
    if (t != want) {
      Add(e.pos.start, fmt::format("expected type {} in {}, got {}", DocumentedType(want), context,
                                   DocumentedType(t)));
    }
  }

  void CheckAggregate(AggregateExpr& a) {
    ExpectType(*a.expr, ValueType::kVector, "aggregation expression");
    switch (a.op) {
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk:
      case AggregateOp::kQuantile:
      case AggregateOp::kLimitk:
      case AggregateOp::kLimitRatio:
        ExpectType(*a.param, ValueType::kScalar, "aggregation parameter");
        break;
      case AggregateOp::kCountValues:
        ExpectType(*a.param, ValueType::kString, "aggregation parameter");
        break;
      default:
        break;
    }
  }

  // Where the operator of `b` starts: the first non-space after the left operand.
  int32_t OperatorPos(const BinaryExpr& b) const {
    auto i = static_cast<size_t>(b.lhs->pos.end);
    while (i < input_.size() && (input_[i] == ' ' || input_[i] == '\t' || input_[i] == '\n' ||
                                 input_[i] == '\r' || input_[i] == ')')) {
      ++i;
    }
    return static_cast<int32_t>(i);
  }

  void CheckBinary(BinaryExpr& b) {
    ValueType lt = Check(*b.lhs);
    ValueType rt = Check(*b.rhs);
    std::string_view op = BinaryOpString(b.op);
    if (b.return_bool && !IsComparisonOp(b.op)) {
      Add(OperatorPos(b), "bool modifier can only be used on comparison operators");
    }
    if (IsComparisonOp(b.op) && !b.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      Add(OperatorPos(b), "comparisons between scalars must use BOOL modifier");
    }
    VectorMatching& vm = *b.matching;
    if (IsSetOp(b.op) && vm.card == VectorMatchCard::kOneToOne) {
      vm.card = VectorMatchCard::kManyToMany;
    }
    if (vm.on) {
      for (const auto& l1 : vm.matching_labels) {
        for (const auto& l2 : vm.include) {
          if (l1 == l2) {
            Add(OperatorPos(b), fmt::format("label {} must not occur in ON and GROUP clause at "
                                            "once",
                                            QuoteString(l1)));
          }
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      Add(b.lhs->pos.start, "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      Add(b.rhs->pos.start, "binary expression must contain only scalar and instant vector types");
    }
    if (lt != ValueType::kVector || rt != ValueType::kVector) {
      if (!vm.matching_labels.empty()) {
        Add(b.pos.start, "vector matching only allowed between instant vectors");
      }
      if (vm.fill_lhs || vm.fill_rhs) {
        Add(b.pos.start, "filling in missing series only allowed between instant vectors");
      }
      b.matching.reset();
    } else if (IsSetOp(b.op)) {
      if (vm.card == VectorMatchCard::kOneToMany || vm.card == VectorMatchCard::kManyToOne) {
        Add(b.pos.start, fmt::format("no grouping allowed for {} operation", QuoteString(op)));
      }
      if (vm.card != VectorMatchCard::kManyToMany) {
        Add(b.pos.start, "set operations must always be many-to-many");
      }
      if (vm.fill_lhs || vm.fill_rhs) {
        Add(b.pos.start, "filling in missing series not allowed for set operators");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOp(b.op)) {
      Add(b.pos.start,
          fmt::format("set operator {} not allowed in binary scalar expression", QuoteString(op)));
    }
  }

  void CheckCall(Call& c) {
    const Function& f = *c.func;
    auto nargs = static_cast<int>(f.arg_types.size());
    auto got = static_cast<int>(c.args.size());
    std::string name = QuoteString(f.name);
    if (f.variadic == 0) {
      if (nargs != got) {
        Add(c.pos.start,
            fmt::format("expected {} argument(s) in call to {}, got {}", nargs, name, got));
      }
    } else {
      int min = nargs - 1;
      if (min > got) {
        Add(c.pos.start,
            fmt::format("expected at least {} argument(s) in call to {}, got {}", min, name, got));
      } else if (f.variadic > 0 && min + f.variadic < got) {
        Add(c.pos.start, fmt::format("expected at most {} argument(s) in call to {}, got {}",
                                     min + f.variadic, name, got));
      }
    }
    if (f.name == "info" && c.args.size() > 1) {
      Expr& arg = *c.args[1];
      if (arg.type() != ValueType::kVector) {
        Add(c.pos.start,
            fmt::format("expected type {} in call to function {}, got {}",
                        DocumentedType(ValueType::kVector), name, DocumentedType(arg.type())));
      }
      if (arg.kind() == NodeKind::kVectorSelector) {
        auto& vs = arg.As<VectorSelector>();
        if (!vs.name.empty()) {
          Add(arg.pos.start, "expected label selectors only, got vector selector instead");
        } else {
          vs.bypass_empty_matcher_check = true;
        }
      } else {
        Add(arg.pos.start, "expected label selectors only");
      }
    }
    std::string context = fmt::format("call to function {}", name);
    for (size_t i = 0; i < c.args.size(); ++i) {
      size_t t = i;
      if (t >= f.arg_types.size()) {
        if (f.variadic == 0) break;
        t = f.arg_types.size() - 1;
      }
      ExpectType(*c.args[i], f.arg_types[t], context);
    }
  }

  void CheckSelector(VectorSelector& vs) {
    if (!vs.name.empty()) {
      bool seen_own = false;
      for (const model::Matcher& m : vs.matchers) {
        if (m.name() != "__name__") continue;
        if (!seen_own && m.type() == model::MatchType::kEqual && m.value() == vs.name) {
          seen_own = true;
          continue;
        }
        Add(vs.pos.start, fmt::format("metric name must not be set twice: {} or {}",
                                      QuoteString(vs.name), QuoteString(m.value())));
        break;
      }
      return;
    }
    if (vs.bypass_empty_matcher_check) return;
    for (const model::Matcher& m : vs.matchers) {
      if (!m.Matches("")) return;
    }
    Add(vs.pos.start, "vector selector must contain at least one non-empty matcher");
  }

  std::string_view input_;
  CheckError first_;
};

}  // namespace

absl::Status ValidateRangeModifier(const Call& call) {
  std::string_view n = call.func->name;
  for (const ExprPtr& arg : call.args) {
    if (arg->kind() != NodeKind::kMatrixSelector) continue;
    RangeModifier m = arg->As<MatrixSelector>().selector().range_modifier;
    if (m == RangeModifier::kSmoothed && n != "delta" && n != "increase" && n != "rate") {
      return absl::InvalidArgumentError(fmt::format(
          "smoothed modifier can only be used with: delta, increase, rate - not with {}", n));
    }
    if (m == RangeModifier::kAnchored && n != "changes" && n != "delta" && n != "increase" &&
        n != "rate" && n != "resets") {
      return absl::InvalidArgumentError(
          fmt::format("anchored modifier can only be used with: changes, delta, increase, rate, "
                      "resets - not with {}",
                      n));
    }
  }
  return absl::OkStatus();
}

CheckError CheckAst(Expr& e, std::string_view input) {
  Checker c(input);
  c.Check(e);
  return std::move(c).result();
}

}  // namespace oriel::promql
