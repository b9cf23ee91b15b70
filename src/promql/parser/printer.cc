// Expr::String(): Prometheus' canonical query text (printer.go); the pieces in printer.h are
// shared with the prettier.
#include "promql/parser/printer.h"

#include <algorithm>
#include <cmath>

#include "base/units.h"
#include "fmt/format.h"
#include "promql/parser/ast.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {
namespace {

void AppendLabels(std::string& out, const std::vector<std::string>& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += IsLegacyLabelName(labels[i]) ? labels[i] : QuoteString(labels[i]);
  }
}

std::string MatcherString(const model::Matcher& m) {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  std::string name = IsLegacyLabelName(m.name()) ? m.name() : QuoteString(m.name());
  return name + kOps[static_cast<int>(m.type())] + QuoteString(m.value());
}

std::string DurationText(absl::Duration d) {
  if (d < absl::ZeroDuration()) return fmt::format("-{}", DurationString(-d));
  return DurationString(d);
}

std::string OffsetText(const Offset& o) {
  if (o.expr != nullptr) return fmt::format(" offset {}", o.expr->String());
  if (o.offset == absl::ZeroDuration()) return "";
  return fmt::format(" offset {}", DurationText(o.offset));
}

std::string AtText(const AtModifier& at) {
  switch (at.kind) {
    case AtKind::kNone:
      return "";
    case AtKind::kStart:
      return " @ start()";
    case AtKind::kEnd:
      return " @ end()";
    case AtKind::kTimestamp:
      return fmt::format(" @ {:.3f}", static_cast<double>(at.timestamp_ms) / 1000.0);
  }
  return "";
}

std::string RangeModifierText(RangeModifier m) {
  switch (m) {
    case RangeModifier::kAnchored:
      return " anchored";
    case RangeModifier::kSmoothed:
      return " smoothed";
    default:
      return "";
  }
}

// The selector without its modifiers: `name{a="b"}`, or `{"my.metric", a="b"}` for a name that
// needs quoting.
std::string SelectorText(const VectorSelector& vs) {
  bool legacy_name = IsLegacyMetricName(vs.name);
  std::vector<std::string> parts;
  bool skipped_name = false;
  for (const model::Matcher& m : vs.matchers) {
    if (!skipped_name && !vs.name.empty() && m.name() == "__name__" &&
        m.type() == model::MatchType::kEqual && m.value() == vs.name) {
      skipped_name = true;
      continue;
    }
    parts.push_back(MatcherString(m));
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  if (!vs.name.empty() && !legacy_name) {
    out = fmt::format("{{{}", QuoteString(vs.name));
    for (const auto& p : parts) out.append(", ").append(p);
    return out + "}";
  }
  out = vs.name;
  if (!parts.empty()) {
    out += '{';
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out += ',';
      out += parts[i];
    }
    out += '}';
  }
  return out;
}

std::string Print(const Expr& e) {
  switch (e.kind()) {
    case NodeKind::kNumberLiteral: {
      const auto& n = e.As<NumberLiteral>();
      if (n.is_duration) {
        return n.value < 0 ? fmt::format("-{}", DurationString(SecondsToDuration(-n.value)))
                           : DurationString(SecondsToDuration(n.value));
      }
      return FormatNumber(n.value);
    }
    case NodeKind::kStringLiteral:
      return QuoteString(e.As<StringLiteral>().value);
    case NodeKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      return SelectorText(vs) + AtText(vs.at) + RangeModifierText(vs.range_modifier) +
             OffsetText(vs.offset);
    }
    case NodeKind::kMatrixSelector: {
      const auto& m = e.As<MatrixSelector>();
      const VectorSelector& vs = m.selector();
      std::string range = m.range_expr ? m.range_expr->String() : DurationString(m.range);
      return SelectorText(vs) + "[" + range + "]" + RangeModifierText(vs.range_modifier) +
             AtText(vs.at) + OffsetText(vs.offset);
    }
    case NodeKind::kSubquery: {
      const auto& s = e.As<SubqueryExpr>();
      return Print(*s.expr) + SubqueryTimeSuffix(s);
    }
    case NodeKind::kParen:
      return fmt::format("({})", Print(*e.As<ParenExpr>().expr));
    case NodeKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      return fmt::format("{}{}", u.negate ? "-" : "+", Print(*u.expr));
    }
    case NodeKind::kBinary: {
      const auto& b = e.As<BinaryExpr>();
      return Print(*b.lhs) + " " + std::string(BinaryOpString(b.op)) + BinaryModifierText(b) + " " +
             Print(*b.rhs);
    }
    case NodeKind::kAggregate: {
      const auto& a = e.As<AggregateExpr>();
      std::string out = AggregateOpPrefix(a) + "(";
      if (a.param) out += Print(*a.param) + ", ";
      return out + Print(*a.expr) + ")";
    }
    case NodeKind::kCall: {
      const auto& c = e.As<Call>();
      std::string out = std::string(c.func->name) + "(";
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (i > 0) out += ", ";
        out += Print(*c.args[i]);
      }
      return out + ")";
    }
  }
  return "";
}

}  // namespace

std::string AggregateOpPrefix(const AggregateExpr& a) {
  std::string out(AggregateOpString(a.op));
  if (a.without || !a.grouping.empty()) {
    out += a.without ? " without (" : " by (";
    AppendLabels(out, a.grouping);
    out += ") ";
  }
  return out;
}

std::string BinaryModifierText(const BinaryExpr& b) {
  std::string out = b.return_bool ? " bool" : "";
  if (!b.matching) return out;
  const VectorMatching& vm = *b.matching;
  bool grouped = vm.card == VectorMatchCard::kManyToOne || vm.card == VectorMatchCard::kOneToMany;
  if (!vm.matching_labels.empty() || vm.on || grouped) {
    out += vm.on ? " on (" : " ignoring (";
    AppendLabels(out, vm.matching_labels);
    out += ")";
  }
  if (grouped) {
    out += vm.card == VectorMatchCard::kManyToOne ? " group_left (" : " group_right (";
    AppendLabels(out, vm.include);
    out += ")";
  }
  if (vm.fill_lhs || vm.fill_rhs) {
    bool same =
        vm.fill_lhs && vm.fill_rhs &&
        (*vm.fill_lhs == *vm.fill_rhs || (std::isnan(*vm.fill_lhs) && std::isnan(*vm.fill_rhs)));
    if (same) {
      out += fmt::format(" fill ({})", FormatNumber(*vm.fill_lhs));
    } else {
      if (vm.fill_lhs) out += fmt::format(" fill_left ({})", FormatNumber(*vm.fill_lhs));
      if (vm.fill_rhs) out += fmt::format(" fill_right ({})", FormatNumber(*vm.fill_rhs));
    }
  }
  return out;
}

std::string SubqueryTimeSuffix(const SubqueryExpr& s) {
  std::string range = s.range_expr ? s.range_expr->String() : DurationString(s.range);
  std::string step;
  if (s.step_expr) {
    step = s.step_expr->String();
  } else if (s.step != absl::ZeroDuration()) {
    step = DurationString(s.step);
  }
  return "[" + range + ":" + step + "]" + AtText(s.at) + OffsetText(s.offset);
}

std::string Expr::String() const { return Print(*this); }

}  // namespace oriel::promql
