// A recursive-descent, precedence-climbing PromQL parser. Operator precedence, associativity and
// the error texts follow Prometheus' yacc grammar (generated_parser.y) and lexer.
#include "promql/parser/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/status.h"
#include "base/units.h"
#include "fmt/format.h"
#include "promql/parser/check.h"
#include "promql/parser/lexer.h"
#include "promql/parser/number_format.h"

namespace oriel::promql {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<AggregateOp> AggregateFromName(std::string_view lower) {
  static constexpr std::pair<std::string_view, AggregateOp> kOps[] = {
      {"sum", AggregateOp::kSum},
      {"avg", AggregateOp::kAvg},
      {"count", AggregateOp::kCount},
      {"min", AggregateOp::kMin},
      {"max", AggregateOp::kMax},
      {"group", AggregateOp::kGroup},
      {"stddev", AggregateOp::kStddev},
      {"stdvar", AggregateOp::kStdvar},
      {"topk", AggregateOp::kTopk},
      {"bottomk", AggregateOp::kBottomk},
      {"count_values", AggregateOp::kCountValues},
      {"quantile", AggregateOp::kQuantile},
      {"limitk", AggregateOp::kLimitk},
      {"limit_ratio", AggregateOp::kLimitRatio},
  };
  for (const auto& [name, op] : kOps) {
    if (name == lower) return op;
  }
  return std::nullopt;
}

bool IsKeyword(std::string_view lower) {
  static constexpr std::string_view kKeywords[] = {
      "bool",    "by",       "group_left", "group_right", "ignoring",  "offset",    "on",
      "without", "anchored", "smoothed",   "fill",        "fill_left", "fill_right"};
  for (auto k : kKeywords) {
    if (k == lower) return true;
  }
  return false;
}

bool IsOpKeyword(std::string_view lower) {
  return lower == "and" || lower == "or" || lower == "unless" || lower == "atan2";
}

// Go's %.10q... for long token values, %q otherwise.
std::string QuoteTokenValue(std::string_view v) {
  if (v.size() > 10) return QuoteString(v.substr(0, 10)) + "...";
  return QuoteString(v);
}

// Prometheus' Item.desc(): how an unexpected token is named in error messages.
std::string Describe(const Token& t) {
  switch (t.type) {
    case TokenType::kEof:
      return "end of input";
    case TokenType::kError:
      return std::string(t.text);
    case TokenType::kIdentifier: {
      std::string lower = Lower(t.text);
      if (IsKeyword(lower)) return fmt::format("<{}>", t.text);
      if (IsOpKeyword(lower)) return fmt::format("<op:{}>", t.text);
      if (AggregateFromName(lower)) return fmt::format("<aggr:{}>", t.text);
      if (lower == "start" || lower == "end") return QuoteString(t.text);
      return fmt::format("identifier {}", QuoteString(t.text));
    }
    case TokenType::kMetricIdentifier:
      return fmt::format("metric identifier {}", QuoteString(t.text));
    case TokenType::kNumber:
      return fmt::format("number {}", QuoteTokenValue(t.text));
    case TokenType::kDuration:
      return fmt::format("duration {}", QuoteTokenValue(t.text));
    case TokenType::kString:
      return fmt::format("string {}", QuoteTokenValue(t.text));
    case TokenType::kEqlc:
    case TokenType::kNeq:
    case TokenType::kEqlRegex:
    case TokenType::kNeqRegex:
    case TokenType::kLss:
    case TokenType::kLte:
    case TokenType::kGtr:
    case TokenType::kGte:
    case TokenType::kTrimUpper:
    case TokenType::kTrimLower:
    case TokenType::kAdd:
    case TokenType::kSub:
    case TokenType::kMul:
    case TokenType::kDiv:
    case TokenType::kMod:
    case TokenType::kPow:
    case TokenType::kAt:
      return fmt::format("<op:{}>", t.text);
    default:
      return QuoteString(t.text);
  }
}

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
    case BinaryOp::kUnless:
      return 2;
    case BinaryOp::kEql:
    case BinaryOp::kNeq:
    case BinaryOp::kGtr:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kLte:
      return 3;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2:
    case BinaryOp::kTrimUpper:
    case BinaryOp::kTrimLower:
      return 5;
    case BinaryOp::kPow:
      return 6;
  }
  return 0;
}
constexpr int kPowPrecedence = 6;

// Bounds the depth of the tree (and of the recursion that builds, checks and prints it) so that
// hostile input such as 100k opening parentheses is an error, not a stack overflow.
constexpr int kMaxNesting = 1000;

// Parses a Go float literal as strconv.ParseFloat does for the lexer's NUMBER tokens.
std::optional<double> ParseNumber(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "inf") return HUGE_VAL;
  if (lower == "nan") return std::nan("");
  std::string s(text);
  char* end = nullptr;
  // strconv.ParseInt(s, 0, 64) first: a leading 0 means octal ("017" is 15).
  if (s.size() > 1 && s[0] == '0' && s.find_first_not_of("01234567") == std::string::npos) {
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 8);
    if (errno == 0 && end == s.c_str() + s.size()) return static_cast<double>(i);
  }
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::string UnquoteError(std::string_view quoted, const absl::Status& s) {
  return fmt::format("error unquoting string {}: {}", QuoteString(quoted), s.message());
}

class Parser {
 public:
  Parser(std::string_view input, const ParseOptions& options)
      : input_(input), options_(options), lex_(Lex(input)) {}

  absl::StatusOr<ExprPtr> ParseTop() {
    if (Peek().type == TokenType::kEof) return Error(0, "no expression found in input");
    ExprPtr e = ParseBinary(0);
    if (e != nullptr && Peek().type != TokenType::kEof) Unexpected("", "");
    if (!error_.empty()) return Error(error_pos_, error_);
    CheckError err = CheckAst(*e, input_);
    if (!err.message.empty()) return Error(err.pos, err.message);
    return e;
  }

  absl::StatusOr<std::vector<model::Matcher>> ParseSelectorTop() {
    ExprPtr e;
    const Token& t = Peek();
    if (t.type == TokenType::kIdentifier || t.type == TokenType::kMetricIdentifier ||
        t.type == TokenType::kLeftBrace) {
      e = ParseVectorSelector();
    } else {
      Unexpected("", "");
    }
    if (e != nullptr && Peek().type != TokenType::kEof) Unexpected("", "");
    if (!error_.empty()) return Error(error_pos_, error_);
    CheckError err = CheckAst(*e, input_);
    if (!err.message.empty()) return Error(err.pos, err.message);
    return std::move(e->As<VectorSelector>().matchers);
  }

 private:
  absl::Status Error(int32_t pos, std::string_view msg) const {
    return absl::InvalidArgumentError(
        fmt::format("{}: parse error: {}", PositionString(input_, pos), msg));
  }

  const Token& Peek(size_t k = 0) const {
    size_t i = std::min(next_ + k, lex_.tokens.size() - 1);
    return lex_.tokens[i];
  }
  Token Next() {
    const Token& t = Peek();
    if (next_ < lex_.tokens.size() - 1) ++next_;
    last_end_ = t.pos + static_cast<int32_t>(t.text.size());
    return t;
  }
  bool PeekIdent(std::string_view lower_word, size_t k = 0) const {
    const Token& t = Peek(k);
    return t.type == TokenType::kIdentifier && Lower(t.text) == lower_word;
  }

  // Records the first error; returns nullptr for convenience.
  std::nullptr_t Fail(int32_t pos, std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      error_pos_ = pos;
    }
    return nullptr;
  }
  // Prometheus' "unexpected <token> in <context>, expected <what>"; a lexer error wins.
  std::nullptr_t Unexpected(std::string_view context, std::string_view expected) {
    const Token& t = Peek();
    if (t.type == TokenType::kError) return Fail(t.pos, std::string(t.text));
    std::string msg = "unexpected " + Describe(t);
    if (!context.empty()) msg += fmt::format(" in {}", context);
    if (!expected.empty()) msg += fmt::format(", expected {}", expected);
    return Fail(t.pos, std::move(msg));
  }
  bool failed() const { return !error_.empty(); }

  std::optional<BinaryOp> PeekBinaryOp() const {
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kAdd:
        return BinaryOp::kAdd;
      case TokenType::kSub:
        return BinaryOp::kSub;
      case TokenType::kMul:
        return BinaryOp::kMul;
      case TokenType::kDiv:
        return BinaryOp::kDiv;
      case TokenType::kMod:
        return BinaryOp::kMod;
      case TokenType::kPow:
        return BinaryOp::kPow;
      case TokenType::kEqlc:
        return BinaryOp::kEql;
      case TokenType::kNeq:
        return BinaryOp::kNeq;
      case TokenType::kGtr:
        return BinaryOp::kGtr;
      case TokenType::kLss:
        return BinaryOp::kLss;
      case TokenType::kGte:
        return BinaryOp::kGte;
      case TokenType::kLte:
        return BinaryOp::kLte;
      case TokenType::kTrimUpper:
        return BinaryOp::kTrimUpper;
      case TokenType::kTrimLower:
        return BinaryOp::kTrimLower;
      case TokenType::kIdentifier: {
        std::string w = Lower(t.text);
        if (w == "and") return BinaryOp::kAnd;
        if (w == "or") return BinaryOp::kOr;
        if (w == "unless") return BinaryOp::kUnless;
        if (w == "atan2") return BinaryOp::kAtan2;
        return std::nullopt;
      }
      default:
        return std::nullopt;
    }
  }

  // Restores the nesting level when a parse function returns.
  class NestingGuard {
   public:
    explicit NestingGuard(int& n) : n_(n), saved_(n) {}
    ~NestingGuard() { n_ = saved_; }

   private:
    int& n_;
    int saved_;
  };
  // Counts one more level of tree depth; false (with an error) past kMaxNesting.
  bool Nest() {
    if (++nesting_ <= kMaxNesting) return true;
    Fail(Peek().pos,
         fmt::format("cannot parse: expression nests deeper than {} levels", kMaxNesting));
    return false;
  }

  ExprPtr ParseBinary(int min_prec) {
    NestingGuard guard(nesting_);
    if (!Nest()) return nullptr;
    ExprPtr lhs = ParseUnary();
    while (lhs != nullptr) {
      std::optional<BinaryOp> op = PeekBinaryOp();
      if (!op || Precedence(*op) < min_prec) break;
      if (!Nest()) return nullptr;
      Next();
      auto bin = std::make_unique<BinaryExpr>();
      bin->op = *op;
      if (!ParseBinaryModifiers(*bin, lhs->pos.start)) return nullptr;
      int prec = Precedence(*op);
      ExprPtr rhs = ParseBinary(*op == BinaryOp::kPow ? prec : prec + 1);
      if (rhs == nullptr) return nullptr;
      bin->pos = {lhs->pos.start, rhs->pos.end};
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      lhs = std::move(bin);
    }
    return lhs;
  }

  // bool, on/ignoring, group_left/group_right and fill modifiers after a binary operator.
  // `start` is where the binary expression starts (for errors).
  bool ParseBinaryModifiers(BinaryExpr& bin, int32_t start) {
    VectorMatching vm;
    if (PeekIdent("bool")) {
      Next();
      bin.return_bool = true;
    }
    bool has_on_or_ignoring = false;
    if (PeekIdent("on") || PeekIdent("ignoring")) {
      vm.on = PeekIdent("on");
      Next();
      has_on_or_ignoring = true;
      if (!ParseGroupingLabels(vm.matching_labels)) return false;
      if (PeekIdent("group_left") || PeekIdent("group_right")) {
        vm.card =
            PeekIdent("group_left") ? VectorMatchCard::kManyToOne : VectorMatchCard::kOneToMany;
        Next();
        if (Peek().type == TokenType::kLeftParen && !IsFillAhead()) {
          if (!ParseGroupingLabels(vm.include)) return false;
        }
      }
    }
    if (!has_on_or_ignoring && (PeekIdent("group_left") || PeekIdent("group_right"))) {
      Unexpected("", "");
      return false;
    }
    while (IsFillAhead()) {
      const Token kw = Next();
      if (!options_.enable_binop_fill_modifiers) {
        Fail(start, "binop fill modifiers are experimental and not enabled");
        return false;
      }
      std::string which = Lower(kw.text);
      Next();  // (
      bool negative = false;
      if (Peek().type == TokenType::kSub || Peek().type == TokenType::kAdd) {
        negative = Next().type == TokenType::kSub;
      }
      if (Peek().type != TokenType::kNumber && Peek().type != TokenType::kDuration) {
        Unexpected("fill modifier", "number");
        return false;
      }
      std::optional<double> v = NumberValue(Next());
      if (!v) return false;
      if (negative) *v = -*v;
      if (Peek().type != TokenType::kRightParen) {
        Unexpected("fill modifier", "\")\"");
        return false;
      }
      Next();
      if (which == "fill" || which == "fill_left") vm.fill_lhs = *v;
      if (which == "fill" || which == "fill_right") vm.fill_rhs = *v;
    }
    bin.matching = std::move(vm);
    return true;
  }

  bool IsFillAhead() const {
    return (PeekIdent("fill") || PeekIdent("fill_left") || PeekIdent("fill_right")) &&
           Peek(1).type == TokenType::kLeftParen;
  }

  std::optional<double> NumberValue(const Token& t) {
    if (t.type == TokenType::kDuration) {
      auto d = DurationValue(t);
      if (!d) return std::nullopt;
      return absl::ToDoubleSeconds(*d);
    }
    std::optional<double> v = ParseNumber(t.text);
    if (!v) Fail(t.pos, fmt::format("error parsing number: {}", QuoteString(t.text)));
    return v;
  }

  std::optional<absl::Duration> DurationValue(const Token& t) {
    absl::StatusOr<absl::Duration> d = ParseDuration(t.text);
    if (!d.ok()) {
      Fail(t.pos, fmt::format("not a valid duration string: {}", QuoteString(t.text)));
      return std::nullopt;
    }
    return *d;
  }

  // `(label, "quoted.label", ...)` with an optional trailing comma.
  bool ParseGroupingLabels(std::vector<std::string>& out) {
    if (Peek().type != TokenType::kLeftParen) {
      Unexpected("grouping opts", "\"(\"");
      return false;
    }
    Next();
    out.clear();
    while (Peek().type != TokenType::kRightParen) {
      const Token& t = Peek();
      if (t.type == TokenType::kIdentifier) {
        out.emplace_back(t.text);
        Next();
      } else if (t.type == TokenType::kString) {
        absl::StatusOr<std::string> s = UnquoteString(t.text);
        if (!s.ok()) return Fail(t.pos, UnquoteError(t.text, s.status())), false;
        out.push_back(std::move(*s));
        Next();
      } else {
        Unexpected("grouping opts", "label");
        return false;
      }
      if (Peek().type == TokenType::kComma) {
        Next();
      } else if (Peek().type != TokenType::kRightParen) {
        Unexpected("grouping opts", "\",\" or \")\"");
        return false;
      }
    }
    Next();
    return true;
  }

  ExprPtr ParseUnary() {
    const Token& t = Peek();
    if (t.type != TokenType::kAdd && t.type != TokenType::kSub) return ParsePostfix();
    Token op = Next();
    // Unary operators bind like multiplication: only ^ (and postfix modifiers) bind tighter.
    ExprPtr operand = ParseBinary(kPowPrecedence);
    if (operand == nullptr) return nullptr;
    if (operand->kind() == NodeKind::kNumberLiteral) {
      auto& n = operand->As<NumberLiteral>();
      if (op.type == TokenType::kSub) n.value = -n.value;
      n.pos.start = op.pos;
      return operand;
    }
    auto u = std::make_unique<UnaryExpr>();
    u->negate = op.type == TokenType::kSub;
    u->pos = {op.pos, operand->pos.end};
    u->expr = std::move(operand);
    return u;
  }

  ExprPtr ParsePostfix() {
    ExprPtr e = ParsePrimary();
    while (e != nullptr) {
      if (Peek().type == TokenType::kLeftBracket) {
        e = ParseRangeOrSubquery(std::move(e));
      } else if (PeekIdent("offset")) {
        e = ParseOffset(std::move(e));
      } else if (Peek().type == TokenType::kAt) {
        e = ParseAt(std::move(e));
      } else if (PeekIdent("anchored") || PeekIdent("smoothed")) {
        e = ParseRangeModifier(std::move(e));
      } else {
        break;
      }
    }
    return e;
  }

  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kNumber:
      case TokenType::kDuration: {
        Token tok = Next();
        auto n = std::make_unique<NumberLiteral>();
        std::optional<double> v = NumberValue(tok);
        if (!v) return nullptr;
        n->value = *v;
        n->is_duration = tok.type == TokenType::kDuration;
        n->pos = {tok.pos, last_end_};
        return n;
      }
      case TokenType::kString: {
        Token tok = Next();
        absl::StatusOr<std::string> s = UnquoteString(tok.text);
        if (!s.ok()) return Fail(tok.pos, UnquoteError(tok.text, s.status()));
        auto n = std::make_unique<StringLiteral>();
        n->value = std::move(*s);
        n->pos = {tok.pos, last_end_};
        return n;
      }
      case TokenType::kLeftParen: {
        Token open = Next();
        ExprPtr inner = ParseBinary(0);
        if (inner == nullptr) return nullptr;
        if (Peek().type != TokenType::kRightParen) return Unexpected("paren expression", "\")\"");
        Next();
        auto p = std::make_unique<ParenExpr>();
        p->expr = std::move(inner);
        p->pos = {open.pos, last_end_};
        return p;
      }
      case TokenType::kLeftBrace:
        return ParseVectorSelector();
      case TokenType::kMetricIdentifier:
        return ParseVectorSelector();
      case TokenType::kIdentifier: {
        std::string lower = Lower(t.text);
        std::optional<AggregateOp> agg = AggregateFromName(lower);
        const Token& next = Peek(1);
        if (agg &&
            (next.type == TokenType::kLeftParen || PeekIdent("by", 1) || PeekIdent("without", 1))) {
          return ParseAggregate(*agg);
        }
        if (next.type == TokenType::kLeftParen) return ParseCall();
        if (lower == "bool" || lower == "on" || lower == "ignoring" || lower == "group_left" ||
            lower == "group_right") {
          return Unexpected("", "");
        }
        return ParseVectorSelector();
      }
      default:
        return Unexpected("", "");
    }
  }

  // Arguments of a call or aggregation: `(a, b, ...)`.
  bool ParseArgs(std::vector<ExprPtr>& args) {
    if (Peek().type != TokenType::kLeftParen) {
      Unexpected("", "\"(\"");
      return false;
    }
    Next();
    if (Peek().type == TokenType::kRightParen) {
      Next();
      return true;
    }
    while (true) {
      ExprPtr arg = ParseBinary(0);
      if (arg == nullptr) return false;
      args.push_back(std::move(arg));
      if (Peek().type == TokenType::kComma) {
        Token comma = Next();
        if (Peek().type == TokenType::kRightParen) {
          Fail(comma.pos, "trailing commas not allowed in function call args");
          return false;
        }
        continue;
      }
      if (Peek().type == TokenType::kRightParen) {
        Next();
        return true;
      }
      Unexpected("", "\",\" or \")\"");
      return false;
    }
  }

  ExprPtr ParseCall() {
    Token name = Next();
    const Function* fn = LookupFunction(name.text);
    if (fn == nullptr) {
      return Fail(name.pos, fmt::format("unknown function with name {}", QuoteString(name.text)));
    }
    if (fn->experimental && !options_.enable_experimental_functions) {
      return Fail(name.pos, fmt::format("function {} is not enabled", QuoteString(name.text)));
    }
    auto call = std::make_unique<Call>();
    call->func = fn;
    if (!ParseArgs(call->args)) return nullptr;
    call->pos = {name.pos, last_end_};
    return call;
  }

  ExprPtr ParseAggregate(AggregateOp op) {
    Token name = Next();
    auto agg = std::make_unique<AggregateExpr>();
    agg->op = op;
    bool have_grouping = false;
    if (PeekIdent("by") || PeekIdent("without")) {
      agg->without = PeekIdent("without");
      Next();
      if (!ParseGroupingLabels(agg->grouping)) return nullptr;
      have_grouping = true;
    }
    std::vector<ExprPtr> args;
    if (Peek().type != TokenType::kLeftParen) return Unexpected("aggregation", "");
    if (!ParseArgs(args)) return nullptr;
    if (!have_grouping && (PeekIdent("by") || PeekIdent("without"))) {
      agg->without = PeekIdent("without");
      Next();
      if (!ParseGroupingLabels(agg->grouping)) return nullptr;
    }
    agg->pos = {name.pos, last_end_};
    if (args.empty()) return Fail(agg->pos.start, "no arguments for aggregate expression provided");
    size_t want = 1;
    if (AggregateOpHasParam(op)) {
      if (AggregateOpIsExperimental(op) && !options_.enable_experimental_functions) {
        return Fail(agg->pos.start, fmt::format("{}() is experimental and must be enabled with "
                                                "--enable-feature=promql-experimental-functions",
                                                AggregateOpString(op)));
      }
      want = 2;
    }
    if (args.size() != want) {
      return Fail(agg->pos.start,
                  fmt::format("wrong number of arguments for aggregate expression provided, "
                              "expected {}, got {}",
                              want, args.size()));
    }
    if (want == 2) agg->param = std::move(args[0]);
    agg->expr = std::move(args[want - 1]);
    return agg;
  }

  ExprPtr ParseVectorSelector() {
    auto vs = std::make_unique<VectorSelector>();
    vs->pos.start = Peek().pos;
    bool name_outside = false;
    if (Peek().type == TokenType::kIdentifier || Peek().type == TokenType::kMetricIdentifier) {
      vs->name = std::string(Next().text);
      name_outside = true;
    }
    if (Peek().type == TokenType::kLeftBrace) {
      Next();
      bool first = true;
      std::string quoted_name;
      while (Peek().type != TokenType::kRightBrace) {
        if (!ParseLabelMatcher(*vs, first, quoted_name)) return nullptr;
        first = false;
        if (Peek().type == TokenType::kComma) {
          Next();
        } else if (Peek().type != TokenType::kRightBrace) {
          return Unexpected("label matching", "\",\" or \"}\"");
        }
      }
      Next();
      if (!name_outside && !quoted_name.empty()) {
        vs->name = std::move(quoted_name);
        vs->name_in_braces = true;
      }
    }
    // A name outside the braces becomes the last matcher (one inside already is a matcher).
    if (name_outside) {
      absl::StatusOr<model::Matcher> m =
          model::Matcher::Create(model::MatchType::kEqual, "__name__", vs->name);
      vs->matchers.push_back(std::move(*m));
    }
    vs->pos.end = last_end_;
    return vs;
  }

  // One `label op "value"` or a bare quoted metric name inside braces.
  // A bare string first in the braces is the metric name: it is stored in `quoted_name`.
  bool ParseLabelMatcher(VectorSelector& vs, bool first, std::string& quoted_name) {
    const Token name = Peek();
    std::string label;
    if (name.type == TokenType::kIdentifier) {
      label = std::string(name.text);
      Next();
    } else if (name.type == TokenType::kString) {
      absl::StatusOr<std::string> s = UnquoteString(name.text);
      if (!s.ok()) return Fail(name.pos, UnquoteError(name.text, s.status())), false;
      label = std::move(*s);
      Next();
      if (Peek().type == TokenType::kComma || Peek().type == TokenType::kRightBrace) {
        // {"metric.name", ...}: the metric name in Prometheus 3's quoted form.
        if (first) quoted_name = label;
        absl::StatusOr<model::Matcher> m =
            model::Matcher::Create(model::MatchType::kEqual, "__name__", label);
        vs.matchers.push_back(std::move(*m));
        return true;
      }
    } else {
      Unexpected("label matching", "identifier or \"}\"");
      return false;
    }
    model::MatchType type;
    switch (Peek().type) {
      case TokenType::kAssign:
        type = model::MatchType::kEqual;
        break;
      case TokenType::kNeq:
        type = model::MatchType::kNotEqual;
        break;
      case TokenType::kEqlRegex:
        type = model::MatchType::kRegexMatch;
        break;
      case TokenType::kNeqRegex:
        type = model::MatchType::kRegexNoMatch;
        break;
      default:
        Unexpected("label matching", "label matching operator");
        return false;
    }
    Next();
    if (Peek().type != TokenType::kString) {
      Unexpected("label matching", "string");
      return false;
    }
    Token value_tok = Next();
    absl::StatusOr<std::string> value = UnquoteString(value_tok.text);
    if (!value.ok())
      return Fail(value_tok.pos, UnquoteError(value_tok.text, value.status())), false;
    absl::StatusOr<model::Matcher> m = model::Matcher::Create(type, label, std::move(*value));
    if (!m.ok()) return Fail(name.pos, std::string(m.status().message())), false;
    vs.matchers.push_back(std::move(*m));
    return true;
  }

  // Parses a duration expression (a plain number or duration unless the experimental feature is
  // on). `single` restricts it to an optionally signed primary, as after `offset`.
  std::unique_ptr<DurationExpr> ParseDurationExpr(bool single, std::string_view context,
                                                  std::string_view expected) {
    std::unique_ptr<DurationExpr> d =
        single ? ParseDurationUnary(kPowPrecedence + 1, context, expected)
               : ParseDurationBinary(0, context, expected);
    return d;
  }

  std::unique_ptr<DurationExpr> ParseDurationBinary(int min_prec, std::string_view context,
                                                    std::string_view expected) {
    NestingGuard guard(nesting_);
    if (!Nest()) return nullptr;
    auto lhs = ParseDurationUnary(kPowPrecedence, context, expected);
    while (lhs != nullptr) {
      std::optional<BinaryOp> op = PeekBinaryOp();
      if (!op) break;
      DurationExpr::Op dop;
      switch (*op) {
        case BinaryOp::kAdd:
          dop = DurationExpr::Op::kAdd;
          break;
        case BinaryOp::kSub:
          dop = DurationExpr::Op::kSub;
          break;
        case BinaryOp::kMul:
          dop = DurationExpr::Op::kMul;
          break;
        case BinaryOp::kDiv:
          dop = DurationExpr::Op::kDiv;
          break;
        case BinaryOp::kMod:
          dop = DurationExpr::Op::kMod;
          break;
        case BinaryOp::kPow:
          dop = DurationExpr::Op::kPow;
          break;
        default:
          return lhs;
      }
      int prec = Precedence(*op);
      if (prec < min_prec) break;
      if (!Nest()) return nullptr;
      Next();
      auto rhs = ParseDurationBinary(*op == BinaryOp::kPow ? prec : prec + 1, context, expected);
      if (rhs == nullptr) return nullptr;
      auto bin = std::make_unique<DurationExpr>();
      bin->op = dop;
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      lhs = std::move(bin);
    }
    return lhs;
  }

  // `min_prec` is the precedence of binary operators the operand of a sign may still take
  // (kPowPrecedence: -a^b is -(a^b); above it: a bare primary).
  std::unique_ptr<DurationExpr> ParseDurationUnary(int min_prec, std::string_view context,
                                                   std::string_view expected) {
    NestingGuard guard(nesting_);
    if (!Nest()) return nullptr;
    if (Peek().type == TokenType::kAdd || Peek().type == TokenType::kSub) {
      bool neg = Next().type == TokenType::kSub;
      auto operand = min_prec > kPowPrecedence ? ParseDurationUnary(min_prec, context, expected)
                                               : ParseDurationBinary(min_prec, context, expected);
      if (operand == nullptr) return nullptr;
      if (operand->op == DurationExpr::Op::kLiteral && !operand->wrapped) {
        if (neg) operand->value = -operand->value;
        return operand;
      }
      auto u = std::make_unique<DurationExpr>();
      u->op = neg ? DurationExpr::Op::kNeg : DurationExpr::Op::kPos;
      u->rhs = std::move(operand);
      return u;
    }
    return ParseDurationPrimary(context, expected);
  }

  std::unique_ptr<DurationExpr> ParseDurationPrimary(std::string_view context,
                                                     std::string_view expected) {
    const Token& t = Peek();
    auto d = std::make_unique<DurationExpr>();
    if (t.type == TokenType::kNumber || t.type == TokenType::kDuration) {
      Token tok = Next();
      std::optional<double> v = NumberValue(tok);
      if (!v) return nullptr;
      d->value = *v;
      d->is_duration = tok.type == TokenType::kDuration;
      return d;
    }
    if (t.type == TokenType::kLeftParen) {
      Next();
      d = ParseDurationBinary(0, context, expected);
      if (d == nullptr) return nullptr;
      if (Peek().type != TokenType::kRightParen) return Unexpected(context, "\")\""), nullptr;
      Next();
      d->wrapped = true;
      return d;
    }
    if (t.type == TokenType::kIdentifier && Peek(1).type == TokenType::kLeftParen) {
      std::string w = Lower(t.text);
      if (w == "step" || w == "range") {
        Next();
        Next();
        if (Peek().type != TokenType::kRightParen) return Unexpected(context, "\")\""), nullptr;
        Next();
        d->op = w == "step" ? DurationExpr::Op::kStep : DurationExpr::Op::kRange;
        return d;
      }
      if (w == "min_of" || w == "max_of") {
        Next();
        Next();
        d->op = w == "min_of" ? DurationExpr::Op::kMinOf : DurationExpr::Op::kMaxOf;
        d->lhs = ParseDurationBinary(0, context, expected);
        if (d->lhs == nullptr) return nullptr;
        if (Peek().type != TokenType::kComma) return Unexpected(context, "\",\""), nullptr;
        Next();
        d->rhs = ParseDurationBinary(0, context, expected);
        if (d->rhs == nullptr) return nullptr;
        if (Peek().type != TokenType::kRightParen) return Unexpected(context, "\")\""), nullptr;
        Next();
        return d;
      }
    }
    Unexpected(context, expected);
    return nullptr;
  }

  // Resolves a parsed duration expression into a fixed duration and/or keeps the expression.
  // Returns false on error.
  bool ResolveDuration(std::unique_ptr<DurationExpr> d, int32_t pos, absl::Duration& value,
                       std::unique_ptr<DurationExpr>& expr) {
    if (d->op == DurationExpr::Op::kLiteral && !d->wrapped) {
      // Beyond what a nanosecond int64 (Go's time.Duration) holds.
      if (d->value > 9223372036.854775807 || d->value < -9223372036.854775807 ||
          std::isnan(d->value)) {
        Fail(pos, "duration out of range");
        return false;
      }
      value = SecondsToDuration(d->value);
      return true;
    }
    if (!options_.experimental_duration_expr) {
      Fail(pos, "experimental duration expression is not enabled");
      return false;
    }
    if (d->IsConstant()) {
      absl::StatusOr<double> v = d->Evaluate(absl::ZeroDuration(), absl::ZeroDuration());
      if (!v.ok()) {
        Fail(pos, std::string(v.status().message()));
        return false;
      }
      value = SecondsToDuration(*v);
    }
    expr = std::move(d);
    return true;
  }

  ExprPtr ParseRangeOrSubquery(ExprPtr e) {
    Token open = Next();
    int32_t dur_pos = Peek().pos;
    auto range = ParseDurationExpr(false, "subquery selector", "duration");
    if (range == nullptr) return nullptr;
    if (Peek().type == TokenType::kRightBracket) {
      Token close = Next();
      const char* err = nullptr;
      if (e->kind() != NodeKind::kVectorSelector) {
        err = "ranges only allowed for vector selectors";
      } else if (e->As<VectorSelector>().offset.offset != absl::ZeroDuration() ||
                 e->As<VectorSelector>().offset.expr != nullptr) {
        err = "no offset modifiers allowed before range";
      } else if (e->As<VectorSelector>().at.kind != AtKind::kNone) {
        err = "no @ modifiers allowed before range";
      }
      if (err != nullptr) return Fail(open.pos, err);
      auto m = std::make_unique<MatrixSelector>();
      if (!ResolveDuration(std::move(range), dur_pos, m->range, m->range_expr)) return nullptr;
      m->pos = {e->pos.start, close.pos + 1};
      m->vector_selector = std::move(e);
      return m;
    }
    if (Peek().type != TokenType::kColon) {
      return Unexpected("subquery or range", "\":\" or \"]\"");
    }
    Next();
    auto sq = std::make_unique<SubqueryExpr>();
    if (!ResolveDuration(std::move(range), dur_pos, sq->range, sq->range_expr)) return nullptr;
    if (Peek().type != TokenType::kRightBracket) {
      int32_t step_pos = Peek().pos;
      auto step = ParseDurationExpr(false, "subquery selector", "duration or \"]\"");
      if (step == nullptr) return nullptr;
      if (!ResolveDuration(std::move(step), step_pos, sq->step, sq->step_expr)) return nullptr;
      if (Peek().type != TokenType::kRightBracket) return Unexpected("subquery selector", "\"]\"");
    }
    Token close = Next();
    sq->pos = {e->pos.start, close.pos + 1};
    sq->expr = std::move(e);
    return sq;
  }

  Offset* OffsetOf(Expr& e) {
    switch (e.kind()) {
      case NodeKind::kVectorSelector:
        return &e.As<VectorSelector>().offset;
      case NodeKind::kMatrixSelector:
        return &e.As<MatrixSelector>().vector_selector->As<VectorSelector>().offset;
      case NodeKind::kSubquery:
        return &e.As<SubqueryExpr>().offset;
      default:
        return nullptr;
    }
  }
  AtModifier* AtOf(Expr& e) {
    switch (e.kind()) {
      case NodeKind::kVectorSelector:
        return &e.As<VectorSelector>().at;
      case NodeKind::kMatrixSelector:
        return &e.As<MatrixSelector>().vector_selector->As<VectorSelector>().at;
      case NodeKind::kSubquery:
        return &e.As<SubqueryExpr>().at;
      default:
        return nullptr;
    }
  }

  ExprPtr ParseOffset(ExprPtr e) {
    Next();
    int32_t dur_pos = Peek().pos;
    auto d = ParseDurationExpr(true, "offset", "number or duration");
    if (d == nullptr) return nullptr;
    Offset* off = OffsetOf(*e);
    if (off == nullptr) {
      return Fail(e->pos.start,
                  "offset modifier must be preceded by an instant vector selector or range "
                  "vector selector or a subquery");
    }
    if (off->offset != absl::ZeroDuration() || off->expr != nullptr) {
      return Fail(e->pos.start, "offset may not be set multiple times");
    }
    if (!ResolveDuration(std::move(d), dur_pos, off->offset, off->expr)) return nullptr;
    e->pos.end = last_end_;
    return e;
  }

  ExprPtr ParseAt(ExprPtr e) {
    Next();
    AtModifier at;
    if ((PeekIdent("start") || PeekIdent("end")) && Peek(1).type == TokenType::kLeftParen) {
      at.kind = PeekIdent("start") ? AtKind::kStart : AtKind::kEnd;
      Next();
      Next();
      if (Peek().type != TokenType::kRightParen) return Unexpected("@", "\")\"");
      Next();
    } else {
      bool neg = false;
      if (Peek().type == TokenType::kAdd || Peek().type == TokenType::kSub) {
        neg = Next().type == TokenType::kSub;
      }
      if (Peek().type != TokenType::kNumber && Peek().type != TokenType::kDuration) {
        return Unexpected("@", "timestamp");
      }
      std::optional<double> v = NumberValue(Next());
      if (!v) return nullptr;
      double ts = neg ? -*v : *v;
      if (!std::isfinite(ts) || ts * 1000 >= 9.2233720368547758e18 ||
          ts * 1000 <= -9.2233720368547758e18) {
        return Fail(e->pos.start,
                    fmt::format("timestamp out of bounds for @ modifier: {}", FormatNumber(ts)));
      }
      at.kind = AtKind::kTimestamp;
      at.timestamp_ms = static_cast<int64_t>(std::round(ts * 1000));
    }
    AtModifier* target = AtOf(*e);
    if (target == nullptr) {
      return Fail(e->pos.start,
                  "@ modifier must be preceded by an instant vector selector or range vector "
                  "selector or a subquery");
    }
    if (target->kind != AtKind::kNone) {
      return Fail(e->pos.start, "@ <timestamp> may not be set multiple times");
    }
    *target = at;
    e->pos.end = last_end_;
    return e;
  }

  ExprPtr ParseRangeModifier(ExprPtr e) {
    Token kw = Next();
    std::string word = Lower(kw.text);
    if (!options_.enable_extended_range_selectors) {
      return Fail(e->pos.start, fmt::format("{} modifier is experimental and not enabled", word));
    }
    VectorSelector* vs = nullptr;
    if (e->kind() == NodeKind::kVectorSelector) {
      vs = &e->As<VectorSelector>();
    } else if (e->kind() == NodeKind::kMatrixSelector) {
      vs = &e->As<MatrixSelector>().vector_selector->As<VectorSelector>();
    } else if (e->kind() == NodeKind::kSubquery) {
      return Fail(e->pos.start, fmt::format("{} modifier is not supported for subqueries", word));
    } else {
      return Fail(e->pos.start, fmt::format("{} modifier not implemented", word));
    }
    RangeModifier m = word == "anchored" ? RangeModifier::kAnchored : RangeModifier::kSmoothed;
    if (vs->range_modifier != RangeModifier::kNone && vs->range_modifier != m) {
      return Fail(e->pos.start, "anchored and smoothed modifiers cannot be used together");
    }
    vs->range_modifier = m;
    e->pos.end = last_end_;
    return e;
  }

  std::string_view input_;
  ParseOptions options_;
  LexResult lex_;
  size_t next_ = 0;
  int32_t last_end_ = 0;
  std::string error_;
  int32_t error_pos_ = 0;
  int nesting_ = 0;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

absl::StatusOr<std::string> UnquoteString(std::string_view q) {
  if (q.size() < 2 || q.front() != q.back() ||
      (q.front() != '"' && q.front() != '\'' && q.front() != '`')) {
    return absl::InvalidArgumentError("invalid syntax");
  }
  char quote = q.front();
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') return std::string(body);
  std::string out;
  for (size_t i = 0; i < body.size();) {
    char c = body[i];
    if (c == quote || c == '\n') return absl::InvalidArgumentError("invalid syntax");
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= body.size()) return absl::InvalidArgumentError("invalid syntax");
    char e = body[i + 1];
    i += 2;
    auto hex = [&](size_t n) -> std::optional<uint32_t> {
      if (i + n > body.size()) return std::nullopt;
      uint32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        int h = HexValue(body[i + k]);
        if (h < 0) return std::nullopt;
        v = v * 16 + static_cast<uint32_t>(h);
      }
      i += n;
      return v;
    };
    switch (e) {
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
      case '"':
        if (e != quote) return absl::InvalidArgumentError("unknown escape sequence");
        out.push_back(e);
        break;
      case 'x': {
        auto v = hex(2);
        if (!v) return absl::InvalidArgumentError("illegal character in escape sequence");
        out.push_back(static_cast<char>(*v));
        break;
      }
      case 'u':
      case 'U': {
        auto v = hex(e == 'u' ? 4 : 8);
        if (!v) return absl::InvalidArgumentError("illegal character in escape sequence");
        if (*v > 0x10FFFF || (*v >= 0xD800 && *v <= 0xDFFF)) {
          return absl::InvalidArgumentError("escape sequence is an invalid Unicode code point");
        }
        AppendUtf8(out, *v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 > body.size()) return absl::InvalidArgumentError("invalid syntax");
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2; ++k) {
            char d = body[i++];
            if (d < '0' || d > '7') {
              return absl::InvalidArgumentError("illegal character in escape sequence");
            }
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) return absl::InvalidArgumentError("octal escape value > 255");
          out.push_back(static_cast<char>(v));
          break;
        }
        return absl::InvalidArgumentError("unknown escape sequence");
    }
  }
  return out;
}

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input, const ParseOptions& options) {
  return Parser(input, options).ParseTop();
}

absl::StatusOr<std::vector<model::Matcher>> ParseMetricSelector(std::string_view input) {
  return Parser(input, ParseOptions{}).ParseSelectorTop();
}

}  // namespace oriel::promql
