#include "api/prometheus/ast_json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "promql/parser/parser.h"

namespace oriel::api {
namespace {

std::string Compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Go writes map keys sorted; so must AstJson, in every object of the tree.
void ExpectKeysSorted(const rapidjson::Value& v) {
  if (v.IsObject()) {
    std::string previous;
    for (const auto& m : v.GetObject()) {
      std::string key = m.name.GetString();
      EXPECT_LT(previous, key) << "keys out of order in " << Compact(v);
      previous = key;
      ExpectKeysSorted(m.value);
    }
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) ExpectKeysSorted(item);
  }
}

// Compares the parsed JSON structures (objects ignore member order), so a test fails on a wrong,
// missing or extra field or value, not on formatting.
void ExpectAst(std::string_view query, std::string_view want_json,
               const promql::ParseOptions& options = {}) {
  auto expr = promql::ParseExpr(query, options);
  ASSERT_TRUE(expr.ok()) << query << ": " << expr.status();
  absl::StatusOr<std::string> got_json = AstJson(**expr);
  ASSERT_TRUE(got_json.ok()) << got_json.status();
  rapidjson::Document got, want;
  got.Parse(got_json->c_str());
  ASSERT_FALSE(got.HasParseError()) << *got_json;
  want.Parse(std::string(want_json).c_str());
  ASSERT_FALSE(want.HasParseError()) << want_json;
  ExpectKeysSorted(got);
  EXPECT_TRUE(got == want) << query << "\n got: " << Compact(got) << "\nwant: " << Compact(want);
}

// The selector `foo` as translateAST shows it (the name is also the last matcher).
constexpr char kFoo[] =
    R"({"type":"vectorSelector","name":"foo","offset":0,"timestamp":null,"startOrEnd":null,
        "anchored":false,"smoothed":false,
        "matchers":[{"name":"__name__","type":"=","value":"foo"}]})";

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(AstJsonTest, VectorSelector) {
  ExpectAst("foo", kFoo);
  ExpectAst(R"(foo{a="b", c=~"d.*"} @ 100.5 offset -5m)", R"({
    "type":"vectorSelector","name":"foo","offset":-300000,"timestamp":100500,
    "startOrEnd":null,"anchored":false,"smoothed":false,
    "matchers":[{"name":"a","type":"=","value":"b"},{"name":"c","type":"=~","value":"d.*"},
                {"name":"__name__","type":"=","value":"foo"}]})");
  ExpectAst(R"({job="x", instance!~"y"} @ end())", R"({
    "type":"vectorSelector","name":"","offset":0,"timestamp":null,"startOrEnd":"end",
    "anchored":false,"smoothed":false,
    "matchers":[{"name":"job","type":"=","value":"x"},
                {"name":"instance","type":"!~","value":"y"}]})");
}

TEST(AstJsonTest, QuotedNameInsideBracesIsOnlyAMatcher) {
  // Prometheus' parser sets VectorSelector.Name only for a name outside the braces.
  ExpectAst(R"({"my.metric", job="a"})", R"({
    "type":"vectorSelector","name":"","offset":0,"timestamp":null,"startOrEnd":null,
    "anchored":false,"smoothed":false,
    "matchers":[{"name":"__name__","type":"=","value":"my.metric"},
                {"name":"job","type":"=","value":"a"}]})");
}

TEST(AstJsonTest, MatrixSelectorCarriesTheSelectorsModifiers) {
  ExpectAst("foo[5m] @ start() offset 1h", R"({
    "type":"matrixSelector","name":"foo","range":300000,"offset":3600000,"timestamp":null,
    "startOrEnd":"start","anchored":false,"smoothed":false,
    "matchers":[{"name":"__name__","type":"=","value":"foo"}]})");
}

TEST(AstJsonTest, ExtendedRangeModifiers) {
  promql::ParseOptions options;
  options.enable_extended_range_selectors = true;
  ExpectAst("foo[5m] anchored", R"({
    "type":"matrixSelector","name":"foo","range":300000,"offset":0,"timestamp":null,
    "startOrEnd":null,"anchored":true,"smoothed":false,
    "matchers":[{"name":"__name__","type":"=","value":"foo"}]})",
            options);
}

TEST(AstJsonTest, Subquery) {
  ExpectAst("foo[1h:5m] @ 10 offset 1m", std::string(R"({
    "type":"subquery","range":3600000,"step":300000,"offset":60000,"timestamp":10000,
    "startOrEnd":null,"alignEvalTime":false,"expr":)") +
                                             kFoo + "}");
  // No step: 0 (the evaluation's default resolution).
  ExpectAst("foo[1h:]", std::string(R"({
    "type":"subquery","range":3600000,"step":0,"offset":0,"timestamp":null,
    "startOrEnd":null,"alignEvalTime":false,"expr":)") +
                            kFoo + "}");
}

TEST(AstJsonTest, Aggregation) {
  ExpectAst("sum(foo)", std::string(R"({"type":"aggregation","op":"sum","param":null,
    "grouping":[],"without":false,"expr":)") +
                            kFoo + "}");
  ExpectAst("topk by (job, le) (3, foo)", std::string(R"({"type":"aggregation","op":"topk",
    "param":{"type":"numberLiteral","val":"3"},"grouping":["job","le"],"without":false,
    "expr":)") + kFoo + "}");
  ExpectAst(R"(count_values without () ("v", foo))",
            std::string(R"({"type":"aggregation","op":"count_values",
    "param":{"type":"stringLiteral","val":"v"},"grouping":[],"without":true,"expr":)") +
                kFoo + "}");
}

TEST(AstJsonTest, BinaryExpressionMatching) {
  std::string bar = Replace(Replace(kFoo, "\"foo\"", "\"bar\""), "\"foo\"", "\"bar\"");
  ExpectAst("foo / on (a) group_left (b) bar", R"({"type":"binaryExpr","op":"/","bool":false,
    "matching":{"card":"many-to-one","labels":["a"],"on":true,"include":["b"],
                "fillValues":{"lhs":null,"rhs":null}},
    "lhs":)" + std::string(kFoo) + ",\"rhs\":" + bar +
                                                   "}");
  ExpectAst("foo + bar", R"({"type":"binaryExpr","op":"+","bool":false,
    "matching":{"card":"one-to-one","labels":[],"on":false,"include":[],
                "fillValues":{"lhs":null,"rhs":null}},
    "lhs":)" + std::string(kFoo) +
                             ",\"rhs\":" + bar + "}");
  ExpectAst("foo unless ignoring (x) bar", R"({"type":"binaryExpr","op":"unless","bool":false,
    "matching":{"card":"many-to-many","labels":["x"],"on":false,"include":[],
                "fillValues":{"lhs":null,"rhs":null}},
    "lhs":)" + std::string(kFoo) +
                                               ",\"rhs\":" + bar + "}");
  // With a scalar side there is no vector matching at all: null.
  ExpectAst("foo > bool 1", R"({"type":"binaryExpr","op":">","bool":true,"matching":null,
    "rhs":{"type":"numberLiteral","val":"1"},"lhs":)" +
                                std::string(kFoo) + "}");
  ExpectAst("1 atan2 2", R"({"type":"binaryExpr","op":"atan2","bool":false,"matching":null,
    "lhs":{"type":"numberLiteral","val":"1"},"rhs":{"type":"numberLiteral","val":"2"}})");
}

TEST(AstJsonTest, FillModifiers) {
  promql::ParseOptions options;
  options.enable_binop_fill_modifiers = true;
  auto expr = promql::ParseExpr("foo + fill_left (0.5) bar", options);
  ASSERT_TRUE(expr.ok()) << expr.status();
  auto json = AstJson(**expr);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find(R"("fillValues":{"lhs":0.5,"rhs":null})"), std::string::npos) << *json;
  // encoding/json cannot write NaN; Prometheus answers an error, and so does Oriel.
  auto nan = promql::ParseExpr("foo + fill (NaN) bar", options);
  ASSERT_TRUE(nan.ok()) << nan.status();
  EXPECT_FALSE(AstJson(**nan).ok());
}

TEST(AstJsonTest, Call) {
  ExpectAst("rate(foo[1m])", R"({"type":"call",
    "func":{"name":"rate","argTypes":["matrix"],"variadic":0,"returnType":"vector"},
    "args":[{"type":"matrixSelector","name":"foo","range":60000,"offset":0,"timestamp":null,
             "startOrEnd":null,"anchored":false,"smoothed":false,
             "matchers":[{"name":"__name__","type":"=","value":"foo"}]}]})");
  ExpectAst("time()", R"({"type":"call",
    "func":{"name":"time","argTypes":[],"variadic":0,"returnType":"scalar"},"args":[]})");
  ExpectAst(R"(label_join(foo, "d", ",", "a", "b"))",
            R"({"type":"call",
    "func":{"name":"label_join","argTypes":["vector","string","string","string"],
            "variadic":-1,"returnType":"vector"},
    "args":[)" + std::string(kFoo) +
                R"(,{"type":"stringLiteral","val":"d"},{"type":"stringLiteral","val":","},
            {"type":"stringLiteral","val":"a"},{"type":"stringLiteral","val":"b"}]})");
  ExpectAst("round(foo)", R"({"type":"call",
    "func":{"name":"round","argTypes":["vector","scalar"],"variadic":1,"returnType":"vector"},
    "args":[)" + std::string(kFoo) +
                              "]}");
}

TEST(AstJsonTest, Literals) {
  // strconv.FormatFloat(v, 'f', -1, 64): no exponent, signed infinities.
  ExpectAst("1e10", R"({"type":"numberLiteral","val":"10000000000"})");
  ExpectAst("0.000001", R"({"type":"numberLiteral","val":"0.000001"})");
  ExpectAst("-Inf", R"({"type":"numberLiteral","val":"-Inf"})");
  ExpectAst("NaN", R"({"type":"numberLiteral","val":"NaN"})");
  ExpectAst("0x1F", R"({"type":"numberLiteral","val":"31"})");
  ExpectAst(R"("a\nb")", R"({"type":"stringLiteral","val":"a\nb"})");
  ExpectAst("`raw\\n`", R"({"type":"stringLiteral","val":"raw\\n"})");
}

TEST(AstJsonTest, ParenAndUnary) {
  ExpectAst("(foo)", std::string(R"({"type":"parenExpr","expr":)") + kFoo + "}");
  ExpectAst("-foo", std::string(R"({"type":"unaryExpr","op":"-","expr":)") + kFoo + "}");
  ExpectAst("+foo", std::string(R"({"type":"unaryExpr","op":"+","expr":)") + kFoo + "}");
  // A sign on a number literal is folded into it.
  ExpectAst("-(1)", R"({"type":"unaryExpr","op":"-",
    "expr":{"type":"parenExpr","expr":{"type":"numberLiteral","val":"1"}}})");
  ExpectAst("-1", R"({"type":"numberLiteral","val":"-1"})");
}

TEST(AstJsonTest, KeysAreSortedLikeGoMaps) {
  auto expr = promql::ParseExpr("sum by (a) (foo)");
  ASSERT_TRUE(expr.ok());
  auto json = AstJson(**expr);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(
      *json,
      R"({"expr":{"anchored":false,"matchers":[{"name":"__name__","type":"=","value":"foo"}],)"
      R"("name":"foo","offset":0,"smoothed":false,"startOrEnd":null,"timestamp":null,)"
      R"("type":"vectorSelector"},"grouping":["a"],"op":"sum","param":null,)"
      R"("type":"aggregation","without":false})");
}

}  // namespace
}  // namespace oriel::api
