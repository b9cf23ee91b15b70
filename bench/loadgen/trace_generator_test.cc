#include "loadgen/trace_generator.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

namespace otrace = opentelemetry::proto::trace::v1;

constexpr int64_t kStart = 1'700'000'000'000'000'000;

std::string AttributeString(const otrace::Span::Event& e, std::string_view key) {
  for (const auto& kv : e.attributes()) {
    if (kv.key() == key) return kv.value().string_value();
  }
  return "";
}

TEST(TraceGeneratorTest, TracesAreWellFormedTreesWithinBounds) {
  TraceGenerator gen({.services = 8, .seed = 11});
  std::set<std::string> services_seen;
  std::set<int> kinds_seen;
  for (int t = 0; t < 500; ++t) {
    const GeneratedTrace trace = gen.Next(kStart + t * 1'000'000'000LL);
    ASSERT_GE(trace.spans.size(), 5u);
    ASSERT_LE(trace.spans.size(), 50u);
    std::set<std::string> ids;
    int roots = 0;
    const std::string& trace_id = trace.spans[0].span.trace_id();
    ASSERT_EQ(trace_id.size(), 16u);
    for (const GeneratedSpan& g : trace.spans) {
      const otrace::Span& s = g.span;
      EXPECT_EQ(s.trace_id(), trace_id);
      ASSERT_EQ(s.span_id().size(), 8u);
      EXPECT_NE(s.span_id(), std::string(8, '\0'));
      if (s.parent_span_id().empty()) {
        ++roots;
      } else {
        EXPECT_TRUE(ids.count(s.parent_span_id())) << "parent must come first";
      }
      EXPECT_TRUE(ids.insert(s.span_id()).second) << "span ids unique";
      EXPECT_GE(s.attributes_size(), 10);
      EXPECT_LE(s.attributes_size(), 30);
      EXPECT_LE(s.start_time_unix_nano(), s.end_time_unix_nano());
      EXPECT_GE(s.start_time_unix_nano(), static_cast<uint64_t>(kStart + t * 1'000'000'000LL));
      EXPECT_FALSE(s.name().empty());
      services_seen.insert(gen.ServiceOf(g.resource));
      kinds_seen.insert(s.kind());
    }
    EXPECT_EQ(roots, 1);
    EXPECT_TRUE(trace.spans[0].span.parent_span_id().empty());
    EXPECT_EQ(gen.ServiceOf(trace.spans[0].resource), "frontend");
  }
  EXPECT_EQ(services_seen.size(), 8u);
  EXPECT_TRUE(kinds_seen.count(otrace::Span::SPAN_KIND_SERVER));
  EXPECT_TRUE(kinds_seen.count(otrace::Span::SPAN_KIND_CLIENT));
  EXPECT_TRUE(kinds_seen.count(otrace::Span::SPAN_KIND_PRODUCER));
  EXPECT_TRUE(kinds_seen.count(otrace::Span::SPAN_KIND_CONSUMER));
}

TEST(TraceGeneratorTest, ErrorsCarryAnExceptionAndPropagateToTheRoot) {
  TraceGenerator gen({.services = 6, .error_rate = 0.3, .incident_period_s = 0, .seed = 2});
  int errors = 0;
  const int n = 1000;
  for (int t = 0; t < n; ++t) {
    const GeneratedTrace trace = gen.Next(kStart);
    if (!trace.error) {
      for (const auto& g : trace.spans) {
        EXPECT_NE(g.span.status().code(), otrace::Status::STATUS_CODE_ERROR);
        EXPECT_EQ(g.span.events_size(), 0);
      }
      continue;
    }
    ++errors;
    ASSERT_GE(trace.error_span, 0);
    const otrace::Span& origin = trace.spans[trace.error_span].span;
    ASSERT_EQ(origin.events_size(), 1);
    EXPECT_EQ(origin.events(0).name(), "exception");
    EXPECT_FALSE(AttributeString(origin.events(0), "exception.type").empty());
    const std::string stack = AttributeString(origin.events(0), "exception.stacktrace");
    EXPECT_NE(stack.find('\n'), std::string::npos) << "a stack trace has several frames";
    EXPECT_EQ(trace.spans[0].span.status().code(), otrace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(origin.status().code(), otrace::Status::STATUS_CODE_ERROR);
  }
  // 30% +- a wide margin.
  EXPECT_GT(errors, n * 0.2);
  EXPECT_LT(errors, n * 0.4);
}

TEST(TraceGeneratorTest, SameSeedSameTraces) {
  TraceGenerator a({.seed = 7});
  TraceGenerator b({.seed = 7});
  TraceGenerator c({.seed = 8});
  for (int t = 0; t < 20; ++t) {
    const GeneratedTrace x = a.Next(kStart), y = b.Next(kStart), z = c.Next(kStart);
    ASSERT_EQ(x.spans.size(), y.spans.size());
    for (size_t i = 0; i < x.spans.size(); ++i) {
      EXPECT_EQ(x.spans[i].span.SerializeAsString(), y.spans[i].span.SerializeAsString());
    }
    if (t == 0) {
      EXPECT_NE(x.spans[0].span.trace_id(), z.spans[0].span.trace_id());
    }
  }
}

TEST(TraceGeneratorTest, IncidentsDegradeOneBackendAtATime) {
  TraceGenerator gen({.services = 5, .incident_period_s = 100, .incident_length_s = 10});
  const int64_t s = 1'000'000'000;
  const int64_t base = 1'700'000'000LL / 100 * 100 * s;  // the start of a period
  const int degraded = gen.DegradedService(base + 5 * s);
  EXPECT_GE(degraded, 1);
  EXPECT_LE(degraded, 4);
  EXPECT_EQ(gen.DegradedService(base + 9 * s), degraded);
  EXPECT_EQ(gen.DegradedService(base + 10 * s), -1);
  EXPECT_EQ(gen.DegradedService(base + 99 * s), -1);
  TraceGenerator calm({.services = 5, .incident_period_s = 0});
  EXPECT_EQ(calm.DegradedService(base + 5 * s), -1);
}

}  // namespace
}  // namespace oriel::loadgen
