#include "api/jaeger/jaeger_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/jaeger/fake_trace_reader.h"
#include "api/jaeger/jaeger_api.h"
#include "ingest/otlp/otlp_json.h"
#include "net/router.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::api::jaeger {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::string Dump(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

ExportTraceServiceRequest ParseRequest(std::string_view json) {
  ExportTraceServiceRequest req;
  absl::Status st = ingest::otlp::ParseOtlpJson(json, ingest::otlp::OtlpSignal::kTraces, req);
  EXPECT_TRUE(st.ok()) << st;
  return req;
}

tracestore::Trace TraceOf(const ExportTraceServiceRequest& req) {
  tracestore::Trace t;
  t.trace_id = req.resource_spans(0).scope_spans(0).spans(0).trace_id();
  t.resource_spans.assign(req.resource_spans().begin(), req.resource_spans().end());
  return t;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Jaeger's own converter test pair: the OTLP JSON in, the /api/traces/{id} answer out.
TEST(JaegerJson, GoldenOtlpToJaeger) {
  const char* shared = std::getenv("ORIEL_SHARED_DIR");
  if (shared == nullptr || *shared == '\0') {
    GTEST_SKIP() << "ORIEL_SHARED_DIR is not set: the golden pair peer-tests/jaeger/otlp2jaeger-* "
                    "lives in shared/";
  }
  std::string dir = std::string(shared) + "/peer-tests/jaeger/";
  std::string in = ReadFile(dir + "otlp2jaeger-in.json");
  std::string out = ReadFile(dir + "otlp2jaeger-out.json");
  ASSERT_FALSE(in.empty()) << dir;
  ASSERT_FALSE(out.empty()) << dir;

  ExportTraceServiceRequest req = ParseRequest(in);
  FakeTraceReader reader;
  for (const auto& rs : req.resource_spans()) reader.Add(rs);
  net::Router router;
  RegisterJaegerRoutes(router, reader);
  net::HttpRequest http;
  http.method = "GET";
  http.target = http.path = "/api/traces/83a9efd15c1c98a977e0711cc93ee28b";
  net::HttpResponse res;
  router.Dispatch(http, res);
  ASSERT_EQ(res.status, 200) << res.body;
  // Objects compare regardless of member order, arrays in order (Jaeger keeps span, tag and
  // reference order).
  rapidjson::Document got = ParseJson(res.body);
  rapidjson::Document want = ParseJson(out);
  EXPECT_TRUE(got == want) << "got:  " << Dump(got) << "\nwant: " << Dump(want);
}

constexpr std::string_view kRich = R"({"resourceSpans":[
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"front"}},
                            {"key":"host.name","value":{"stringValue":"h1"}}]},
  "scopeSpans":[{"scope":{"name":"io.lib","version":"1.2"},"spans":[
   {"traceId":"0000000000000000a1b2c3d4e5f60718","spanId":"0000000000000001","name":"root",
    "kind":3,"startTimeUnixNano":"1000000","endTimeUnixNano":"3500999","traceState":"k=v",
    "droppedAttributesCount":2,"droppedLinksCount":1,
    "attributes":[{"key":"b","value":{"boolValue":true}},{"key":"i","value":{"intValue":"-7"}},
                  {"key":"d","value":{"doubleValue":1.5}},{"key":"x","value":{"bytesValue":"AQI="}},
                  {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"s"},{"intValue":"2"}]}}},
                  {"key":"m","value":{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":false}}]}}},
                  {"key":"@jaeger@warnings","value":{"arrayValue":{"values":[{"stringValue":"clock skew"}]}}}],
    "events":[{"timeUnixNano":"2000000","name":"exception",
               "attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]},
              {"timeUnixNano":"2500000","name":"ignored",
               "attributes":[{"key":"event","value":{"stringValue":"own"}}]}],
    "links":[{"traceId":"ffffffffffffffffffffffffffffffff","spanId":"0000000000000009"},
             {"traceId":"ffffffffffffffffffffffffffffffff","spanId":"000000000000000a",
              "attributes":[{"key":"opentracing.ref_type","value":{"stringValue":"child_of"}}]}],
    "status":{"code":2,"message":"bad"}}]}]},
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"back"}}]},
  "scopeSpans":[{"spans":[
   {"traceId":"0000000000000000a1b2c3d4e5f60718","spanId":"0000000000000002",
    "parentSpanId":"0000000000000001","name":"child","kind":2,"status":{"code":1},
    "links":[{"traceId":"0000000000000000a1b2c3d4e5f60718","spanId":"0000000000000001"}]}]}]},
 {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"front"}},
                            {"key":"host.name","value":{"stringValue":"h1"}}]},
  "scopeSpans":[{"spans":[
   {"traceId":"0000000000000000a1b2c3d4e5f60718","spanId":"0000000000000003","name":"again"}]}]},
 {"scopeSpans":[{"spans":[
   {"traceId":"0000000000000000a1b2c3d4e5f60718","spanId":"0000000000000004","name":"anon"}]}]}
]})";

class RichTrace : public ::testing::Test {
 protected:
  RichTrace() : doc_(ParseJson(JaegerTraceJson(TraceOf(ParseRequest(kRich))))) {}
  const rapidjson::Value& Span(int i) { return doc_["spans"][i]; }
  std::string Tags(const rapidjson::Value& span) { return Dump(span["tags"]); }
  rapidjson::Document doc_;
};

TEST_F(RichTrace, SixtyFourBitTraceIdsPrintAsSixteenDigits) {
  EXPECT_STREQ(doc_["traceID"].GetString(), "a1b2c3d4e5f60718");
  EXPECT_STREQ(Span(0)["traceID"].GetString(), "a1b2c3d4e5f60718");
  EXPECT_STREQ(Span(0)["spanID"].GetString(), "0000000000000001");
}

TEST_F(RichTrace, TagsInTranslatorOrderWithTypes) {
  EXPECT_EQ(Tags(Span(0)), R"([{"key":"otel.scope.name","type":"string","value":"io.lib"},)"
                           R"({"key":"otel.scope.version","type":"string","value":"1.2"},)"
                           R"({"key":"b","type":"bool","value":true},)"
                           R"({"key":"i","type":"int64","value":-7},)"
                           R"({"key":"d","type":"float64","value":1.5},)"
                           R"({"key":"x","type":"binary","value":"AQI="},)"
                           R"({"key":"a","type":"string","value":"[\"s\",2]"},)"
                           R"({"key":"m","type":"string","value":"{\"k\":false}"},)"
                           R"({"key":"span.kind","type":"string","value":"client"},)"
                           R"({"key":"otel.status_code","type":"string","value":"ERROR"},)"
                           R"({"key":"error","type":"bool","value":true},)"
                           R"({"key":"otel.status_description","type":"string","value":"bad"},)"
                           R"({"key":"w3c.tracestate","type":"string","value":"k=v"},)"
                           R"({"key":"otel.dropped_attributes_count","type":"int64","value":2},)"
                           R"({"key":"otel.dropped_links_count","type":"int64","value":1}])");
  EXPECT_EQ(Tags(Span(1)), R"([{"key":"span.kind","type":"string","value":"server"},)"
                           R"({"key":"otel.status_code","type":"string","value":"OK"}])");
  EXPECT_EQ(Tags(Span(2)), "[]");
}

TEST_F(RichTrace, TimesInMicroseconds) {
  EXPECT_EQ(Span(0)["startTime"].GetInt64(), 1000);
  EXPECT_EQ(Span(0)["duration"].GetInt64(), 2500);  // 2500999 ns, truncated
}

TEST_F(RichTrace, EventsBecomeLogs) {
  EXPECT_EQ(Dump(Span(0)["logs"]),
            R"([{"timestamp":2000,"fields":[{"key":"event","type":"string","value":"exception"},)"
            R"({"key":"exception.message","type":"string","value":"boom"}]},)"
            R"({"timestamp":2500,"fields":[{"key":"event","type":"string","value":"own"}]}])");
  EXPECT_EQ(Dump(Span(1)["logs"]), "[]");
}

TEST_F(RichTrace, ParentAndLinksBecomeReferences) {
  EXPECT_EQ(Dump(Span(0)["references"]),
            R"([{"refType":"FOLLOWS_FROM","traceID":"ffffffffffffffffffffffffffffffff",)"
            R"("spanID":"0000000000000009"},)"
            R"({"refType":"CHILD_OF","traceID":"ffffffffffffffffffffffffffffffff",)"
            R"("spanID":"000000000000000a"}])");
  // A link to the parent retypes the parent reference instead of adding one.
  EXPECT_EQ(Dump(Span(1)["references"]),
            R"([{"refType":"FOLLOWS_FROM","traceID":"a1b2c3d4e5f60718",)"
            R"("spanID":"0000000000000001"}])");
}

TEST_F(RichTrace, ProcessesDeduplicatedPerResource) {
  EXPECT_STREQ(Span(0)["processID"].GetString(), "p1");
  EXPECT_STREQ(Span(1)["processID"].GetString(), "p2");
  EXPECT_STREQ(Span(2)["processID"].GetString(), "p1");  // an identical resource
  EXPECT_STREQ(Span(3)["processID"].GetString(), "p3");
  EXPECT_EQ(Dump(doc_["processes"]),
            R"({"p1":{"serviceName":"front","tags":[{"key":"host.name","type":"string",)"
            R"("value":"h1"}]},"p2":{"serviceName":"back","tags":[]},)"
            R"("p3":{"serviceName":"OTLPResourceNoServiceName","tags":[]}})");
}

TEST_F(RichTrace, WarningsComeFromTheJaegerAttribute) {
  EXPECT_EQ(Dump(Span(0)["warnings"]), R"(["clock skew"])");
  EXPECT_TRUE(Span(1)["warnings"].IsNull());
  EXPECT_TRUE(doc_["warnings"].IsNull());
}

TEST(JaegerJson, FormatTraceId) {
  EXPECT_EQ(FormatTraceId(std::string(15, '\0') + "\x01"), "0000000000000001");
  EXPECT_EQ(FormatTraceId(std::string("\x01") + std::string(15, '\0')),
            "01000000000000000000000000000000");
}

}  // namespace
}  // namespace oriel::api::jaeger
