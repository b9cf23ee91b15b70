#include "ingest/otlp/otlp_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/status.h"
#include "ingest/otlp/fake_metrics_writer.h"
#include "ingest/otlp/metrics_ingester.h"
#include "ingest/otlp/rpc_status.h"
#include "net/router.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse;
using ::testing::HasSubstr;

constexpr std::string_view kGaugeJson = R"({"resourceMetrics":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"svc"}}]},"scopeMetrics":[{"metrics":[
    {"name":"temp","unit":"Cel","gauge":{"dataPoints":[{"asDouble":21.5,
     "timeUnixNano":"1700000000000000000"}]}}]}]}]})";

ExportMetricsServiceRequest GaugeRequest() {
  ExportMetricsServiceRequest req;
  EXPECT_TRUE(ParseOtlpJson(kGaugeJson, OtlpSignal::kMetrics, req).ok());
  return req;
}

class OtlpHttpTest : public ::testing::Test {
 protected:
  OtlpHttpTest() : ingester_(writer_) { RegisterOtlpMetricsHttpRoute(router_, ingester_); }

  net::HttpResponse Post(std::string content_type, std::string body,
                         std::string content_encoding = "") {
    net::HttpRequest req;
    req.method = "POST";
    req.target = req.path = "/v1/metrics";
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    if (!content_encoding.empty()) req.headers.Add("Content-Encoding", content_encoding);
    req.body = std::move(body);
    net::HttpResponse resp;
    router_.Dispatch(req, resp);
    return resp;
  }

  std::string ContentType(const net::HttpResponse& resp) {
    return std::string(resp.headers.Get("Content-Type").value_or(""));
  }

  FakeMetricsWriter writer_;
  OtlpMetricsIngester ingester_;
  net::Router router_;
};

TEST_F(OtlpHttpTest, ProtobufSuccess) {
  net::HttpResponse resp = Post("application/x-protobuf", GaugeRequest().SerializeAsString());
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(ContentType(resp), "application/x-protobuf");
  ExportMetricsServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(resp.body));
  EXPECT_FALSE(parsed.has_partial_success());
  auto batches = writer_.batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].series.size(), 1u);
  EXPECT_EQ(batches[0].series[0].labels.ToString(), R"(temp_celsius{job="svc"})");
  EXPECT_EQ(batches[0].series[0].samples[0].value, 21.5);
  EXPECT_EQ(batches[0].series[0].samples[0].timestamp_ms, 1700000000000);
}

TEST_F(OtlpHttpTest, JsonSuccessAnswersJson) {
  net::HttpResponse resp = Post("application/json; charset=utf-8", std::string(kGaugeJson));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(ContentType(resp), "application/json");
  EXPECT_EQ(resp.body, "{}");
  EXPECT_EQ(writer_.batches().size(), 1u);
}

TEST_F(OtlpHttpTest, PartialSuccessInBothEncodings) {
  std::string json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
      {"name":"g","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"1"},{"timeUnixNano":"2"}]}}]}]}]})";
  net::HttpResponse resp = Post("application/json", json);
  EXPECT_EQ(resp.status, 200);
  EXPECT_THAT(resp.body,
              HasSubstr(R"("partialSuccess":{"rejectedDataPoints":"1","errorMessage":)"));
  EXPECT_THAT(resp.body, HasSubstr("the data point has no value"));

  ExportMetricsServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(json, OtlpSignal::kMetrics, req).ok());
  resp = Post("application/x-protobuf", req.SerializeAsString());
  ExportMetricsServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(resp.body));
  EXPECT_EQ(parsed.partial_success().rejected_data_points(), 1);
}

TEST_F(OtlpHttpTest, StorageRejectionsArePartialSuccess) {
  writer_.SetResult(
      tsdb::WriteResult{.samples_rejected = 1, .first_rejection = "out of order sample for temp"});
  net::HttpResponse resp = Post("application/json", std::string(kGaugeJson));
  EXPECT_EQ(resp.status, 200);
  EXPECT_THAT(resp.body, HasSubstr(R"("rejectedDataPoints":"1")"));
  EXPECT_THAT(resp.body, HasSubstr("out of order sample for temp"));
}

TEST_F(OtlpHttpTest, UnsupportedContentTypeOrEncoding) {
  EXPECT_EQ(Post("text/plain", "x").status, 415);
  EXPECT_EQ(Post("", "x").status, 415);
  net::HttpResponse resp = Post("application/x-protobuf", "x", "snappy");
  EXPECT_EQ(resp.status, 415);
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_THAT(status.message, HasSubstr("snappy"));
  EXPECT_TRUE(writer_.batches().empty());
}

TEST_F(OtlpHttpTest, MalformedBodiesAre400WithStatus) {
  net::HttpResponse resp = Post("application/x-protobuf", "\xff\xff\xff garbage");
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(ContentType(resp), "application/x-protobuf");
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_EQ(status.code, 3);
  EXPECT_THAT(status.message, HasSubstr("cannot parse OTLP protobuf"));

  resp = Post("application/json", "{\"resourceMetrics\":");
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(ContentType(resp), "application/json");
  EXPECT_THAT(resp.body, HasSubstr(R"({"code":3,"message":"cannot parse OTLP JSON)"));

  resp = Post("application/json", R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"s",
      "sum":{"dataPoints":[{"exemplars":[{"traceId":"zz"}]}]}}]}]}]})");
  EXPECT_EQ(resp.status, 400);
  EXPECT_THAT(resp.body, HasSubstr("metrics[0].sum.dataPoints[0].exemplars[0].traceId"));
  EXPECT_TRUE(writer_.batches().empty());
}

TEST_F(OtlpHttpTest, WriterErrorsMapToRetryableStatuses) {
  writer_.SetResult(absl::ResourceExhaustedError("over the active series limit"));
  net::HttpResponse resp = Post("application/json", std::string(kGaugeJson));
  EXPECT_EQ(resp.status, 429);
  EXPECT_TRUE(resp.headers.Has("Retry-After"));
  EXPECT_EQ(resp.body, R"({"code":8,"message":"over the active series limit"})");

  resp = Post("application/x-protobuf", GaugeRequest().SerializeAsString());
  EXPECT_EQ(resp.status, 429);
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_EQ(status.code, 8);

  writer_.SetResult(absl::UnavailableError("disk full"));
  resp = Post("application/json", std::string(kGaugeJson));
  EXPECT_EQ(resp.status, 503);
  EXPECT_TRUE(resp.headers.Has("Retry-After"));
  EXPECT_EQ(resp.body, R"({"code":14,"message":"disk full"})");

  writer_.SetResult(absl::InvalidArgumentError("too many labels"));
  EXPECT_EQ(Post("application/json", std::string(kGaugeJson)).status, 400);
}

TEST_F(OtlpHttpTest, OnlyPost) {
  net::HttpRequest req;
  req.method = "GET";
  req.target = req.path = "/v1/metrics";
  net::HttpResponse resp;
  router_.Dispatch(req, resp);
  EXPECT_EQ(resp.status, 405);
}

TEST(RpcStatus, ProtoRoundTrip) {
  std::string bytes = EncodeRpcStatusProto(3, "bad \"thing\"");
  // field 1 varint 3, field 2 length-delimited.
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x08\x03\x12\x0b", 4));
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(bytes, status).ok());
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.message, "bad \"thing\"");
  EXPECT_EQ(EncodeRpcStatusJson(3, "bad \"thing\""), R"({"code":3,"message":"bad \"thing\""})");
  EXPECT_FALSE(DecodeRpcStatusProto("\x12\x50x", status).ok());
}

}  // namespace
}  // namespace oriel::ingest::otlp

namespace oriel::ingest::otlp {
namespace {

TEST(OtlpMetricsIngester, SelfMetrics) {
  FakeMetricsWriter writer;
  metrics::Registry registry;
  OtlpMetricsIngester ingester(writer, {}, &registry);
  ExportMetricsServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
      {"name":"g","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"1"},{"timeUnixNano":"2"}]}},
      {"name":"d","sum":{"aggregationTemporality":1,"dataPoints":[{"asDouble":1,"timeUnixNano":"1"}]}}
      ]}]}]})",
                            OtlpSignal::kMetrics, req)
                  .ok());
  ExportMetricsServiceResponse resp;
  ASSERT_TRUE(ingester.Export(req, resp).ok());
  std::string exposition = registry.Expose();
  EXPECT_THAT(exposition, HasSubstr("oriel_otlp_metric_points_accepted_total 2\n"));
  EXPECT_THAT(exposition, HasSubstr("oriel_otlp_metric_points_rejected_total 1\n"));
  EXPECT_THAT(exposition, HasSubstr("oriel_otlp_delta_series 1\n"));
}

}  // namespace
}  // namespace oriel::ingest::otlp
