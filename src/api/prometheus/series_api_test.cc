#include "api/prometheus/series_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <limits>

#include "api/prometheus/api_response.h"
#include "tsdb/db.h"

namespace oriel::api {
namespace {

model::SeriesData Series(std::vector<model::Label> labels, int64_t t, double v) {
  model::SeriesData s;
  s.labels = model::Labels::FromUnsorted(std::move(labels));
  s.samples.push_back({t, v});
  return s;
}

class SeriesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("oriel-series-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto db = tsdb::DB::Open(dir_.string(), {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    model::MetricBatch batch;
    batch.series.push_back(
        Series({{"__name__", "up"}, {"job", "api"}, {"instance", "a:1"}}, 1000, 1));
    batch.series.push_back(
        Series({{"__name__", "up"}, {"job", "web"}, {"instance", "b:1"}}, 1000, 0));
    batch.series.push_back(Series({{"__name__", "http_requests_total"}, {"job", "api"}}, 2000, 5));
    batch.metadata.push_back({"http_requests_total", model::MetricType::kCounter, "Requests.", ""});
    ASSERT_TRUE(db_->Write(std::move(batch)).ok());
    RegisterSeriesApiRoutes(router_, *db_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  net::HttpResponse Get(std::string path, net::Params query) {
    net::HttpRequest req;
    req.method = "GET";
    req.path = std::move(path);
    req.query = std::move(query);
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }

  std::filesystem::path dir_;
  std::unique_ptr<tsdb::DB> db_;
  net::Router router_;
};

TEST_F(SeriesApiTest, SeriesByMatchersWithLimitWarning) {
  auto res = Get("/api/v1/series", {{"match[]", "up"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            R"({"status":"success","data":[{"__name__":"up","instance":"a:1","job":"api"},)"
            R"({"__name__":"up","instance":"b:1","job":"web"}]})");
  auto limited = Get("/api/v1/series", {{"match[]", "{job=~\".+\"}"}, {"limit", "1"}});
  EXPECT_NE(limited.body.find("\"warnings\":[\"results truncated due to limit\"]"),
            std::string::npos)
      << limited.body;
  // Two selectors: the union.
  auto both =
      Get("/api/v1/series", {{"match[]", "up{job=\"web\"}"}, {"match[]", "http_requests_total"}});
  EXPECT_NE(both.body.find("http_requests_total"), std::string::npos);
  EXPECT_NE(both.body.find("b:1"), std::string::npos);
  EXPECT_EQ(both.body.find("a:1"), std::string::npos);
}

TEST_F(SeriesApiTest, SeriesErrorsAreBadData) {
  auto none = Get("/api/v1/series", {});
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.body,
            R"({"status":"error","errorType":"bad_data","error":"no match[] parameter provided"})");
  auto bad = Get("/api/v1/series", {{"match[]", "up{"}});
  EXPECT_EQ(bad.status, 400);
  auto time = Get("/api/v1/series", {{"match[]", "up"}, {"start", "yesterday"}});
  EXPECT_EQ(time.status, 400);
  EXPECT_NE(time.body.find("invalid parameter \\\"start\\\""), std::string::npos) << time.body;
}

TEST_F(SeriesApiTest, LabelsAndValuesWithTimeRange) {
  EXPECT_EQ(Get("/api/v1/labels", {}).body,
            R"({"status":"success","data":["__name__","instance","job"]})");
  EXPECT_EQ(Get("/api/v1/label/job/values", {}).body,
            R"({"status":"success","data":["api","web"]})");
  EXPECT_EQ(Get("/api/v1/label/job/values", {{"match[]", "up{instance=\"b:1\"}"}}).body,
            R"({"status":"success","data":["web"]})");
  // RFC 3339 and float seconds; a range before any sample finds nothing.
  EXPECT_EQ(
      Get("/api/v1/label/__name__/values", {{"start", "1.5"}, {"end", "1970-01-01T00:00:03Z"}})
          .body,
      R"({"status":"success","data":["http_requests_total"]})");
}

TEST_F(SeriesApiTest, MetadataByFamily) {
  EXPECT_EQ(
      Get("/api/v1/metadata", {}).body,
      R"({"status":"success","data":{"http_requests_total":[{"type":"counter","help":"Requests.","unit":""}]}})");
}

TEST(ApiResponseTest, ParsesTimesAndFormatsValues) {
  EXPECT_EQ(*ParseTimeMs("1700000000.123"), 1700000000123);
  EXPECT_EQ(*ParseTimeMs("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*ParseTimeMs("2023-11-14T22:13:20.5+01:00"), 1699996400500);
  EXPECT_FALSE(ParseTimeMs("soon").ok());
  EXPECT_EQ(FormatValue(1e20), "100000000000000000000");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatTimestamp(1700000000123), "1700000000.123");
  EXPECT_EQ(FormatTimestamp(1700000000000), "1700000000");
}

}  // namespace
}  // namespace oriel::api
