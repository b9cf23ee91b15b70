#include "loadgen/otlp_json.h"

#include <vector>

#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "loadgen/otlp_encoder.h"
#include "loadgen/otlp_metrics_generator.h"

namespace oriel::loadgen {
namespace {

namespace ocoll_trace = opentelemetry::proto::collector::trace::v1;
namespace ocoll_logs = opentelemetry::proto::collector::logs::v1;
namespace ocoll_metrics = opentelemetry::proto::collector::metrics::v1;

constexpr int64_t kStart = 1'700'000'000'000'000'000;

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::vector<GeneratedTrace> MakeTraces(TraceGenerator& gen, int n) {
  std::vector<GeneratedTrace> traces;
  for (int i = 0; i < n; ++i) traces.push_back(gen.Next(kStart + i * 1'000'000));
  return traces;
}

// Decodes an OTLP/JSON body the way a receiver does: hex ids back to the base64 the proto3 JSON
// mapping wants, then protobuf's own JSON parser, which rejects unknown or mistyped fields.
template <typename Message>
void ExpectRoundTrip(const Message& original) {
  const absl::StatusOr<std::string> json = ToOtlpJson(original);
  ASSERT_TRUE(json.ok()) << json.status();
  const absl::StatusOr<std::string> proto_json = RewriteOtlpIds(*json, /*from_base64=*/false);
  ASSERT_TRUE(proto_json.ok()) << proto_json.status();
  Message decoded;
  const auto status = google::protobuf::util::JsonStringToMessage(*proto_json, &decoded);
  ASSERT_TRUE(status.ok()) << status.ToString();
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(original, decoded)) << diff;
}

TEST(OtlpJsonTest, TracesUseHexIdsIntegerEnumsAndStringInt64s) {
  TraceGenerator gen({.services = 5, .error_rate = 0.5, .seed = 7});
  const auto traces = MakeTraces(gen, 5);
  const ocoll_trace::ExportTraceServiceRequest request = BuildTraceRequest(gen, traces);
  const absl::StatusOr<std::string> json = ToOtlpJson(request);
  ASSERT_TRUE(json.ok()) << json.status();

  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  ASSERT_EQ(span.trace_id().size(), 16u);
  EXPECT_NE(json->find(fmt::format("\"traceId\":\"{}\"", Hex(span.trace_id()))), std::string::npos);
  EXPECT_NE(json->find(fmt::format("\"spanId\":\"{}\"", Hex(span.span_id()))), std::string::npos);
  EXPECT_NE(json->find("\"parentSpanId\":\""), std::string::npos);
  EXPECT_NE(json->find(fmt::format("\"startTimeUnixNano\":\"{}\"", span.start_time_unix_nano())),
            std::string::npos)
      << "int64 values are strings";
  EXPECT_NE(json->find(fmt::format("\"kind\":{}", static_cast<int>(span.kind()))),
            std::string::npos)
      << "enums are integers";
  EXPECT_EQ(json->find("SPAN_KIND_"), std::string::npos);
  EXPECT_EQ(json->find("STATUS_CODE_"), std::string::npos);
  EXPECT_EQ(json->find("resource_spans"), std::string::npos) << "keys are lowerCamelCase";
  EXPECT_NE(json->find("\"resourceSpans\":["), std::string::npos);
  ExpectRoundTrip(request);
}

TEST(OtlpJsonTest, LogsAndMetricsRoundTrip) {
  TraceGenerator gen({.services = 4, .error_rate = 0.5, .seed = 9});
  const auto traces = MakeTraces(gen, 8);
  const ocoll_logs::ExportLogsServiceRequest logs = BuildLogsRequest(gen, traces);
  const absl::StatusOr<std::string> logs_json = ToOtlpJson(logs);
  ASSERT_TRUE(logs_json.ok());
  EXPECT_NE(logs_json->find("\"severityNumber\":9"), std::string::npos) << "INFO as 9";
  ExpectRoundTrip(logs);

  OtlpMetricsGenerator metrics(gen, 9, kStart);
  const ocoll_metrics::ExportMetricsServiceRequest m = metrics.Next(kStart + 15'000'000'000);
  const absl::StatusOr<std::string> metrics_json = ToOtlpJson(m);
  ASSERT_TRUE(metrics_json.ok());
  EXPECT_NE(metrics_json->find("\"aggregationTemporality\":2"), std::string::npos)
      << "CUMULATIVE as 2";
  ExpectRoundTrip(m);
}

TEST(OtlpJsonTest, RewriteRejectsBadIds) {
  EXPECT_FALSE(RewriteOtlpIds(R"({"traceId":"zz"})", false).ok());
  EXPECT_FALSE(RewriteOtlpIds(R"({"traceId":"abc"})", false).ok());
  EXPECT_FALSE(RewriteOtlpIds(R"({"spanId":"ab)", false).ok());
  EXPECT_FALSE(RewriteOtlpIds(R"({"spanId":"!!!!"})", true).ok());
  const absl::StatusOr<std::string> hex = RewriteOtlpIds(R"({"spanId":"AQIDBA==","x":1})", true);
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, R"({"spanId":"01020304","x":1})");
  // A key-like text inside a string value is escaped, so it is left alone.
  const std::string inside = R"({"body":"\"traceId\":\"zz\""})";
  EXPECT_EQ(RewriteOtlpIds(inside, false).value(), inside);
}

}  // namespace
}  // namespace oriel::loadgen
