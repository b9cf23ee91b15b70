#include "api/prometheus/query_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tsdb/db.h"

namespace oriel::api {
namespace {

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("oriel-query-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto db = tsdb::DB::Open(dir_.string(), {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    model::MetricBatch batch;
    for (const char* job : {"api", "web"}) {
      model::SeriesData s;
      s.labels = model::Labels::FromUnsorted({{"__name__", "requests_total"}, {"job", job}});
      for (int i = 0; i <= 10; ++i)
        s.samples.push_back({i * 60000, i * 60.0 * (job[0] == 'a' ? 1 : 2)});
      batch.series.push_back(std::move(s));
    }
    ASSERT_TRUE(db_->Write(std::move(batch)).ok());
    RegisterQueryApiRoutes(router_, engine_, *db_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  net::HttpResponse Call(std::string method, std::string path, net::Params params) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    if (req.method == "POST") {
      req.headers.Add("Content-Type", "application/x-www-form-urlencoded");
      for (auto& [k, v] : params) req.body += (req.body.empty() ? "" : "&") + k + "=" + v;
    } else {
      req.query = std::move(params);
    }
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }

  std::filesystem::path dir_;
  std::unique_ptr<tsdb::DB> db_;
  promql::Engine engine_{promql::EngineOptions{}};
  net::Router router_;
};

TEST_F(QueryApiTest, InstantVectorAndScalar) {
  auto res =
      Call("GET", "/api/v1/query", {{"query", "sum(rate(requests_total[5m]))"}, {"time", "600"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(
      res.body,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[600,"3"]}]}})");
  auto scalar = Call("POST", "/api/v1/query", {{"query", "1%2B2"}, {"time", "1.5"}});
  EXPECT_EQ(scalar.body,
            R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"3"]}})");
}

TEST_F(QueryApiTest, RangeMatrix) {
  auto res = Call(
      "GET", "/api/v1/query_range",
      {{"query", "requests_total{job=\"web\"}"}, {"start", "0"}, {"end", "120"}, {"step", "1m"}});
  EXPECT_EQ(
      res.body,
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"requests_total","job":"web"},"values":[[0,"0"],[60,"120"],[120,"240"]]}]}})");
}

TEST_F(QueryApiTest, ErrorsUsePrometheusTypesAndCodes) {
  auto parse = Call("GET", "/api/v1/query", {{"query", "sum(("}});
  EXPECT_EQ(parse.status, 400);
  EXPECT_NE(parse.body.find("\"errorType\":\"bad_data\""), std::string::npos);
  auto step = Call("GET", "/api/v1/query_range",
                   {{"query", "up"}, {"start", "0"}, {"end", "10"}, {"step", "0"}});
  EXPECT_EQ(step.status, 400);
  EXPECT_NE(step.body.find("zero or negative query resolution step"), std::string::npos);
  auto points = Call("GET", "/api/v1/query_range",
                     {{"query", "up"}, {"start", "0"}, {"end", "100000"}, {"step", "1"}});
  EXPECT_EQ(points.status, 400);
  EXPECT_NE(points.body.find("11,000 points"), std::string::npos);
  auto missing = Call("GET", "/api/v1/query_range", {{"query", "up"}});
  EXPECT_EQ(missing.status, 400);
  auto exec = Call("GET", "/api/v1/query",
                   {{"query", "requests_total + on() requests_total"}, {"time", "600"}});
  EXPECT_EQ(exec.status, 422);
  EXPECT_NE(exec.body.find("\"errorType\":\"execution\""), std::string::npos);
}

TEST_F(QueryApiTest, FormatQuery) {
  auto res = Call("GET", "/api/v1/format_query", {{"query", "sum(rate(x{a=\"b\"}[5m]))by(job)"}});
  EXPECT_EQ(res.body,
            R"json({"status":"success","data":"sum by (job) (rate(x{a=\"b\"}[5m]))"})json");
}

TEST_F(QueryApiTest, FormatQueryEscapesLikeGoAndNamesTheParameterInErrors) {
  // Byte for byte what Prometheus 2.42 answers for the same requests.
  auto res = Call("GET", "/api/v1/format_query", {{"query", "a > b and c<d"}});
  EXPECT_EQ(res.body, R"json({"status":"success","data":"a \u003e b and c \u003c d"})json");
  auto bad = Call("GET", "/api/v1/format_query", {{"query", "foo+"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      bad.body,
      R"json({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"})json");
}

TEST_F(QueryApiTest, FormatQuerySplitsLongQueries) {
  std::string q =
      "sum(rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) by (job) / "
      "sum(rate(http_requests_total[5m])) by (job)";
  auto res = Call("GET", "/api/v1/format_query", {{"query", q}});
  EXPECT_EQ(
      res.body,
      R"json({"status":"success","data":"  sum by (job) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))\n/\n  sum by (job) (rate(http_requests_total[5m]))"})json");
}

TEST_F(QueryApiTest, ParseQuery) {
  for (const char* method : {"GET", "POST"}) {
    auto res = Call(method, "/api/v1/parse_query", {{"query", "-foo"}});
    EXPECT_EQ(res.status, 200) << method;
    EXPECT_EQ(
        res.body,
        R"json({"status":"success","data":{"expr":{"anchored":false,"matchers":[{"name":"__name__","type":"=","value":"foo"}],"name":"foo","offset":0,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"op":"-","type":"unaryExpr"}})json")
        << method;
  }
  auto cmp = Call("GET", "/api/v1/parse_query", {{"query", "1 > bool 2"}});
  EXPECT_NE(cmp.body.find(R"("op":"\u003e")"), std::string::npos) << cmp.body;
  // A string literal holding invalid UTF-8: encoding/json writes U+FFFD for the byte.
  auto bytes = Call("GET", "/api/v1/parse_query", {{"query", R"("a\xffb")"}});
  EXPECT_EQ(bytes.body,
            R"json({"status":"success","data":{"type":"stringLiteral","val":"a\ufffdb"}})json");
  auto bad = Call("GET", "/api/v1/parse_query", {{"query", "sum(("}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find(R"("errorType":"bad_data","error":"invalid parameter \"query\": 1:)"),
            std::string::npos)
      << bad.body;
  auto empty = Call("GET", "/api/v1/parse_query", {});
  EXPECT_EQ(empty.status, 400);
}

// Forwards to a real reader, but each Select takes `delay`: a query that holds its slot.
class SlowReader : public tsdb::MetricsReader {
 public:
  SlowReader(tsdb::MetricsReader& next, std::chrono::milliseconds delay)
      : next_(next), delay_(delay) {}
  std::unique_ptr<tsdb::SeriesSet> Select(int64_t a, int64_t b, std::span<const model::Matcher> m,
                                          const tsdb::SelectHints* h) override {
    std::this_thread::sleep_for(delay_);
    return next_.Select(a, b, m, h);
  }
  absl::StatusOr<std::vector<std::string>> LabelNames(int64_t a, int64_t b,
                                                      std::span<const model::Matcher> m) override {
    return next_.LabelNames(a, b, m);
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view n, int64_t a, int64_t b,
                                                       std::span<const model::Matcher> m) override {
    return next_.LabelValues(n, a, b, m);
  }
  std::vector<model::MetricMetadata> Metadata(std::string_view m, size_t l) override {
    return next_.Metadata(m, l);
  }
  std::vector<tsdb::ExemplarSeries> Exemplars(int64_t a, int64_t b,
                                              std::span<const model::Matcher> m) override {
    return next_.Exemplars(a, b, m);
  }

 private:
  tsdb::MetricsReader& next_;
  std::chrono::milliseconds delay_;
};

TEST_F(QueryApiTest, QueriesBeyondTheConcurrencyLimitWaitThenTimeOut) {
  SlowReader slow(*db_, std::chrono::milliseconds(800));
  net::Router router;
  RegisterQueryApiRoutes(router, engine_, slow, {.max_concurrent_queries = 1});
  auto call = [&](std::string timeout) {
    net::HttpRequest req;
    req.method = "GET";
    req.path = "/api/v1/query";
    req.query = {{"query", "requests_total"}, {"time", "600"}, {"timeout", timeout}};
    net::HttpResponse res;
    router.Dispatch(req, res);
    return res;
  };
  std::thread first([&] { EXPECT_EQ(call("10s").status, 200); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto waited = call("100ms");
  EXPECT_EQ(waited.status, 503);
  EXPECT_NE(waited.body.find("waiting for a free query slot"), std::string::npos) << waited.body;
  first.join();
  EXPECT_EQ(call("10s").status, 200);
}

}  // namespace
}  // namespace oriel::api
