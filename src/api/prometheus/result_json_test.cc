#include "api/prometheus/result_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "api/prometheus/api_response.h"
#include "fmt/format.h"

namespace oriel::api {
namespace {

std::string Json(decltype(promql::QueryResult::value) value, size_t limit = 0) {
  promql::QueryResult result;
  result.value = std::move(value);
  std::vector<std::string> warnings;
  std::string out;
  AppendResultJson(out, result, limit, warnings);
  for (const auto& w : warnings) out += " warning: " + w;
  return out;
}

model::Labels L(std::vector<model::Label> labels) {
  return model::Labels::FromUnsorted(std::move(labels));
}

TEST(ResultJsonTest, EachResultType) {
  EXPECT_EQ(Json(promql::Scalar{1500, 2.5}),
            R"({"resultType":"scalar","result":[1.5,"2.5"]})");
  EXPECT_EQ(Json(promql::String{3000, "a\"b"}),
            R"({"resultType":"string","result":[3,"a\"b"]})");
  promql::Vector vec = {{L({{"__name__", "up"}, {"job", "a\nb"}}), 1001, 1},
                        {L({}), 1010, std::nan("")}};
  EXPECT_EQ(Json(vec),
            R"({"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\nb"},)"
            R"("value":[1.001,"1"]},{"metric":{},"value":[1.01,"NaN"]}]})");
  promql::Matrix m = {{L({{"a", "x"}}), {{0, -0.0}, {120, 1e21}}}, {L({{"a", "y"}}), {}}};
  EXPECT_EQ(Json(m),
            R"({"resultType":"matrix","result":[{"metric":{"a":"x"},"values":[[0,"-0"],)"
            R"([0.12,"1000000000000000000000"]]},{"metric":{"a":"y"},"values":[]}]})");
}

TEST(ResultJsonTest, LimitTruncatesWithAWarning) {
  promql::Vector vec = {{L({{"a", "1"}}), 0, 1}, {L({{"a", "2"}}), 0, 2}};
  EXPECT_EQ(Json(vec, 1),
            R"({"resultType":"vector","result":[{"metric":{"a":"1"},"value":[0,"1"]}]})"
            " warning: results truncated due to limit");
  EXPECT_EQ(Json(vec, 2),
            R"({"resultType":"vector","result":[{"metric":{"a":"1"},"value":[0,"1"]},)"
            R"({"metric":{"a":"2"},"value":[0,"2"]}]})");
}

// The fast paths print what the general formatting (shortest round trip of the double) prints.
TEST(ResultJsonTest, TimestampsAsShortestSeconds) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{10}, int64_t{999}, int64_t{1000},
                     int64_t{1796395560123}, int64_t{1796395560120}, int64_t{1796395560100},
                     int64_t{4398046511103}, int64_t{4398046511104}, int64_t{-1500},
                     int64_t{-2000}, int64_t{99999999999999999}}) {
    std::string want = ms % 1000 == 0 ? fmt::format("{}", ms / 1000)
                                      : fmt::format("{}", static_cast<double>(ms) / 1000.0);
    EXPECT_EQ(FormatTimestamp(ms), want) << ms;
  }
  for (int64_t ms = 1700000000000; ms < 1700000003000; ms += 7) {
    ASSERT_EQ(FormatTimestamp(ms), fmt::format("{}", static_cast<double>(ms) / 1000.0)) << ms;
  }
}

TEST(ResultJsonTest, ValuesAsGoFormatsThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "-0");
  EXPECT_EQ(FormatValue(25236747786), "25236747786");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(FormatValue(1e22), "10000000000000000000000");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e-7), "0.0000001");
  EXPECT_EQ(FormatValue(153971.9575082222), "153971.9575082222");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

}  // namespace
}  // namespace oriel::api
