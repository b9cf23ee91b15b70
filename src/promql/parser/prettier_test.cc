#include "promql/parser/prettier.h"

#include <gtest/gtest.h>

#include <vector>

#include "promql/parser/parser.h"

namespace oriel::promql {
namespace {

struct Case {
  const char* in;
  const char* out;
};

// Prometheus' own prettier table (promql/parser/prettier_test.go), which runs with a line limit
// of 10 so that short queries already split; each pair was checked against the rules by hand.
const Case kLimit10Cases[] = {
    // Aggregations.
    {R"(sum(foo))", R"(sum(foo))"},
    {R"(sum by() (task:errors:rate10s{job="s"}))", R"(sum(
  task:errors:rate10s{job="s"}
))"},
    {R"(sum without(job,foo) (task:errors:rate10s{job="s"}))", R"(sum without (job, foo) (
  task:errors:rate10s{job="s"}
))"},
    {R"(sum(task:errors:rate10s{job="s"}) without(job,foo))", R"(sum without (job, foo) (
  task:errors:rate10s{job="s"}
))"},
    {R"(sum by(job,foo) (task:errors:rate10s{job="s"}))", R"(sum by (job, foo) (
  task:errors:rate10s{job="s"}
))"},
    {R"(sum (task:errors:rate10s{job="s"}) by(job,foo))", R"(sum by (job, foo) (
  task:errors:rate10s{job="s"}
))"},
    {R"(topk(10, ask:errors:rate10s{job="s"}))", R"(topk(
  10,
  ask:errors:rate10s{job="s"}
))"},
    {R"(sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"})))",
     R"(sum by (job, foo) (
  sum by (job, foo) (
    task:errors:rate10s{job="s"}
  )
))"},
    {R"(sum by(job,foo) (sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))))",
     R"(sum by (job, foo) (
  sum by (job, foo) (
    sum by (job, foo) (
      task:errors:rate10s{job="s"}
    )
  )
))"},
    {"sum by(job,foo)\n(sum(task:errors:rate10s{job=\"s\"}) without(job,foo))",
     R"(sum by (job, foo) (
  sum without (job, foo) (
    task:errors:rate10s{job="s"}
  )
))"},
    {"sum by(job,foo) # Comment 1.\n(sum by(job,foo) ( # Comment "
     "2.\ntask:errors:rate10s{job=\"s\"}))",
     R"(sum by (job, foo) (
  sum by (job, foo) (
    task:errors:rate10s{job="s"}
  )
))"},
    // Binary expressions: the operator at the node's level, operands one deeper.
    {R"(a+b)", R"(a + b)"},
    {R"(a == bool 1)", R"(  a
== bool
  1)"},
    {R"(a + ignoring(job) b)", R"(  a
+ ignoring (job)
  b)"},
    {R"(foo_1 + foo_2)", R"(  foo_1
+
  foo_2)"},
    {R"(foo_1 + foo_2 + foo_3)", R"(    foo_1
  +
    foo_2
+
  foo_3)"},
    {R"(foo + baar + foo_3)", R"(  foo + baar
+
  foo_3)"},
    {R"(foo_1 + foo_2 + foo_3 + foo_4)", R"(      foo_1
    +
      foo_2
  +
    foo_3
+
  foo_4)"},
    {R"(foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4)",
     R"(      foo_1
    + ignoring (foo)
      foo_2
  + ignoring (job) group_left ()
    foo_3
+ on (instance) group_right ()
  foo_4)"},
    // Function calls: one argument per line.
    {R"(rate(foo[1m]))", R"(rate(
  foo[1m]
))"},
    {R"(sum_over_time(foo[1m]))", R"(sum_over_time(
  foo[1m]
))"},
    {R"(rate(long_vector_selector[10m:1m] @ start() offset 1m))", R"(rate(
  long_vector_selector[10m:1m] @ start() offset 1m
))"},
    {R"(histogram_quantile(0.9, rate(foo[1m])))", R"(histogram_quantile(
  0.9,
  rate(
    foo[1m]
  )
))"},
    {R"(max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m))",
     R"(max_over_time(
  rate(
    demo_api_request_duration_seconds_count[1m]
  )[1m:] @ start() offset 1m
))"},
    {R"(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"))",
     R"(label_replace(
  up{job="api-server",service="a:c"},
  "foo",
  "$1",
  "service",
  "(.*):.*"
))"},
    {R"(label_replace(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*"))",
     R"(label_replace(
  label_replace(
    up{job="api-server",service="a:c"},
    "foo",
    "$1",
    "service",
    "(.*):.*"
  ),
  "foo",
  "$1",
  "service",
  "(.*):.*"
))"},
    // Parentheses.
    {R"((foo))", R"((foo))"},
    {R"((_foo_long_))", R"((
  _foo_long_
))"},
    {R"(((foo_long)))", R"((
  (foo_long)
))"},
    {R"(((_foo_long_)))", R"((
  (
    _foo_long_
  )
))"},
    {R"((((foo_long))))", R"((
  (
    (foo_long)
  )
))"},
    // @ modifiers.
    {R"(a @ 1)", R"(a @ 1.000)"},
    {R"(a @ start())", R"(a @ start())"},
    {R"(vector_selector @ start())", R"(vector_selector @ start())"},
    // Mixed expressions.
    {R"((1 + 2))", R"((1 + 2))"},
    {R"((foo + bar))", R"((
  foo + bar
))"},
    {R"((foo_long + bar_long))", R"((
    foo_long
  +
    bar_long
))"},
    {R"((foo_long + bar_long + bar_2_long))", R"((
      foo_long
    +
      bar_long
  +
    bar_2_long
))"},
    {R"(((foo_long + bar_long) + bar_2_long))", R"((
    (
        foo_long
      +
        bar_long
    )
  +
    bar_2_long
))"},
    {R"((1111 + 2222))", R"((
    1111
  +
    2222
))"},
    {R"((sum_over_time(foo[1m])))", R"((
  sum_over_time(
    foo[1m]
  )
))"},
    {R"(histogram_quantile(0.9, rate(foo[1m] @ start())))", R"(histogram_quantile(
  0.9,
  rate(
    foo[1m] @ start()
  )
))"},
    {R"((label_replace(label_replace((up{job="api-server",service="a:c"}), "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*")))",
     R"((
  label_replace(
    label_replace(
      (
        up{job="api-server",service="a:c"}
      ),
      "foo",
      "$1",
      "service",
      "(.*):.*"
    ),
    "foo",
    "$1",
    "service",
    "(.*):.*"
  )
))"},
    {R"((node_filesystem_avail_bytes{job="node",fstype!=""} / node_filesystem_size_bytes{job="node",fstype!=""} * 100 < 40 and predict_linear(node_filesystem_avail_bytes{job="node",fstype!=""}[6h], 24*60*60) < 0 and node_filesystem_readonly{job="node",fstype!=""} == 0))",
     R"((
            node_filesystem_avail_bytes{fstype!="",job="node"}
          /
            node_filesystem_size_bytes{fstype!="",job="node"}
        *
          100
      <
        40
    and
        predict_linear(
          node_filesystem_avail_bytes{fstype!="",job="node"}[6h],
            24 * 60
          *
            60
        )
      <
        0
  and
      node_filesystem_readonly{fstype!="",job="node"}
    ==
      0
))"},
    {R"((node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0))",
     R"(  (
        node_timex_offset_seconds
      >
        0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      >=
        0
  )
or
  (
        node_timex_offset_seconds
      <
        -0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      <=
        0
  ))"},
    {R"(1 - ((node_memory_MemAvailable_bytes{job="node"} or (node_memory_Buffers_bytes{job="node"} + node_memory_Cached_bytes{job="node"} + node_memory_MemFree_bytes{job="node"} + node_memory_Slab_bytes{job="node"}) ) / node_memory_MemTotal_bytes{job="node"}))",
     R"(  1
-
  (
      (
          node_memory_MemAvailable_bytes{job="node"}
        or
          (
                  node_memory_Buffers_bytes{job="node"}
                +
                  node_memory_Cached_bytes{job="node"}
              +
                node_memory_MemFree_bytes{job="node"}
            +
              node_memory_Slab_bytes{job="node"}
          )
      )
    /
      node_memory_MemTotal_bytes{job="node"}
  ))"},
    {R"(min by (job, integration) (rate(alertmanager_notifications_failed_total{job="alertmanager", integration=~".*"}[5m]) / rate(alertmanager_notifications_total{job="alertmanager", integration="~.*"}[5m])) > 0.01)",
     R"(  min by (job, integration) (
      rate(
        alertmanager_notifications_failed_total{integration=~".*",job="alertmanager"}[5m]
      )
    /
      rate(
        alertmanager_notifications_total{integration="~.*",job="alertmanager"}[5m]
      )
  )
>
  0.01)"},
    {R"((count by (job) (changes(process_start_time_seconds{job="alertmanager"}[10m]) > 4) / count by (job) (up{job="alertmanager"})) >= 0.5)",
     R"(  (
      count by (job) (
          changes(
            process_start_time_seconds{job="alertmanager"}[10m]
          )
        >
          4
      )
    /
      count by (job) (
        up{job="alertmanager"}
      )
  )
>=
  0.5)"},
    // Unary expressions: the sign takes the indentation.
    {R"(-1)", R"(-1)"},
    {R"(-vector_selector)", R"(-vector_selector)"},
    {R"((-vector_selector))", R"((
  -vector_selector
))"},
    {R"(-histogram_quantile(0.9,rate(foo[1m])))", R"(-histogram_quantile(
  0.9,
  rate(
    foo[1m]
  )
))"},
    {R"(-histogram_quantile(0.99, sum by (le) (rate(foo[1m]))))", R"(-histogram_quantile(
  0.99,
  sum by (le) (
    rate(
      foo[1m]
    )
  )
))"},
    {R"(-histogram_quantile(0.9, -rate(foo[1m] @ start())))", R"(-histogram_quantile(
  0.9,
  -rate(
    foo[1m] @ start()
  )
))"},
    {R"((-histogram_quantile(0.9, -rate(foo[1m] @ start()))))", R"((
  -histogram_quantile(
    0.9,
    -rate(
      foo[1m] @ start()
    )
  )
))"},
};

TEST(PrettierTest, PrometheusTableAtLineLimit10) {
  for (const Case& c : kLimit10Cases) {
    auto expr = ParseExpr(c.in);
    ASSERT_TRUE(expr.ok()) << c.in << ": " << expr.status();
    EXPECT_EQ(Prettify(**expr, 10), c.out) << "input: " << c.in;
  }
}

void CollectNodes(const Expr& e, std::vector<const Expr*>& out) {
  out.push_back(&e);
  switch (e.kind()) {
    case NodeKind::kAggregate:
      if (e.As<AggregateExpr>().param) CollectNodes(*e.As<AggregateExpr>().param, out);
      CollectNodes(*e.As<AggregateExpr>().expr, out);
      break;
    case NodeKind::kBinary:
      CollectNodes(*e.As<BinaryExpr>().lhs, out);
      CollectNodes(*e.As<BinaryExpr>().rhs, out);
      break;
    case NodeKind::kCall:
      for (const auto& a : e.As<Call>().args) CollectNodes(*a, out);
      break;
    case NodeKind::kParen:
      CollectNodes(*e.As<ParenExpr>().expr, out);
      break;
    case NodeKind::kSubquery:
      CollectNodes(*e.As<SubqueryExpr>().expr, out);
      break;
    case NodeKind::kUnary:
      CollectNodes(*e.As<UnaryExpr>().expr, out);
      break;
    default:
      break;
  }
}

// The split decision uses lengths summed from the children rather than printing every node
// whole; at every node the limit must fall exactly at the length of its one-line form.
TEST(PrettierTest, SplitsExactlyPastTheOneLineLength) {
  int checked = 0;
  for (const Case& c : kLimit10Cases) {
    auto expr = ParseExpr(c.in);
    ASSERT_TRUE(expr.ok()) << c.in;
    std::vector<const Expr*> nodes;
    CollectNodes(**expr, nodes);
    for (const Expr* node : nodes) {
      std::string flat = node->String();
      EXPECT_EQ(Prettify(*node, flat.size()), flat) << "node: " << flat;
      NodeKind k = node->kind();
      if (k == NodeKind::kAggregate || k == NodeKind::kBinary || k == NodeKind::kCall ||
          k == NodeKind::kParen) {
        EXPECT_NE(Prettify(*node, flat.size() - 1), flat) << "node: " << flat;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(PrettierTest, DurationExpressionsStayOnTheirLine) {
  ParseOptions options;
  options.experimental_duration_expr = true;
  const Case cases[] = {
      {"rate(foo[2*1h])", "rate(\n  foo[2 * 1h]\n)"},
      {"rate(foo[-5m+35m])", "rate(\n  foo[-5m + 35m]\n)"},
  };
  for (const Case& c : cases) {
    auto expr = ParseExpr(c.in, options);
    ASSERT_TRUE(expr.ok()) << c.in << ": " << expr.status();
    EXPECT_EQ(Prettify(**expr, 10), c.out) << "input: " << c.in;
  }
}

TEST(PrettierTest, ShortQueriesStayOnOneLineAtTheDefaultLimit) {
  auto expr = ParseExpr("sum(rate(http_requests_total{job=\"api\"}[5m])) by (code) > 1");
  ASSERT_TRUE(expr.ok()) << expr.status();
  EXPECT_EQ(Prettify(**expr), "sum by (code) (rate(http_requests_total{job=\"api\"}[5m])) > 1");
}

TEST(PrettierTest, SplitsPastOneHundredCharacters) {
  // 101 characters on one line: the binary expression splits, each side (short) stays whole.
  std::string lhs =
      "sum by (job) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))";
  std::string rhs = "sum by (job) (rate(http_requests_total[5m]))";
  auto expr = ParseExpr(lhs + " / " + rhs);
  ASSERT_TRUE(expr.ok()) << expr.status();
  ASSERT_GT((*expr)->String().size(), kPrettyLineLimit);
  EXPECT_EQ(Prettify(**expr), "  " + lhs + "\n/\n  " + rhs);
}

TEST(PrettierTest, SubqueryThatFitsIsNotIndented) {
  // Prometheus' SubqueryExpr.Pretty returns a subquery that fits without indentation, even as
  // an argument of a call that was split.
  auto expr = ParseExpr("quantile_over_time(0.9, rate(x[5m])[1h:])");
  ASSERT_TRUE(expr.ok()) << expr.status();
  EXPECT_EQ(Prettify(**expr, 30), "quantile_over_time(\n  0.9,\nrate(x[5m])[1h:]\n)");
  // One that does not fit is split inside and takes the indentation of its expression.
  EXPECT_EQ(Prettify(**expr, 10), "quantile_over_time(\n  0.9,\n  rate(\n    x[5m]\n  )[1h:]\n)");
}

TEST(PrettierTest, LongSelectorIsNeverSplit) {
  std::string selector = "metric{" + std::string(120, 'a') + "=\"b\"}";
  auto expr = ParseExpr(selector);
  ASSERT_TRUE(expr.ok()) << expr.status();
  EXPECT_EQ(Prettify(**expr), selector);
}

TEST(PrettierTest, DeeplyNestedQueryDoesNotCrash) {
  std::string q;
  for (int i = 0; i < 200; ++i) q += "abs(";
  q += "some_rather_long_metric_name";
  for (int i = 0; i < 200; ++i) q += ")";
  auto expr = ParseExpr(q);
  ASSERT_TRUE(expr.ok()) << expr.status();
  std::string pretty = Prettify(**expr);
  // The innermost 14 calls fit in 100 characters (14 * 5 + 28 = 98) and stay on one line; each
  // of the other 186 opens and closes a line.
  EXPECT_EQ(std::count(pretty.begin(), pretty.end(), '\n'), 2 * 186);
  auto reparsed = ParseExpr(pretty);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ((*reparsed)->String(), (*expr)->String());
}

}  // namespace
}  // namespace oriel::promql
