#include "ingest/otlp/otlp_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/status.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

using opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ::testing::HasSubstr;

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

std::string SpanJson(std::string_view ids) {
  return std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"s",)") +
         std::string(ids) + "}]}]}]}";
}

class PeerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("ORIEL_SHARED_DIR");
    if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "ORIEL_SHARED_DIR is not set";
    dir_ = std::filesystem::path(dir) / "peer-tests" / "otlp";
    if (!std::filesystem::exists(dir_)) GTEST_SKIP() << dir_ << " does not exist";
  }
  std::filesystem::path dir_;
};

TEST_F(PeerFiles, EveryExampleParses) {
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() != ".json") continue;
    std::string json = ReadFile(entry.path());
    absl::Status st;
    if (json.find("\"resourceSpans\"") != std::string::npos) {
      ExportTraceServiceRequest req;
      st = ParseOtlpJson(json, OtlpSignal::kTraces, req);
      if (st.ok()) {
        EXPECT_GT(req.resource_spans_size(), 0) << entry.path();
      }
    } else if (json.find("\"resourceMetrics\"") != std::string::npos) {
      ExportMetricsServiceRequest req;
      st = ParseOtlpJson(json, OtlpSignal::kMetrics, req);
      if (st.ok()) {
        EXPECT_GT(req.resource_metrics_size(), 0) << entry.path();
      }
    } else {
      ExportLogsServiceRequest req;
      st = ParseOtlpJson(json, OtlpSignal::kLogs, req);
      if (st.ok()) {
        EXPECT_GT(req.resource_logs_size(), 0) << entry.path();
      }
    }
    EXPECT_TRUE(st.ok()) << entry.path() << ": " << st;
    ++parsed;
  }
  EXPECT_GE(parsed, 3);
}

TEST_F(PeerFiles, TraceExampleFields) {
  ExportTraceServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(ReadFile(dir_ / "trace.json"), OtlpSignal::kTraces, req).ok());
  const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), Unhex("5B8EFFF798038103D269B633813FC60C"));
  EXPECT_EQ(span.span_id(), Unhex("EEE19B7EC3C1B174"));
  EXPECT_EQ(span.parent_span_id(), Unhex("EEE19B7EC3C1B173"));
  EXPECT_EQ(span.kind(), 2);
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000000ULL);
  EXPECT_EQ(span.name(), "I'm a server span");
  EXPECT_EQ(req.resource_spans(0).resource().attributes(0).key(), "service.name");
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).scope().version(), "1.0.0");
}

TEST_F(PeerFiles, MetricsExampleFields) {
  ExportMetricsServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(ReadFile(dir_ / "metrics.json"), OtlpSignal::kMetrics, req).ok());
  const auto& metrics = req.resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(metrics.size(), 4);
  EXPECT_EQ(metrics[0].name(), "my.counter");
  EXPECT_EQ(metrics[0].sum().aggregation_temporality(), 1);
  EXPECT_TRUE(metrics[0].sum().is_monotonic());
  EXPECT_EQ(metrics[0].sum().data_points(0).as_double(), 5);
  EXPECT_EQ(metrics[2].histogram().data_points(0).count(), 2u);
  EXPECT_EQ(metrics[2].histogram().data_points(0).bucket_counts_size(), 2);
  const auto& exp = metrics[3].exponential_histogram().data_points(0);
  EXPECT_EQ(exp.count(), 3u);
  EXPECT_EQ(exp.zero_count(), 1u);
  EXPECT_EQ(exp.positive().offset(), 1);
  ASSERT_EQ(exp.positive().bucket_counts_size(), 2);
  EXPECT_EQ(exp.positive().bucket_counts(1), 2u);
}

TEST_F(PeerFiles, LogsExampleFields) {
  ExportLogsServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(ReadFile(dir_ / "logs.json"), OtlpSignal::kLogs, req).ok());
  const auto& record = req.resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.trace_id(), Unhex("5B8EFFF798038103D269B633813FC60C"));
  EXPECT_EQ(record.span_id(), Unhex("EEE19B7EC3C1B174"));
}

TEST(OtlpJson, HexIdsAreCaseInsensitive) {
  ExportTraceServiceRequest lower, upper;
  ASSERT_TRUE(ParseOtlpJson(SpanJson(R"("traceId":"5b8efff798038103d269b633813fc60c",
                                        "spanId":"eee19b7ec3c1b174")"),
                            OtlpSignal::kTraces, lower)
                  .ok());
  ASSERT_TRUE(ParseOtlpJson(SpanJson(R"("traceId":"5B8EFFF798038103D269B633813FC60C",
                                        "spanId":"EEE19B7EC3C1B174")"),
                            OtlpSignal::kTraces, upper)
                  .ok());
  EXPECT_EQ(lower.SerializeAsString(), upper.SerializeAsString());
  EXPECT_EQ(lower.resource_spans(0).scope_spans(0).spans(0).span_id(), Unhex("eee19b7ec3c1b174"));
}

TEST(OtlpJson, InvalidHexNamesTheField) {
  ExportTraceServiceRequest req;
  absl::Status st = ParseOtlpJson(SpanJson(R"("traceId":"5b8efff798038103d269b633813fc60z")"),
                                  OtlpSignal::kTraces, req);
  ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(st), HasSubstr("resourceSpans[0].scopeSpans[0].spans[0].traceId"));
  EXPECT_THAT(Message(st), HasSubstr("invalid hex digit at position 31"));

  st = ParseOtlpJson(SpanJson(R"("spanId":"eee1")"), OtlpSignal::kTraces, req);
  ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(st), HasSubstr("spans[0].spanId: must be 16 hex digits, got 4"));

  st = ParseOtlpJson(SpanJson(R"("parentSpanId":12)"), OtlpSignal::kTraces, req);
  EXPECT_THAT(Message(st), HasSubstr("spans[0].parentSpanId: must be a hex string"));

  // Base64 (what plain proto3 JSON would use) is not accepted for ids.
  st = ParseOtlpJson(SpanJson(R"("traceId":"W47/95gDgQPSabYzgT/GDA==")"), OtlpSignal::kTraces, req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(OtlpJson, HexIdsInLinksLogsAndExemplars) {
  ExportTraceServiceRequest traces;
  ASSERT_TRUE(ParseOtlpJson(SpanJson(R"("links":[{"traceId":"0102030405060708090a0b0c0d0e0f10",
                                                   "spanId":"0102030405060708"}])"),
                            OtlpSignal::kTraces, traces)
                  .ok());
  EXPECT_EQ(traces.resource_spans(0).scope_spans(0).spans(0).links(0).span_id(),
            Unhex("0102030405060708"));
  absl::Status st =
      ParseOtlpJson(SpanJson(R"("links":[{},{"spanId":"xx"}])"), OtlpSignal::kTraces, traces);
  EXPECT_THAT(Message(st), HasSubstr("spans[0].links[1].spanId"));

  ExportLogsServiceRequest logs;
  ASSERT_TRUE(ParseOtlpJson(R"({"resource_logs":[{"scope_logs":[{"log_records":[
                                 {"trace_id":"0102030405060708090A0B0C0D0E0F10"}]}]}]})",
                            OtlpSignal::kLogs, logs)
                  .ok());
  EXPECT_EQ(logs.resource_logs(0).scope_logs(0).log_records(0).trace_id(),
            Unhex("0102030405060708090a0b0c0d0e0f10"));

  ExportMetricsServiceRequest metrics;
  std::string json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m",
      "sum":{"dataPoints":[{"asInt":"1","exemplars":[{"asDouble":1,
      "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}]}]}}]}]}]})";
  ASSERT_TRUE(ParseOtlpJson(json, OtlpSignal::kMetrics, metrics).ok());
  const auto& ex =
      metrics.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0).exemplars(0);
  EXPECT_EQ(ex.trace_id(), Unhex("0102030405060708090a0b0c0d0e0f10"));
  EXPECT_EQ(ex.span_id(), Unhex("0102030405060708"));

  json = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m",
      "histogram":{"dataPoints":[{"exemplars":[{"spanId":"nothex!!nothex!!"}]}]}}]}]}]})";
  st = ParseOtlpJson(json, OtlpSignal::kMetrics, metrics);
  EXPECT_THAT(Message(st), HasSubstr("resourceMetrics[0].scopeMetrics[0].metrics[0].histogram."
                                     "dataPoints[0].exemplars[0].spanId"));
}

TEST(OtlpJson, Int64AsStringOrNumber) {
  auto parse = [](std::string_view time, std::string_view as_int) {
    ExportMetricsServiceRequest req;
    std::string json = fmt::format(
        R"({{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"m","gauge":
        {{"dataPoints":[{{"timeUnixNano":{},"asInt":{}}}]}}}}]}}]}}]}})",
        time, as_int);
    EXPECT_TRUE(ParseOtlpJson(json, OtlpSignal::kMetrics, req).ok()) << json;
    return req.resource_metrics(0).scope_metrics(0).metrics(0).gauge().data_points(0);
  };
  auto a = parse(R"("1544712660300000001")", R"("-9007199254740993")");
  auto b = parse("1544712660300000001", "-9007199254740993");
  EXPECT_EQ(a.time_unix_nano(), 1544712660300000001ULL);
  EXPECT_EQ(b.time_unix_nano(), 1544712660300000001ULL);
  EXPECT_EQ(a.as_int(), -9007199254740993LL);
  EXPECT_EQ(b.as_int(), -9007199254740993LL);
}

TEST(OtlpJson, EnumsAsIntegersSnakeCaseAndUnknownFields) {
  ExportTraceServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(R"({"resource_spans":[{"futureField":{"x":[1,2]},
      "scope_spans":[{"spans":[{"kind":3,"status":{"code":2},"span_id":"0102030405060708",
      "brandNew":true}]}]}],"extra":1})",
                            OtlpSignal::kTraces, req)
                  .ok());
  const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.kind(), 3);
  EXPECT_EQ(span.status().code(), 2);
  EXPECT_EQ(span.span_id(), Unhex("0102030405060708"));
}

TEST(OtlpJson, MalformedBodies) {
  ExportMetricsServiceRequest req;
  absl::Status st = ParseOtlpJson(R"({"resourceMetrics":[)", OtlpSignal::kMetrics, req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(st), HasSubstr("cannot parse OTLP JSON"));
  EXPECT_THAT(Message(st), HasSubstr("offset"));

  EXPECT_EQ(ParseOtlpJson("[]", OtlpSignal::kMetrics, req).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOtlpJson("", OtlpSignal::kMetrics, req).code(),
            absl::StatusCode::kInvalidArgument);
  // A type error inside is protobuf's to report.
  st = ParseOtlpJson(R"({"resourceMetrics":"no"})", OtlpSignal::kMetrics, req);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);

  std::string deep(100000, '[');
  st = ParseOtlpJson(deep, OtlpSignal::kMetrics, req);
  EXPECT_THAT(Message(st), HasSubstr("nesting deeper than"));
}

TEST(OtlpJson, ResponseUsesCamelCaseAndInt64Strings) {
  ExportMetricsServiceResponse resp;
  EXPECT_EQ(ToOtlpJson(resp), "{}");
  resp.mutable_partial_success()->set_rejected_data_points(2);
  resp.mutable_partial_success()->set_error_message("bad \"point\"");
  EXPECT_EQ(ToOtlpJson(resp),
            R"({"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"bad \"point\""}})");
}

TEST(OtlpJson, HexEncode) { EXPECT_EQ(HexEncode(Unhex("00ff10ab")), "00ff10ab"); }

}  // namespace
}  // namespace oriel::ingest::otlp
