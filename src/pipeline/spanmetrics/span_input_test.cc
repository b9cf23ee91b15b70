// The aggregators give the same metrics whether they read spans decoded or read in place.
#include "pipeline/spanmetrics/span_input.h"

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "pipeline/spanmetrics/service_graph_aggregator.h"
#include "pipeline/spanmetrics/span_attributes.h"
#include "pipeline/spanmetrics/span_metrics_aggregator.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
using google::protobuf::util::MessageDifferencer;

std::vector<trace::ResourceSpans> Spans() {
  SpanSpec invalid{.trace = 0, .span = 9, .name = "bad", .kind = trace::Span::SPAN_KIND_CLIENT};
  return {
      Resource("frontend", {{"deployment.environment", "prod"}},
               {{.trace = 1,
                 .span = 2,
                 .parent = 1,
                 .name = "GET /cart",
                 .kind = trace::Span::SPAN_KIND_CLIENT,
                 .attrs = {{"http.method", "GET"}}},
                {.trace = 1,
                 .span = 3,
                 .name = "query",
                 .kind = trace::Span::SPAN_KIND_CLIENT,
                 .status = trace::Status::STATUS_CODE_ERROR,
                 .attrs = {{"db.name", "orders"}, {"http.method", "POST"}}},
                invalid}),
      Resource("backend", {},
               {{.trace = 1,
                 .span = 4,
                 .parent = 2,
                 .name = "handle",
                 .kind = trace::Span::SPAN_KIND_SERVER,
                 .duration_ns = 3 * kMs,
                 .attrs = {{"http.method", "GET"}, {"http.method", "shadowed"}}}}),
      Resource("", {}, {{.trace = 5, .span = 6, .name = "no service"}}),
  };
}

// `spans` serialized and read in place (`bytes` holds the encodings).
std::vector<tracestore::EncodedResourceSpans> ReadInPlace(
    const std::vector<trace::ResourceSpans>& spans, std::vector<std::string>& bytes) {
  std::vector<tracestore::EncodedResourceSpans> read(spans.size());
  bytes.clear();
  for (const auto& rs : spans) bytes.push_back(rs.SerializeAsString());
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_TRUE(tracestore::ReadEncodedResourceSpans(bytes[i], &read[i]).ok());
  }
  return read;
}

TEST(SpanInputTest, SpanMetricsAreTheSameReadInPlace) {
  SpanMetricsOptions options;
  options.dimensions = {{.name = "http.method", .default_value = std::nullopt},
                        {.name = "deployment.environment", .default_value = std::nullopt},
                        {.name = "missing", .default_value = "none"}};
  SpanMetricsAggregator decoded(options), in_place(options);
  const auto spans = Spans();
  std::vector<std::string> bytes;
  const auto read = ReadInPlace(spans, bytes);
  EXPECT_EQ(decoded.Consume(spans, kT0), in_place.ConsumeEncoded(read, kT0));
  Request a, b;
  decoded.AppendTo(kT0 + kMs, a);
  in_place.AppendTo(kT0 + kMs, b);
  EXPECT_GT(a.resource_metrics_size(), 0);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << a.DebugString() << "\n" << b.DebugString();
}

TEST(SpanInputTest, ServiceGraphIsTheSameReadInPlace) {
  ServiceGraphOptions options;
  options.dimensions = {"http.method", "deployment.environment"};
  ServiceGraphAggregator decoded(options), in_place(options);
  const auto spans = Spans();
  std::vector<std::string> bytes;
  const auto read = ReadInPlace(spans, bytes);
  ServiceGraphStats x = decoded.Consume(spans, kT0);
  ServiceGraphStats y = in_place.ConsumeEncoded(read, kT0);
  EXPECT_EQ(x.dropped_spans, y.dropped_spans);
  EXPECT_EQ(x.series_dropped, y.series_dropped);
  EXPECT_EQ(decoded.pending_edges(), in_place.pending_edges());
  Request a, b;
  decoded.AppendTo(kT0 + kMs, a);
  in_place.AppendTo(kT0 + kMs, b);
  EXPECT_GT(a.resource_metrics_size(), 0);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << a.DebugString() << "\n" << b.DebugString();
}

TEST(SpanInputTest, SpanAttributeFindsTheFirstOfAKey) {
  const auto spans = Spans();
  std::vector<std::string> bytes;
  const auto read = ReadInPlace(spans, bytes);
  google::protobuf::Arena arena;
  const auto inputs = InputsOf(read, arena);
  ASSERT_EQ(inputs.size(), 3u);
  const SpanInput& handle = inputs[1].spans.at(0);
  const auto* v = SpanAttribute(handle, "http.method", arena);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->string_value(), "GET");
  EXPECT_EQ(SpanAttribute(handle, "db.name", arena), nullptr);
  EXPECT_FALSE(inputs[0].spans.at(2).valid);
  EXPECT_EQ(inputs[1].resource->attributes(0).value().string_value(), "backend");
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
