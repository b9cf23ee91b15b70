#include "api/jaeger/jaeger_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "api/jaeger/fake_trace_reader.h"
#include "ingest/otlp/otlp_json.h"
#include "net/router.h"
#include "net/url.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::api::jaeger {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000'000'000'000;

// Two traces: t1 (front -> back) and t2 (front only).
constexpr std::string_view kSpans = R"({"resourceSpans":[
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"front"}}]},
  "scopeSpans":[{"spans":[
   {"traceId":"11111111111111111111111111111111","spanId":"0000000000000001","name":"GET /",
    "kind":2,"startTimeUnixNano":"1000","endTimeUnixNano":"2000"},
   {"traceId":"22222222222222222222222222222222","spanId":"0000000000000003","name":"cron",
    "kind":1,"startTimeUnixNano":"1000","endTimeUnixNano":"2000"},
   {"traceId":"11111111111111111111111111111111","spanId":"0000000000000004","name":"GET /",
    "kind":3,"parentSpanId":"0000000000000001"}]}]},
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"back"}}]},
  "scopeSpans":[{"spans":[
   {"traceId":"11111111111111111111111111111111","spanId":"0000000000000002","name":"query",
    "parentSpanId":"0000000000000004","kind":2}]}]}]})";

class JaegerApiTest : public ::testing::Test {
 protected:
  JaegerApiTest() {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
    EXPECT_TRUE(ingest::otlp::ParseOtlpJson(kSpans, ingest::otlp::OtlpSignal::kTraces, req).ok());
    for (const auto& rs : req.resource_spans()) reader_.Add(rs);
    RegisterJaegerRoutes(router_, reader_, [] { return kNow; });
  }

  net::HttpResponse Get(std::string target) {
    net::HttpRequest req;
    req.method = "GET";
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = net::ParseQueryString(target.substr(q + 1));
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }

  rapidjson::Document Json(const net::HttpResponse& res) {
    rapidjson::Document doc;
    doc.Parse(res.body.data(), res.body.size());
    EXPECT_FALSE(doc.HasParseError()) << res.body;
    return doc;
  }

  FakeTraceReader reader_;
  net::Router router_;
};

TEST_F(JaegerApiTest, Services) {
  net::HttpResponse res = Get("/api/services");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"data":["back","front"],"total":2,"limit":0,"offset":0,"errors":null})");
}

TEST_F(JaegerApiTest, OperationsLegacyAndWithKinds) {
  EXPECT_EQ(Get("/api/services/front/operations").body,
            R"({"data":["GET /","cron"],"total":2,"limit":0,"offset":0,"errors":null})");
  EXPECT_EQ(
      Get("/api/operations?service=front").body,
      R"({"data":[{"name":"GET /","spanKind":"server"},{"name":"GET /","spanKind":"client"},)"
      R"({"name":"cron","spanKind":"internal"}],"total":3,"limit":0,"offset":0,"errors":null})");
  EXPECT_EQ(Get("/api/operations?service=front&spanKind=client").body,
            R"({"data":[{"name":"GET /","spanKind":"client"}],"total":1,"limit":0,"offset":0,)"
            R"("errors":null})");
  net::HttpResponse res = Get("/api/operations");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,)"
                      R"("msg":"parameter 'service' is required"}]})");
  res = Get("/api/operations?service=front&spanKind=sideways");
  EXPECT_EQ(res.status, 400);
  EXPECT_THAT(res.body, HasSubstr("spanKind"));
}

TEST_F(JaegerApiTest, SearchPassesTheQueryAndReturnsTraces) {
  net::HttpResponse res =
      Get("/api/traces?service=front&operation=cron&start=1000&end=2000&minDuration=1ms&limit=5"
          "&tags=%7B%22error%22%3A%22true%22%7D");
  ASSERT_EQ(res.status, 200) << res.body;
  ASSERT_TRUE(reader_.last_query_.has_value());
  const tracestore::TraceQuery& q = *reader_.last_query_;
  EXPECT_EQ(q.service, "front");
  EXPECT_EQ(q.operation, "cron");
  EXPECT_EQ(q.start_unix_nano, 1'000'000);
  EXPECT_EQ(q.end_unix_nano, 2'000'000);
  EXPECT_EQ(q.min_duration_nano, 1'000'000);
  EXPECT_EQ(q.limit, 5u);
  ASSERT_EQ(q.tags.size(), 1u);
  EXPECT_EQ(q.tags[0], (std::pair<std::string, std::string>{"error", "true"}));
  rapidjson::Document doc = Json(res);
  ASSERT_EQ(doc["data"].Size(), 1u);
  EXPECT_STREQ(doc["data"][0]["traceID"].GetString(), "22222222222222222222222222222222");
  EXPECT_EQ(doc["total"].GetInt(), 0);  // Jaeger leaves it unset for searches
  EXPECT_TRUE(doc["errors"].IsNull());

  res = Get("/api/traces?service=front");
  doc = Json(res);
  EXPECT_EQ(doc["data"].Size(), 2u);
  EXPECT_EQ(reader_.last_query_->end_unix_nano, kNow);
}

TEST_F(JaegerApiTest, SearchErrors) {
  net::HttpResponse res = Get("/api/traces?service=front&maxDuration=fast");
  EXPECT_EQ(res.status, 400);
  rapidjson::Document doc = Json(res);
  EXPECT_TRUE(doc["data"].IsNull());
  EXPECT_EQ(doc["errors"][0]["code"].GetInt(), 400);
  EXPECT_THAT(doc["errors"][0]["msg"].GetString(), HasSubstr("'maxDuration'"));
  EXPECT_EQ(Get("/api/traces").status, 400);

  reader_.SetFindError(absl::UnavailableError("index is loading"));
  res = Get("/api/traces?service=front");
  EXPECT_EQ(res.status, 503);
  EXPECT_THAT(res.body, HasSubstr("index is loading"));
}

TEST_F(JaegerApiTest, SearchByTraceIdsReportsMissingOnes) {
  net::HttpResponse res = Get("/api/traces?traceID=11111111111111111111111111111111&traceID=abc");
  ASSERT_EQ(res.status, 200);
  rapidjson::Document doc = Json(res);
  ASSERT_EQ(doc["data"].Size(), 1u);
  EXPECT_EQ(doc["data"][0]["spans"].Size(), 3u);
  ASSERT_EQ(doc["errors"].Size(), 1u);
  EXPECT_STREQ(doc["errors"][0]["msg"].GetString(), "trace not found");
  EXPECT_STREQ(doc["errors"][0]["traceID"].GetString(), "0000000000000abc");
}

TEST_F(JaegerApiTest, GetTrace) {
  net::HttpResponse res = Get("/api/traces/11111111111111111111111111111111");
  ASSERT_EQ(res.status, 200);
  rapidjson::Document doc = Json(res);
  ASSERT_EQ(doc["data"].Size(), 1u);
  const auto& trace = doc["data"][0];
  EXPECT_EQ(trace["spans"].Size(), 3u);
  EXPECT_STREQ(trace["processes"]["p1"]["serviceName"].GetString(), "front");
  EXPECT_STREQ(trace["processes"]["p2"]["serviceName"].GetString(), "back");

  res = Get("/api/traces/33333333333333333333333333333333");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,)"
                      R"("msg":"trace not found"}]})");
  res = Get("/api/traces/not-hex");
  EXPECT_EQ(res.status, 400);
  EXPECT_THAT(res.body, HasSubstr("cannot parse trace id"));
}

TEST_F(JaegerApiTest, DependenciesDeduplicatedAndFiltered) {
  reader_.SetDependencies({{"front", "back", 3}, {"back", "db", 2}, {"front", "back", 4}});
  net::HttpResponse res = Get("/api/dependencies?endTs=1700000000000&lookback=60000");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            R"({"data":[{"parent":"back","child":"db","callCount":2},)"
            R"({"parent":"front","child":"back","callCount":7}],"total":0,"limit":0,"offset":0,)"
            R"("errors":null})");
  EXPECT_EQ(reader_.last_dependencies_,
            (std::pair<int64_t, int64_t>{1'700'000'000'000'000'000, 60'000'000'000}));
  res = Get("/api/dependencies?service=db");
  EXPECT_THAT(res.body, HasSubstr(R"("data":[{"parent":"back","child":"db","callCount":2}])"));
  EXPECT_EQ(reader_.last_dependencies_.first, kNow);
  EXPECT_EQ(Get("/api/dependencies?endTs=yesterday").status, 400);
}

TEST_F(JaegerApiTest, V3ServicesAndOperations) {
  EXPECT_EQ(Get("/api/v3/services").body, R"({"services":["back","front"]})");
  EXPECT_EQ(Get("/api/v3/operations?service=front&span_kind=server").body,
            R"({"operations":[{"name":"GET /","spanKind":"server"}]})");
  EXPECT_EQ(Get("/api/v3/operations?service=nobody").body, R"({"operations":[]})");
  EXPECT_EQ(Get("/api/v3/operations?service=front&span_kind=x").status, 400);
}

TEST_F(JaegerApiTest, V3GetTraceIsOtlpJson) {
  net::HttpResponse res = Get("/api/v3/traces/22222222222222222222222222222222");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(
      res.body,
      R"({"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",)"
      R"("value":{"stringValue":"front"}}]},"scopeSpans":[{"spans":[)"
      R"({"traceId":"22222222222222222222222222222222","spanId":"0000000000000003",)"
      R"("name":"cron","kind":1,"startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]}})");
  res = Get("/api/v3/traces/11111111111111111111111111111111");
  EXPECT_THAT(res.body, HasSubstr(R"("parentSpanId":"0000000000000004")"));
  res = Get("/api/v3/traces/33333333333333333333333333333333");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"error":{"httpCode":404,"message":"trace not found"}})");
  EXPECT_EQ(Get("/api/v3/traces/xyz").status, 400);
}

TEST_F(JaegerApiTest, V3FindTraces) {
  net::HttpResponse res =
      Get("/api/v3/traces?query.service_name=front&query.operation_name=cron"
          "&query.start_time_min=2023-11-14T22:13:20Z&query.start_time_max=2023-11-14T22:14:20.5Z"
          "&query.num_traces=3&query.duration_min=1ms");
  ASSERT_EQ(res.status, 200) << res.body;
  const tracestore::TraceQuery& q = *reader_.last_query_;
  EXPECT_EQ(q.start_unix_nano, kNow);
  EXPECT_EQ(q.end_unix_nano, kNow + 60'500'000'000);
  EXPECT_EQ(q.limit, 3u);
  EXPECT_EQ(q.min_duration_nano, 1'000'000);
  rapidjson::Document doc = Json(res);
  ASSERT_EQ(doc["result"]["resourceSpans"].Size(), 1u);

  res = Get("/api/v3/traces?query.service_name=front");
  EXPECT_EQ(res.status, 400);
  EXPECT_THAT(res.body, HasSubstr("query.start_time_min and query.start_time_max are required"));
  res =
      Get("/api/v3/traces?query.service_name=front&query.start_time_min=yesterday"
          "&query.start_time_max=2023-11-14T22:14:20Z");
  EXPECT_EQ(res.status, 400);
  EXPECT_THAT(res.body, HasSubstr("malformed parameter query.start_time_min"));
}

}  // namespace
}  // namespace oriel::api::jaeger
