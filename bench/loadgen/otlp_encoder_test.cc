#include "loadgen/otlp_encoder.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

namespace otrace = opentelemetry::proto::trace::v1;

std::string ResourceService(const opentelemetry::proto::resource::v1::Resource& r) {
  for (const auto& kv : r.attributes()) {
    if (kv.key() == "service.name") return kv.value().string_value();
  }
  return "";
}

TEST(OtlpEncoderTest, TraceRequestGroupsByResourceAndDecodesBack) {
  TraceGenerator gen({.services = 6, .error_rate = 0.5, .seed = 4});
  std::vector<GeneratedTrace> traces;
  size_t spans = 0;
  for (int i = 0; i < 10; ++i) {
    traces.push_back(gen.Next(1'700'000'000'000'000'000 + i));
    spans += traces.back().spans.size();
  }
  const auto request = BuildTraceRequest(gen, traces);
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest decoded;
  ASSERT_TRUE(decoded.ParseFromString(request.SerializeAsString()));
  EXPECT_EQ(CountSpans(decoded), static_cast<int64_t>(spans));
  std::set<std::string> span_ids;
  std::set<std::string> resource_ids;
  for (const auto& rs : decoded.resource_spans()) {
    const std::string service = ResourceService(rs.resource());
    ASSERT_FALSE(service.empty());
    EXPECT_TRUE(resource_ids.insert(rs.resource().SerializeAsString()).second)
        << "one ResourceSpans per resource";
    for (const auto& ss : rs.scope_spans()) {
      EXPECT_FALSE(ss.scope().name().empty());
      for (const auto& s : ss.spans()) span_ids.insert(s.span_id());
    }
  }
  EXPECT_EQ(span_ids.size(), spans);
}

TEST(OtlpEncoderTest, LogsCarryTheTraceAndSpanIdsOfTheirSpans) {
  TraceGenerator gen({.services = 6, .error_rate = 0.5, .seed = 4});
  std::vector<GeneratedTrace> traces;
  std::set<std::pair<std::string, std::string>> span_keys;
  int failures = 0;
  for (int i = 0; i < 20; ++i) {
    traces.push_back(gen.Next(1'700'000'000'000'000'000));
    for (const auto& g : traces.back().spans) {
      span_keys.insert({g.span.trace_id(), g.span.span_id()});
    }
    failures += traces.back().error ? 1 : 0;
  }
  ASSERT_GT(failures, 0);
  const auto request = BuildLogsRequest(gen, traces);
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest decoded;
  ASSERT_TRUE(decoded.ParseFromString(request.SerializeAsString()));
  ASSERT_GT(CountLogRecords(decoded), 20);
  int errors = 0;
  for (const auto& rl : decoded.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& r : sl.log_records()) {
        EXPECT_TRUE(span_keys.count({r.trace_id(), r.span_id()}))
            << "every record names a span it belongs to";
        EXPECT_FALSE(r.body().string_value().empty());
        if (r.severity_number() == opentelemetry::proto::logs::v1::SEVERITY_NUMBER_ERROR) ++errors;
      }
    }
  }
  EXPECT_EQ(errors, failures);
}

}  // namespace
}  // namespace oriel::loadgen
