#include "ingest/pushgateway/text_parser.h"

#include <gtest/gtest.h>

#include <cmath>

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

std::vector<pb::MetricFamily> MustParse(std::string_view text) {
  auto out = ParseTextFormat(text);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : std::vector<pb::MetricFamily>{};
}

std::string ErrorOf(std::string_view text) {
  auto out = ParseTextFormat(text);
  EXPECT_FALSE(out.ok()) << text;
  return std::string(out.status().message());
}

TEST(TextParserTest, HelpTypeAndEscapes) {
  auto fams = MustParse(
      "# HELP g some \\\\ help\\n x \n"
      "# TYPE g gauge\n"
      "g{a=\"q\\\"x\\ny\\\\\"} NaN\n"
      "g{a=\"2\",} +Inf\n"
      "g{ b = \"3\" }\t-Inf\n"
      "# just a comment\n"
      "   \n"
      "#\n"
      "untyped_one 1.5e3\n");
  ASSERT_EQ(fams.size(), 2u);
  const pb::MetricFamily& g = fams[0];
  EXPECT_EQ(g.name(), "g");
  EXPECT_EQ(g.help(), "some \\ help\n x ");
  EXPECT_EQ(g.type(), pb::GAUGE);
  ASSERT_EQ(g.metric_size(), 3);
  EXPECT_EQ(g.metric(0).label(0).value(), "q\"x\ny\\");
  EXPECT_TRUE(std::isnan(g.metric(0).gauge().value()));
  EXPECT_EQ(g.metric(1).gauge().value(), INFINITY);
  EXPECT_EQ(g.metric(2).label(0).name(), "b");
  EXPECT_EQ(g.metric(2).gauge().value(), -INFINITY);
  EXPECT_EQ(fams[1].type(), pb::UNTYPED);
  EXPECT_EQ(fams[1].metric(0).untyped().value(), 1500);
  EXPECT_FALSE(fams[1].has_help());
}

TEST(TextParserTest, HelpAfterSamplesIsFineTypeAfterSamplesIsNot) {
  auto fams = MustParse("x 1\n# HELP x late help\n");
  ASSERT_EQ(fams.size(), 1u);
  EXPECT_EQ(fams[0].help(), "late help");
  EXPECT_EQ(ErrorOf("g{a=\"1\"} 1\n# TYPE g gauge\n"),
            "text format parsing error in line 2: second TYPE line for metric name \"g\", or TYPE "
            "reported after samples");
  EXPECT_EQ(ErrorOf("# HELP g x\n# HELP g y\n"),
            "text format parsing error in line 2: second HELP line for metric name \"g\"");
  // HELP/TYPE without samples leave no family.
  EXPECT_TRUE(MustParse("# TYPE lonely counter\n# HELP lonely h\n").empty());
}

TEST(TextParserTest, SummaryAndHistogramGrouping) {
  auto fams = MustParse(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\",a=\"x\"} 1\n"
      "h_bucket{a=\"x\",le=\"+Inf\"} 2\n"
      "h_sum{a=\"x\"} 3\n"
      "h_count{a=\"x\"} 2\n"
      "h_count{a=\"y\"} 7\n"
      "# TYPE s summary\n"
      "s{quantile=\"0.5\"} 1\n"
      "s 99\n"
      "s_sum 2\n"
      "s_count 3\n"
      "# TYPE c counter\n"
      "c_sum 4\n");
  ASSERT_EQ(fams.size(), 3u);  // "c" has no samples of its own and is dropped
  const pb::MetricFamily& h = fams[0];
  ASSERT_EQ(h.metric_size(), 2);
  EXPECT_EQ(h.metric(0).label_size(), 1);  // le is not a label
  ASSERT_EQ(h.metric(0).histogram().bucket_size(), 2);
  EXPECT_EQ(h.metric(0).histogram().bucket(1).upper_bound(), INFINITY);
  EXPECT_EQ(h.metric(0).histogram().bucket(1).cumulative_count(), 2u);
  EXPECT_EQ(h.metric(0).histogram().sample_sum(), 3);
  EXPECT_EQ(h.metric(0).histogram().sample_count(), 2u);
  EXPECT_EQ(h.metric(1).histogram().sample_count(), 7u);
  const pb::MetricFamily& s = fams[1];
  ASSERT_EQ(s.metric_size(), 1);
  ASSERT_EQ(s.metric(0).summary().quantile_size(), 1);  // "s 99" without quantile is dropped
  EXPECT_EQ(s.metric(0).summary().quantile(0).quantile(), 0.5);
  EXPECT_EQ(s.metric(0).summary().sample_count(), 3u);
  EXPECT_EQ(fams[2].name(), "c_sum");  // only summaries and histograms absorb _sum
  EXPECT_EQ(fams[2].type(), pb::UNTYPED);
  EXPECT_EQ(ErrorOf("# TYPE s summary\ns{quantile=\"x\"} 1\n"),
            "text format parsing error in line 2: expected float as value for 'quantile' label, "
            "got \"x\"");
}

TEST(TextParserTest, TimestampsAreKept) {
  auto fams = MustParse("x 1 1234\ny{a=\"b\"} 2 -5\n");
  ASSERT_EQ(fams.size(), 2u);
  EXPECT_EQ(fams[0].metric(0).timestamp_ms(), 1234);
  EXPECT_EQ(fams[1].metric(0).timestamp_ms(), -5);
  EXPECT_FALSE(MustParse("z 1\n")[0].metric(0).has_timestamp_ms());
}

TEST(TextParserTest, ErrorsMatchThePushgateway) {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"x 1", "line 1: unexpected end of input stream"},
      {"   \n# random comment\nx 1", "line 3: unexpected end of input stream"},
      {"# foo", "line 1: unexpected end of input stream"},
      {"x{a=\"1\" 1\n", "line 1: unexpected end of label value \"1\""},
      {"9x 1\n", "line 1: invalid metric name"},
      {"x 1e\n", "line 1: expected float as value, got \"1e\""},
      {"x\n", "line 1: expected float as value, got \"\""},
      {"x 0x1p3\n", "line 1: expected float as value, got \"0x1p3\""},
      {"x 1_0\n", "line 1: expected float as value, got \"1_0\""},
      {"x -nan\n", "line 1: expected float as value, got \"-nan\""},
      {"x{a=\"1\",a=\"2\"} 1\n", "line 1: duplicate label names for metric \"x\""},
      {"x{a=\"\\q\"} 1\n", "line 1: invalid escape sequence '\\q'"},
      {"x{a=\"1\n\"} 1\n", "line 1: label value \"1\" contains unescaped new-line"},
      {"x 1 abc\n", "line 1: expected integer as timestamp, got \"abc\""},
      {"x 1 \n", "line 1: expected integer as timestamp, got \"\""},
      {"x 1 123 \n", "line 1: spurious string after timestamp: \" \""},
      {"# TYPE x foo\n", "line 1: unknown metric type \"foo\""},
      {"# TYPE x gauge extra\n", "line 1: unknown metric type \"gauge extra\""},
      {"# HELP x a\\tb\n", "line 1: invalid escape sequence '\\t'"},
      {"x{__name__=\"y\"} 1\n", "line 1: label name \"__name__\" is reserved"},
      {"x{a='1'} 1\n", "line 1: expected '\"' at start of label value, found '\\''"},
      {"ok 1\nx{1a=\"1\"} 1\n", "line 2: invalid label name for metric \"x\""},
      {"x{a:b=\"1\"} 1\n", "line 1: expected '=' after label name, found ':'"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrorOf(c.text), "text format parsing error in " + c.error) << c.text;
  }
}

TEST(TextParserTest, AcceptedOddities) {
  EXPECT_EQ(MustParse("x{} 1\n").size(), 1u);
  EXPECT_EQ(MustParse("x{a=\"1\"}1\n")[0].metric(0).untyped().value(), 1);
  EXPECT_EQ(MustParse("x\t 1\n").size(), 1u);
  EXPECT_EQ(MustParse("x Inf\n")[0].metric(0).untyped().value(), INFINITY);
  EXPECT_EQ(MustParse("# TYPE x GAUGE\nx 1\n")[0].type(), pb::GAUGE);
  EXPECT_EQ(MustParse("#TYPE x counter\nx 1\n")[0].type(), pb::COUNTER);
  EXPECT_EQ(MustParse("x{le=\"a\"} 1\n")[0].metric(0).label(0).name(), "le");
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("  ").empty());
  // Lines of one family need not be adjacent; the duplicate check comes later.
  EXPECT_EQ(MustParse("k 1\nm 2\nk 3\n")[0].metric_size(), 2);
}

TEST(TextParserTest, GoFloat) {
  double v = 0;
  EXPECT_TRUE(ParseGoFloat("-1.5E-3", &v));
  EXPECT_EQ(v, -1.5e-3);
  EXPECT_TRUE(ParseGoFloat(".5", &v));
  EXPECT_TRUE(ParseGoFloat("5.", &v));
  EXPECT_TRUE(ParseGoFloat("+infinity", &v));
  EXPECT_TRUE(ParseGoFloat("nan", &v));
  EXPECT_FALSE(ParseGoFloat("1e400", &v));
  EXPECT_FALSE(ParseGoFloat(".", &v));
  EXPECT_FALSE(ParseGoFloat("nan(1)", &v));
  EXPECT_FALSE(ParseGoFloat(" 1", &v));
}

}  // namespace
}  // namespace oriel::ingest
