#include "promql/parser/parser.h"

#include <functional>
#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "promql/parser/check.h"
#include "promql/parser/lexer.h"

namespace oriel::promql {
namespace {

std::string Canonical(std::string_view q, const ParseOptions& o = ParseOptions::All()) {
  auto e = ParseExpr(q, o);
  if (!e.ok()) return "ERROR: " + std::string(e.status().message());
  return (*e)->String();
}

std::string ErrorOf(std::string_view q, const ParseOptions& o = {}) {
  auto e = ParseExpr(q, o);
  if (e.ok()) return "OK: " + (*e)->String();
  return std::string(e.status().message());
}

struct RoundTrip {
  const char* in;
  const char* out;
};

TEST(ParserTest, CanonicalFormsAndRoundTrip) {
  const RoundTrip kCases[] = {
      {"1", "1"},
      {"+1", "1"},
      {"-1", "-1"},
      {"- -1", "1"},
      {"0x1F", "31"},
      {"1e3", "1000"},
      {".5", "0.5"},
      {"1.5e-3", "0.0015"},
      {"Inf", "+Inf"},
      {"-inf", "-Inf"},
      {"NaN", "NaN"},
      {"5m", "5m"},
      {"1h30m", "1h30m"},
      {"90m", "1h30m"},
      {"\"a\\nb\"", "\"a\\nb\""},
      {"'it\\'s'", "\"it's\""},
      {"`raw\\n`", "\"raw\\\\n\""},
      {"\"\\u00e9\\x41\"", "\"éA\""},
      {"foo", "foo"},
      {"foo:bar:rate5m", "foo:bar:rate5m"},
      {"foo{}", "foo"},
      {"foo{job=\"api\", a!=\"b\", c=~\"d.*\", e!~'f',}",
       "foo{a!=\"b\",c=~\"d.*\",e!~\"f\",job=\"api\"}"},
      {"{__name__=\"foo\"}", "{__name__=\"foo\"}"},
      {"{\"my.metric\", \"label.x\"=\"v\"}", "{\"my.metric\", \"label.x\"=\"v\"}"},
      {"{\"legacy_name\"}", "legacy_name"},
      {"sum", "sum"},
      {"by{a=\"b\"}", "by{a=\"b\"}"},
      {"foo offset 5m", "foo offset 5m"},
      {"foo offset -5m", "foo offset -5m"},
      {"foo OFFSET 1h30m", "foo offset 1h30m"},
      {"foo @ 1609746000", "foo @ 1609746000.000"},
      {"foo @ -1.5", "foo @ -1.500"},
      {"foo @ start()", "foo @ start()"},
      {"foo offset 5m @ end()", "foo @ end() offset 5m"},
      {"foo[5m]", "foo[5m]"},
      {"foo[1800]", "foo[30m]"},
      {"foo[1001ms]", "foo[1s1ms]"},
      {"foo[2.002]", "foo[2s2ms]"},
      {"1e10", "10000000000"},
      {"12.34e-6", "0.00001234"},
      {"foo[90s] offset 1m @ 100", "foo[1m30s] @ 100.000 offset 1m"},
      {"rate(http_requests_total{job=\"api\"}[5m])", "rate(http_requests_total{job=\"api\"}[5m])"},
      {"sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))"},
      {"sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))"},
      {"SUM(x) BY (job)", "sum by (job) (x)"},
      {"sum without (a, b,) (x)", "sum without (a, b) (x)"},
      {"sum by () (x)", "sum(x)"},
      {"sum by (\"a.b\") (x)", "sum by (\"a.b\") (x)"},
      {"topk(5, x)", "topk(5, x)"},
      {"count_values(\"v\", x)", "count_values(\"v\", x)"},
      {"quantile without(a) (0.9, x)", "quantile without (a) (0.9, x)"},
      {"x[5m:]", "x[5m:]"},
      {"x[5m:1m]", "x[5m:1m]"},
      {"rate(x[5m])[30m:1m] offset 1m @ start()", "rate(x[5m])[30m:1m] @ start() offset 1m"},
      {"a + b", "a + b"},
      {"a+on(x,y)b", "a + on (x, y) b"},
      {"a * ignoring(x) group_left(y) b", "a * ignoring (x) group_left (y) b"},
      {"a * on(x) group_right b", "a * on (x) group_right () b"},
      {"a * ignoring() b", "a * b"},
      {"a == bool b", "a == bool b"},
      {"1 < bool 2", "1 < bool 2"},
      {"a and b", "a and b"},
      {"a AND on() b", "a and on () b"},
      {"a unless ignoring(x) b", "a unless ignoring (x) b"},
      {"a atan2 b", "a atan2 b"},
      {"-a", "-a"},
      {"+a", "+a"},
      {"(a)", "(a)"},
      {"time()", "time()"},
      {"label_join(x, \"d\", \",\", \"a\", \"b\")", "label_join(x, \"d\", \",\", \"a\", \"b\")"},
      {"round(x)", "round(x)"},
      {"1 + 2 * 3", "1 + 2 * 3"},
      {"foo # comment\n + bar", "foo + bar"},
      {"a + fill(0) b", "a + fill (0) b"},
      {"a + fill_left(1) fill_right(2) b", "a + fill_left (1) fill_right (2) b"},
      {"a + on(x) group_left fill(-Inf) b", "a + on (x) group_left () fill (-Inf) b"},
      {"fill + fill(0) other", "fill + fill (0) other"},
      {"rate(x[5m] anchored)", "rate(x[5m] anchored)"},
      {"x smoothed", "x smoothed"},
      {"x offset -100 smoothed", "x smoothed offset -1m40s"},
      {"x[5m+1m]", "x[5m + 1m]"},
      {"x[60*30]", "x[60 * 30]"},
      {"x[step()]", "x[step()]"},
      {"x[1+(STep()-5)*2]", "x[1 + (step() - 5) * 2]"},
      {"x[29s+1s:5s+5s]", "x[29s + 1s:5s + 5s]"},
      {"x offset (100 + 2)", "x offset (100 + 2)"},
      {"x offset -(min_of(step(), 2s)-5)+8000", "x offset -(min_of(step(), 2s) - 5) + 8000"},
      {"x offset max_of(3s, range())", "x offset max_of(3s, range())"},
      {"limitk(2, x)", "limitk(2, x)"},
      {"info(x, {k=~\".+\"})", "info(x, {k=~\".+\"})"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.in);
    std::string got = Canonical(c.in);
    EXPECT_EQ(got, c.out);
    EXPECT_EQ(Canonical(got), got) << "not a fixed point";
  }
}

TEST(ParserTest, Precedence) {
  const RoundTrip kCases[] = {
      // Shown by the tree shape: parenthesize every binary node.
      {"1 + 2 * 3", "(1 + (2 * 3))"},
      {"1 * 2 + 3", "((1 * 2) + 3)"},
      {"1 - 2 - 3", "((1 - 2) - 3)"},
      {"2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
      {"-2 ^ 2", "-(2 ^ 2)"},
      {"-a * b", "(-a * b)"},
      {"-a ^ b", "-(a ^ b)"},
      {"a ^ -b", "(a ^ -b)"},
      {"a or b and c", "(a or (b and c))"},
      {"a and b unless c", "((a and b) unless c)"},
      {"a > b + c", "(a > (b + c))"},
      {"a == b or c", "((a == b) or c)"},
      {"a atan2 b * c", "((a atan2 b) * c)"},
      {"a % b ^ c", "(a % (b ^ c))"},
      {"a + b offset 5m", "(a + b offset 5m)"},
      {"-a offset 5m", "-a offset 5m"},
      {"x offset 100 + 2", "(x offset 1m40s + 2)"},
      {"x offset -2 ^ 2", "(x offset -2s ^ 2)"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.in);
    auto e = ParseExpr(c.in, ParseOptions::All());
    ASSERT_TRUE(e.ok()) << e.status();
    std::function<std::string(const Expr&)> tree = [&](const Expr& x) -> std::string {
      if (x.kind() == NodeKind::kBinary) {
        const auto& b = x.As<BinaryExpr>();
        return fmt::format("({} {} {})", tree(*b.lhs), BinaryOpString(b.op), tree(*b.rhs));
      }
      if (x.kind() == NodeKind::kUnary) {
        const auto& u = x.As<UnaryExpr>();
        return fmt::format("{}{}", u.negate ? "-" : "+", tree(*u.expr));
      }
      return x.String();
    };
    EXPECT_EQ(tree(**e), c.out);
  }
}

TEST(ParserTest, AstShape) {
  auto e = ParseExpr("sum by (job) (rate(http_requests_total{job=\"api\"}[5m] offset 1m))");
  ASSERT_TRUE(e.ok()) << e.status();
  const auto& agg = (*e)->As<AggregateExpr>();
  EXPECT_EQ(agg.op, AggregateOp::kSum);
  EXPECT_EQ(agg.grouping, std::vector<std::string>{"job"});
  const auto& call = agg.expr->As<Call>();
  EXPECT_EQ(call.func->name, "rate");
  EXPECT_EQ(call.type(), ValueType::kVector);
  const auto& m = call.args[0]->As<MatrixSelector>();
  EXPECT_EQ(m.range, absl::Minutes(5));
  const VectorSelector& vs = m.selector();
  EXPECT_EQ(vs.name, "http_requests_total");
  EXPECT_EQ(vs.offset.offset, absl::Minutes(1));
  ASSERT_EQ(vs.matchers.size(), 2u);
  EXPECT_EQ(vs.matchers.back().name(), "__name__");
  EXPECT_EQ(vs.matchers.back().value(), "http_requests_total");

  auto b = ParseExpr("a and 1 > bool 2");
  ASSERT_FALSE(b.ok());  // set operator with a scalar side
  auto set = ParseExpr("a or b");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->As<BinaryExpr>().matching->card, VectorMatchCard::kManyToMany);
  auto scalar = ParseExpr("a + 1");
  ASSERT_TRUE(scalar.ok());
  EXPECT_FALSE((*scalar)->As<BinaryExpr>().matching.has_value());
  auto g = ParseExpr("a / on(x) group_left(y) b");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)->As<BinaryExpr>().matching->card, VectorMatchCard::kManyToOne);
  EXPECT_EQ((*g)->As<BinaryExpr>().matching->include, std::vector<std::string>{"y"});

  auto d = ParseExpr("x[step() + 1m]", ParseOptions::All());
  ASSERT_TRUE(d.ok());
  const auto& dm = (*d)->As<MatrixSelector>();
  ASSERT_NE(dm.range_expr, nullptr);
  EXPECT_FALSE(dm.range_expr->IsConstant());
  EXPECT_EQ(*dm.range_expr->Evaluate(absl::Seconds(10), absl::ZeroDuration()), 70.0);
  auto c = ParseExpr("x[2m*(10+5)]", ParseOptions::All());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->As<MatrixSelector>().range, absl::Minutes(30));
}

TEST(ParserTest, Errors) {
  const RoundTrip kCases[] = {
      {"", "1:1: parse error: no expression found in input"},
      {"foo{", "1:5: parse error: unexpected end of input inside braces"},
      {"sum(foo", "1:8: parse error: unclosed left parenthesis"},
      {"foo[5m", "1:7: parse error: unclosed left bracket"},
      {"foo)", "1:5: parse error: unexpected right parenthesis ')'"},
      {"foo}", "1:4: parse error: unexpected character: '}'"},
      {"foo]", "1:4: parse error: unexpected right bracket ']'"},
      {"foo $ bar", "1:5: parse error: unexpected character: '$'"},
      {"foo{a$\"b\"}", "1:6: parse error: unexpected character inside braces: '$'"},
      {"1.5h", "1:1: parse error: not a valid duration string: \"1.5h\""},
      {"x[1m1h]", "1:3: parse error: not a valid duration string: \"1m1h\""},
      {"5mx", "1:1: parse error: bad number or duration syntax: \"5mx\""},
      {"1_000", "1:1: parse error: bad number or duration syntax: \"1_\""},
      {"\"abc", "1:1: parse error: unterminated quoted string"},
      {"`abc", "1:1: parse error: unterminated raw string"},
      {"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
      {"rate(x[5m],)", "1:11: parse error: trailing commas not allowed in function call args"},
      {"nosuchfn(x)", "1:1: parse error: unknown function with name \"nosuchfn\""},
      {"rate(x)",
       "1:6: parse error: expected type range vector in call to function \"rate\", got instant "
       "vector"},
      {"abs(x[5m])",
       "1:5: parse error: expected type instant vector in call to function \"abs\", got range "
       "vector"},
      {"time(1)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
      {"label_join(x)",
       "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1"},
      {"round(x, 1, 2)",
       "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
      {"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
      {"topk(x)",
       "1:1: parse error: wrong number of arguments for aggregate expression provided, expected "
       "2, got 1"},
      {"topk(\"a\", x)",
       "1:6: parse error: expected type scalar in aggregation parameter, got string"},
      {"sum(x[5m])",
       "1:5: parse error: expected type instant vector in aggregation expression, got range "
       "vector"},
      {"1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
      {"a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators"},
      {"1 and a", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"a and on(x) group_left b", "1:1: parse error: no grouping allowed for \"and\" operation"},
      {"1 + on(x) a", "1:1: parse error: vector matching only allowed between instant vectors"},
      {"a + group_left b", "1:5: parse error: unexpected <group_left>"},
      {"a * on(x) group_left(x) b",
       "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once"},
      {"x[5m] + 1",
       "1:1: parse error: binary expression must contain only scalar and instant vector types"},
      {"-\"s\"",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"string\""},
      {"x[5m][5m:]",
       "1:1: parse error: subquery is only allowed on instant vector, got matrix "
       "instead"},
      {"(x)[5m]", "1:4: parse error: ranges only allowed for vector selectors"},
      {"x offset 5m[5m]", "1:12: parse error: no offset modifiers allowed before range"},
      {"x @ 5 [5m]", "1:7: parse error: no @ modifiers allowed before range"},
      {"sum(x) offset 5m",
       "1:1: parse error: offset modifier must be preceded by an instant vector selector or range "
       "vector selector or a subquery"},
      {"x offset 5m offset 1m", "1:1: parse error: offset may not be set multiple times"},
      {"x @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
      {"x @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
      {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"{a=~\".*\"}",
       "1:1: parse error: vector selector must contain at least one non-empty matcher"},
      {"foo{__name__=\"bar\"}",
       "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
      {"foo{a}",
       "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"},
      {"foo{a=b}",
       "1:7: parse error: unexpected identifier \"b\" in label matching, expected "
       "string"},
      {"sum by x (y)",
       "1:8: parse error: unexpected identifier \"x\" in grouping opts, expected "
       "\"(\""},
      {"x[5m", "1:5: parse error: unclosed left bracket"},
      {"x[5m:1m:2m]", "1:8: parse error: unexpected colon ':'"},
      {"x offset foo",
       "1:10: parse error: unexpected identifier \"foo\" in offset, expected "
       "number or duration"},
      {"\"\\q\"", "1:1: parse error: unknown escape sequence U+0071 'q'"},
      {"'\\\"'", "1:1: parse error: unknown escape sequence U+0022 '\"'"},
      {"\"\\xZZ\"", "1:1: parse error: illegal character U+005A 'Z' in escape sequence"},
      {"\"\\ud800\"", "1:1: parse error: escape sequence is an invalid Unicode code point"},
      {"\"\xff\"", "1:1: parse error: invalid UTF-8 rune"},
      {"017", "OK: 15"},
      {"a and fill(0) b",
       "1:1: parse error: binop fill modifiers are experimental and not enabled"},
      {"x[9999999999s]", "1:3: parse error: duration out of range"},
      {"first_over_time(x[5m])", "1:1: parse error: function \"first_over_time\" is not enabled"},
      {"limitk(1, x)",
       "1:1: parse error: limitk() is experimental and must be enabled with "
       "--enable-feature=promql-experimental-functions"},
      {"x[5m+1m]", "1:3: parse error: experimental duration expression is not enabled"},
      {"x offset step()", "1:10: parse error: experimental duration expression is not enabled"},
      {"a + fill(0) b", "1:1: parse error: binop fill modifiers are experimental and not enabled"},
      {"rate(x[5m] anchored)",
       "1:6: parse error: anchored modifier is experimental and not enabled"},
      {"x smoothed", "1:1: parse error: smoothed modifier is experimental and not enabled"},
      {"foo{a=~\"(\"}", "1:5: parse error: invalid regular expression \"(\": missing ): ^(?:()$"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(ErrorOf(c.in), c.out);
  }
}

TEST(ParserTest, ExperimentalErrors) {
  const RoundTrip kCases[] = {
      {"a and fill(0) b",
       "1:1: parse error: filling in missing series not allowed for set operators"},
      {"a + fill(0) 1",
       "1:1: parse error: filling in missing series only allowed between instant vectors"},
      {"x[5m:] anchored", "1:1: parse error: anchored modifier is not supported for subqueries"},
      {"sum(x) smoothed", "1:1: parse error: smoothed modifier not implemented"},
      {"x[5m] anchored smoothed",
       "1:1: parse error: anchored and smoothed modifiers cannot be used together"},
      {"info(x, y)",
       "1:9: parse error: expected label selectors only, got vector selector instead"},
      {"info(x, sum(y))", "1:9: parse error: expected label selectors only"},
      {"info(x, 1)",
       "1:1: parse error: expected type instant vector in call to function \"info\", got scalar"},
      {"x[1/0]", "1:3: parse error: division by zero"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(ErrorOf(c.in, ParseOptions::All()), c.out);
  }
}

TEST(ParserTest, ExperimentalModifierErrors) {
  // Prometheus reports unsupported anchored/smoothed uses when the query runs.
  auto smoothed = ParseExpr("deriv(foo[3m] smoothed)", ParseOptions::All());
  ASSERT_TRUE(smoothed.ok()) << smoothed.status();
  EXPECT_EQ(ValidateRangeModifier((*smoothed)->As<Call>()).message(),
            "smoothed modifier can only be used with: delta, increase, rate - not with deriv");
  auto anchored = ParseExpr("max_over_time(foo[3m] anchored)", ParseOptions::All());
  ASSERT_TRUE(anchored.ok()) << anchored.status();
  EXPECT_EQ(ValidateRangeModifier((*anchored)->As<Call>()).message(),
            "anchored modifier can only be used with: changes, delta, increase, rate, resets - "
            "not with max_over_time");
  auto ok = ParseExpr("changes(foo[3m] anchored)", ParseOptions::All());
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ValidateRangeModifier((*ok)->As<Call>()).ok());
}

TEST(ParserTest, NodePositionsForAnnotations) {
  // The engine's warnings name positions like Prometheus' "(1:23)".
  std::string q = "histogram_count(delta(hist_counter[1m] smoothed))";
  auto e = ParseExpr(q, ParseOptions::All());
  ASSERT_TRUE(e.ok()) << e.status();
  const auto& delta = (*e)->As<Call>().args[0]->As<Call>();
  EXPECT_EQ(PositionString(q, delta.args[0]->pos.start), "1:23");
  EXPECT_EQ(delta.args[0]->pos.end, static_cast<int32_t>(q.size()) - 2);
  std::string s = "sort(mixed_types smoothed)";
  auto sorted = ParseExpr(s, ParseOptions::All());
  ASSERT_TRUE(sorted.ok());
  EXPECT_EQ(PositionString(s, (*sorted)->As<Call>().args[0]->pos.start), "1:6");
}

TEST(ParserTest, MultiLinePositions) {
  EXPECT_EQ(ErrorOf("sum(\n  rate(x))"),
            "2:8: parse error: expected type range vector in call to function \"rate\", got "
            "instant vector");
}

TEST(ParserTest, EveryFunctionTypeChecks) {
  for (const Function& f : AllFunctions()) {
    SCOPED_TRACE(std::string(f.name));
    std::string args;
    for (size_t i = 0; i < f.arg_types.size(); ++i) {
      if (i > 0) args += ", ";
      switch (f.arg_types[i]) {
        case ValueType::kScalar:
          args += "1";
          break;
        case ValueType::kVector:
          args += i == 1 && f.name == "info" ? "{a=\"b\"}" : "v";
          break;
        case ValueType::kMatrix:
          args += "m[5m]";
          break;
        case ValueType::kString:
          args += "\"s\"";
          break;
        default:
          break;
      }
    }
    std::string q = std::string(f.name) + "(" + args + ")";
    auto e = ParseExpr(q, ParseOptions::All());
    ASSERT_TRUE(e.ok()) << q << ": " << e.status();
    EXPECT_EQ((*e)->type(), f.return_type);
    EXPECT_EQ(ParseExpr(q).ok(), !f.experimental) << q;
  }
}

TEST(ParserTest, MetricSelector) {
  auto m = ParseMetricSelector("up{job=\"api\",instance=~\"a.*\"}");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[2].name(), "__name__");
  EXPECT_EQ((*m)[2].value(), "up");
  EXPECT_TRUE((*m)[1].Matches("abc"));
  auto utf8 = ParseMetricSelector("{\"my.metric\"}");
  ASSERT_TRUE(utf8.ok()) << utf8.status();
  EXPECT_EQ((*utf8)[0].value(), "my.metric");
  EXPECT_FALSE(ParseMetricSelector("{}").ok());
  EXPECT_FALSE(ParseMetricSelector("rate(x[5m])").ok());
  EXPECT_FALSE(ParseMetricSelector("up offset 5m").ok());
}

TEST(ParserTest, DeepNestingIsAnError) {
  std::string parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  EXPECT_FALSE(ParseExpr(parens).ok());
  std::string unary(100000, '-');
  EXPECT_FALSE(ParseExpr(unary + "a").ok());
  std::string chain = "a";
  for (int i = 0; i < 100000; ++i) chain += " + a";
  EXPECT_FALSE(ParseExpr(chain).ok());
  std::string pow = "a";
  for (int i = 0; i < 100000; ++i) pow += " ^ a";
  EXPECT_FALSE(ParseExpr(pow).ok());
  std::string dur = "x[" + std::string(100000, '(') + "1";
  EXPECT_FALSE(ParseExpr(dur, ParseOptions::All()).ok());
  std::string fine = "a";
  for (int i = 0; i < 500; ++i) fine += " + a";
  EXPECT_TRUE(ParseExpr(fine).ok());
}

TEST(ParserTest, EveryPrefixOfValidQueriesIsHandled) {
  const char* kQueries[] = {
      "sum by (job) (rate(http_requests_total{job=\"api\", a=~'x.*'}[5m] offset 1m @ 10))",
      "a / on(x) group_left(y) fill_left(0) b > bool 1 unless c",
      "max_over_time(rate(x[5m])[30m:1m] @ start())[step()+1m:]",
      "x[min_of(step(), 1h) * 2] smoothed offset -(5m + range())",
      "label_replace({\"my.metric\", \"l.x\"=\"v\"}, \"d\", \"$1\", \"s\", \"(.*)\") # c",
  };
  for (const char* q : kQueries) {
    std::string s(q);
    ASSERT_TRUE(ParseExpr(s, ParseOptions::All()).ok()) << s;
    for (size_t n = 0; n < s.size(); ++n) {
      auto e = ParseExpr(s.substr(0, n), ParseOptions::All());
      if (e.ok()) {
        EXPECT_TRUE(ParseExpr((*e)->String(), ParseOptions::All()).ok());
      }
    }
  }
}

TEST(ParserTest, HostileInputIsAnErrorNotACrash) {
  const char* kInputs[] = {
      "(((((((", "{",        "}",       "[",       "]",        "x[",
      "x[:",     "sum by",   "a +",     "a + on",  "a + on(",  "@",
      "x @",     "x offset", "\"\\",    "'\\u12'", "\xff\xfe", "x{a=\"\\xZZ\"}",
      "topk(",   "-",        "x[5m:1m", "1e",      "0x"};
  for (const char* in : kInputs) {
    SCOPED_TRACE(in);
    EXPECT_FALSE(ParseExpr(in, ParseOptions::All()).ok());
  }
}

}  // namespace
}  // namespace oriel::promql
