#include "api/prometheus/ast_json.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "base/json.h"
#include "fmt/format.h"
#include "promql/parser/number_format.h"

namespace oriel::api {
namespace {

using promql::NodeKind;

std::string_view Bool(bool b) { return b ? "true" : "false"; }

std::string_view CardName(promql::VectorMatchCard card) {
  switch (card) {
    case promql::VectorMatchCard::kOneToOne:
      return "one-to-one";
    case promql::VectorMatchCard::kManyToOne:
      return "many-to-one";
    case promql::VectorMatchCard::kOneToMany:
      return "one-to-many";
    case promql::VectorMatchCard::kManyToMany:
      return "many-to-many";
  }
  return "one-to-one";
}

// A finite float64 as encoding/json writes it: plain decimal, exponent form outside
// [1e-6, 1e21) with a one-digit negative exponent ("1e-7", "1e+21").
std::string GoJsonNumber(double v) {
  double abs = std::fabs(v);
  if (abs == 0 || (abs >= 1e-6 && abs < 1e21)) return promql::FormatNumber(v);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string out(buf, end);
  size_t n = out.size();
  if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') out.erase(n - 2, 1);
  return out;
}

// Writes translateAST's objects straight into one buffer (a deep tree would otherwise be copied
// once per level). Go encodes a map[string]any with its keys sorted, so every object below
// lists its members in byte order of their keys.
class AstWriter {
 public:
  void Node(const promql::Expr& e) {
    switch (e.kind()) {
      case NodeKind::kAggregate: {
        const auto& a = e.As<promql::AggregateExpr>();
        Raw("{\"expr\":");
        Node(*a.expr);
        Raw(",\"grouping\":");
        StringList(a.grouping);
        Raw(",\"op\":");
        String(promql::AggregateOpString(a.op));
        Raw(",\"param\":");
        if (a.param) {
          Node(*a.param);
        } else {
          Raw("null");
        }
        Raw(",\"type\":\"aggregation\",\"without\":");
        Raw(Bool(a.without));
        Raw("}");
        return;
      }
      case NodeKind::kBinary: {
        const auto& b = e.As<promql::BinaryExpr>();
        Raw("{\"bool\":");
        Raw(Bool(b.return_bool));
        Raw(",\"lhs\":");
        Node(*b.lhs);
        Raw(",\"matching\":");
        if (b.matching) {
          Matching(*b.matching);
        } else {
          Raw("null");
        }
        Raw(",\"op\":");
        String(promql::BinaryOpString(b.op));
        Raw(",\"rhs\":");
        Node(*b.rhs);
        Raw(",\"type\":\"binaryExpr\"}");
        return;
      }
      case NodeKind::kCall: {
        const auto& c = e.As<promql::Call>();
        Raw("{\"args\":[");
        for (size_t i = 0; i < c.args.size(); ++i) {
          if (i > 0) Raw(",");
          Node(*c.args[i]);
        }
        Raw("],\"func\":{\"argTypes\":[");
        for (size_t i = 0; i < c.func->arg_types.size(); ++i) {
          if (i > 0) Raw(",");
          String(promql::ValueTypeName(c.func->arg_types[i]));
        }
        Raw("],\"name\":");
        String(c.func->name);
        Raw(",\"returnType\":");
        String(promql::ValueTypeName(c.func->return_type));
        Raw(fmt::format(",\"variadic\":{}}},\"type\":\"call\"}}", c.func->variadic));
        return;
      }
      case NodeKind::kMatrixSelector: {
        const auto& m = e.As<promql::MatrixSelector>();
        Selector(m.selector(), "matrixSelector", &m.range);
        return;
      }
      case NodeKind::kSubquery: {
        const auto& s = e.As<promql::SubqueryExpr>();
        // Oriel has no syntax for aligned subqueries.
        Raw("{\"alignEvalTime\":false,\"expr\":");
        Node(*s.expr);
        Raw(fmt::format(",\"offset\":{},\"range\":{},", absl::ToInt64Milliseconds(s.offset.offset),
                        absl::ToInt64Milliseconds(s.range)));
        StartOrEnd(s.at);
        Raw(fmt::format(",\"step\":{},", absl::ToInt64Milliseconds(s.step)));
        Timestamp(s.at);
        Raw(",\"type\":\"subquery\"}");
        return;
      }
      case NodeKind::kNumberLiteral:
        Raw("{\"type\":\"numberLiteral\",\"val\":");
        String(promql::FormatNumber(e.As<promql::NumberLiteral>().value));
        Raw("}");
        return;
      case NodeKind::kParen:
        Raw("{\"expr\":");
        Node(*e.As<promql::ParenExpr>().expr);
        Raw(",\"type\":\"parenExpr\"}");
        return;
      case NodeKind::kStringLiteral:
        Raw("{\"type\":\"stringLiteral\",\"val\":");
        String(e.As<promql::StringLiteral>().value);
        Raw("}");
        return;
      case NodeKind::kUnary: {
        const auto& u = e.As<promql::UnaryExpr>();
        Raw("{\"expr\":");
        Node(*u.expr);
        Raw(u.negate ? ",\"op\":\"-\"" : ",\"op\":\"+\"");
        Raw(",\"type\":\"unaryExpr\"}");
        return;
      }
      case NodeKind::kVectorSelector:
        Selector(e.As<promql::VectorSelector>(), "vectorSelector", nullptr);
        return;
    }
  }

  absl::StatusOr<std::string> Finish() {
    if (!status_.ok()) return status_;
    return std::move(out_);
  }

 private:
  void Raw(std::string_view s) { out_.append(s); }
  void String(std::string_view s) { AppendJsonString(out_, s); }

  void StringList(const std::vector<std::string>& items) {
    Raw("[");
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) Raw(",");
      String(items[i]);
    }
    Raw("]");
  }

  // A vector selector, or the matrix selector around it (`range` set): Prometheus shows the
  // selector's name, matchers and modifiers on the matrix selector node.
  void Selector(const promql::VectorSelector& vs, std::string_view type,
                const absl::Duration* range) {
    static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
    Raw("{\"anchored\":");
    Raw(Bool(vs.range_modifier == promql::RangeModifier::kAnchored));
    Raw(",\"matchers\":[");
    for (size_t i = 0; i < vs.matchers.size(); ++i) {
      const model::Matcher& m = vs.matchers[i];
      Raw(i > 0 ? ",{\"name\":" : "{\"name\":");
      String(m.name());
      Raw(",\"type\":");
      String(kOps[static_cast<int>(m.type())]);
      Raw(",\"value\":");
      String(m.value());
      Raw("}");
    }
    // A name written inside the braces exists in Prometheus' AST only as a matcher.
    Raw("],\"name\":");
    String(vs.name_in_braces ? "" : vs.name);
    Raw(fmt::format(",\"offset\":{},", absl::ToInt64Milliseconds(vs.offset.offset)));
    if (range != nullptr) Raw(fmt::format("\"range\":{},", absl::ToInt64Milliseconds(*range)));
    Raw("\"smoothed\":");
    Raw(Bool(vs.range_modifier == promql::RangeModifier::kSmoothed));
    Raw(",");
    StartOrEnd(vs.at);
    Raw(",");
    Timestamp(vs.at);
    Raw(",\"type\":");
    String(type);
    Raw("}");
  }

  void StartOrEnd(const promql::AtModifier& at) {
    Raw("\"startOrEnd\":");
    Raw(at.kind == promql::AtKind::kStart ? "\"start\""
        : at.kind == promql::AtKind::kEnd ? "\"end\""
                                          : "null");
  }

  void Timestamp(const promql::AtModifier& at) {
    Raw("\"timestamp\":");
    Raw(at.kind == promql::AtKind::kTimestamp ? std::to_string(at.timestamp_ms) : "null");
  }

  void Matching(const promql::VectorMatching& m) {
    Raw("{\"card\":");
    String(CardName(m.card));
    Raw(",\"fillValues\":{\"lhs\":");
    FillValue(m.fill_lhs);
    Raw(",\"rhs\":");
    FillValue(m.fill_rhs);
    Raw("},\"include\":");
    StringList(m.include);
    Raw(",\"labels\":");
    StringList(m.matching_labels);
    Raw(",\"on\":");
    Raw(Bool(m.on));
    Raw("}");
  }

  void FillValue(const std::optional<double>& v) {
    if (!v) return Raw("null");
    // encoding/json refuses NaN and infinities ("json: unsupported value"); so does Prometheus.
    if (!std::isfinite(*v)) {
      status_ = absl::InternalError(
          fmt::format("cannot encode fill value {}: unsupported JSON value", *v));
      return Raw("null");
    }
    Raw(GoJsonNumber(*v));
  }

  std::string out_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::string> AstJson(const promql::Expr& e) {
  AstWriter w;
  w.Node(e);
  return w.Finish();
}

}  // namespace oriel::api
