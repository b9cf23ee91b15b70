#include "promql/parser/prettier.h"

#include "absl/container/flat_hash_map.h"
#include "promql/parser/printer.h"

namespace oriel::promql {
namespace {

class Prettifier {
 public:
  explicit Prettifier(size_t line_limit) : line_limit_(line_limit) {}

  // Appends the pretty form of `e` to out_. `level` is the node's depth below the last split: a
  // parent that split puts each child on a line of its own, and the child indents itself by its
  // level. Everything goes into one buffer: returning strings would copy a deep tree's text
  // once per level.
  void Pretty(const Expr& e, int level) {
    // Only nodes that fit are printed whole, so no text is built more than once.
    bool split = FlatLength(e) > line_limit_;
    switch (e.kind()) {
      case NodeKind::kAggregate: {
        if (!split) return Put(Indent(level), e.String());
        const auto& a = e.As<AggregateExpr>();
        Put(Indent(level), AggregateOpPrefix(a), "(\n");
        if (a.param) {
          Pretty(*a.param, level + 1);
          Put(",\n");
        }
        Pretty(*a.expr, level + 1);
        return Put("\n", Indent(level), ")");
      }
      case NodeKind::kBinary: {
        if (!split) return Put(Indent(level), e.String());
        // The operator sits at the node's own level, between its operands one level deeper.
        const auto& b = e.As<BinaryExpr>();
        Pretty(*b.lhs, level + 1);
        Put("\n", Indent(level), BinaryOpString(b.op), BinaryModifierText(b), "\n");
        return Pretty(*b.rhs, level + 1);
      }
      case NodeKind::kCall: {
        if (!split) return Put(Indent(level), e.String());
        const auto& c = e.As<Call>();
        Put(Indent(level), c.func->name, "(\n");
        for (size_t i = 0; i < c.args.size(); ++i) {
          if (i > 0) Put(",\n");
          Pretty(*c.args[i], level + 1);
        }
        return Put("\n", Indent(level), ")");
      }
      case NodeKind::kParen: {
        if (!split) return Put(Indent(level), e.String());
        Put(Indent(level), "(\n");
        Pretty(*e.As<ParenExpr>().expr, level + 1);
        return Put("\n", Indent(level), ")");
      }
      case NodeKind::kSubquery: {
        // Prometheus returns a subquery that fits without its indentation; kept for identical
        // output.
        if (!split) return Put(e.String());
        const auto& s = e.As<SubqueryExpr>();
        Pretty(*s.expr, level);
        return Put(SubqueryTimeSuffix(s));
      }
      case NodeKind::kUnary: {
        // The operator takes the indentation and the operand follows without its own leading
        // whitespace (Prometheus trims the operand's text).
        const auto& u = e.As<UnaryExpr>();
        Put(Indent(level), u.negate ? "-" : "+");
        trim_leading_space_ = true;
        return Pretty(*u.expr, level);
      }
      case NodeKind::kNumberLiteral:
      case NodeKind::kStringLiteral:
      case NodeKind::kVectorSelector:
      case NodeKind::kMatrixSelector:
        return Put(Indent(level), e.String());
    }
  }

  std::string Take() { return std::move(out_); }

  // e.String().size(), from the children's lengths (memoized): printing every node of a deep
  // tree whole would copy its text once per level, quadratic in the query size.
  size_t FlatLength(const Expr& e) {
    auto it = lengths_.find(&e);
    if (it != lengths_.end()) return it->second;
    size_t n = 0;
    switch (e.kind()) {
      case NodeKind::kAggregate: {
        const auto& a = e.As<AggregateExpr>();
        n = AggregateOpPrefix(a).size() + 2 + FlatLength(*a.expr);  // "op(" expr ")"
        if (a.param) n += FlatLength(*a.param) + 2;                 // param ", "
        break;
      }
      case NodeKind::kBinary: {
        const auto& b = e.As<BinaryExpr>();
        n = FlatLength(*b.lhs) + 2 + BinaryOpString(b.op).size() + BinaryModifierText(b).size() +
            FlatLength(*b.rhs);
        break;
      }
      case NodeKind::kCall: {
        const auto& c = e.As<Call>();
        n = c.func->name.size() + 2;
        for (size_t i = 0; i < c.args.size(); ++i) n += FlatLength(*c.args[i]) + (i > 0 ? 2 : 0);
        break;
      }
      case NodeKind::kParen:
        n = FlatLength(*e.As<ParenExpr>().expr) + 2;
        break;
      case NodeKind::kSubquery: {
        const auto& s = e.As<SubqueryExpr>();
        n = FlatLength(*s.expr) + SubqueryTimeSuffix(s).size();
        break;
      }
      case NodeKind::kUnary:
        n = FlatLength(*e.As<UnaryExpr>().expr) + 1;
        break;
      case NodeKind::kNumberLiteral:
      case NodeKind::kStringLiteral:
      case NodeKind::kVectorSelector:
      case NodeKind::kMatrixSelector:
        n = e.String().size();
        break;
    }
    lengths_[&e] = n;
    return n;
  }

 private:
  static std::string Indent(int level) { return std::string(2 * static_cast<size_t>(level), ' '); }

  template <typename... Parts>
  void Put(const Parts&... parts) {
    (PutOne(std::string_view(parts)), ...);
  }
  void PutOne(std::string_view s) {
    if (trim_leading_space_) {
      size_t begin = s.find_first_not_of(" \t\n\v\f\r");
      if (begin == std::string_view::npos) return;
      s.remove_prefix(begin);
      trim_leading_space_ = false;
    }
    out_.append(s);
  }

  size_t line_limit_;
  std::string out_;
  bool trim_leading_space_ = false;
  absl::flat_hash_map<const Expr*, size_t> lengths_;
};

}  // namespace

std::string Prettify(const Expr& e, size_t line_limit) {
  Prettifier p(line_limit);
  p.Pretty(e, 0);
  return p.Take();
}

}  // namespace oriel::promql
