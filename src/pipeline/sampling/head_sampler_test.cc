#include "pipeline/sampling/head_sampler.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/sampling/fake_trace_writer.h"
#include "pipeline/sampling/trace_id_sampling.h"

namespace oriel::pipeline::sampling {
namespace {

using testing::FakeTraceWriter;
using testing::MakeResourceSpans;
using testing::MakeSpan;
using testing::MetricValue;
using testing::ResourceSpans;
using testing::Span;
using testing::TraceId;

HeadSamplingOptions Options(double percentage, uint32_t seed = 0) {
  HeadSamplingOptions o;
  o.enabled = true;
  o.sampling_percentage = percentage;
  o.hash_seed = seed;
  return o;
}

std::vector<std::string> RandomTraceIds(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(TraceId(rng(), rng()));
  return ids;
}

TEST(HeadSamplerTest, HundredPercentForwardsTheRequestUntouched) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  HeadSampler sampler(Options(100, 7), downstream, registry);
  std::vector<ResourceSpans> request = {MakeResourceSpans(
      "a", {MakeSpan(TraceId(1, 1), 1, 10, 20), MakeSpan(TraceId(2, 2), 2, 10, 20)})};
  auto result = sampler.Write(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 2);
  EXPECT_EQ(downstream.spans().size(), 2u);
  // No per-span work at 100%: nothing is even counted.
  EXPECT_EQ(MetricValue(registry, "oriel_sampling_head_spans_total{decision=\"sampled\"}"), 0);
}

TEST(HeadSamplerTest, EverySpanOfATraceGetsTheSameDecision) {
  for (uint32_t seed : {0u, 22u}) {  // proportional and hash_seed modes
    FakeTraceWriter downstream;
    metrics::Registry registry;
    HeadSampler sampler(Options(50, seed), downstream, registry);
    std::vector<std::string> ids = RandomTraceIds(200, 1);
    // Each trace's 4 spans are spread over two resources and two requests.
    for (int request = 0; request < 2; ++request) {
      std::vector<Span> a, b;
      for (size_t t = 0; t < ids.size(); ++t) {
        a.push_back(MakeSpan(ids[t], t * 4 + request * 2, 10, 20));
        b.push_back(MakeSpan(ids[t], t * 4 + request * 2 + 1, 10, 20));
      }
      auto result = sampler.Write({MakeResourceSpans("a", a), MakeResourceSpans("b", b)});
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->spans_written, 400);  // dropped spans are acknowledged too
      EXPECT_EQ(result->spans_rejected, 0);
    }
    std::map<std::string, int> per_trace;
    for (const Span& s : downstream.spans()) ++per_trace[s.trace_id()];
    for (const auto& [id, n] : per_trace) EXPECT_EQ(n, 4) << "seed " << seed;
    EXPECT_GT(per_trace.size(), 50u);
    EXPECT_LT(per_trace.size(), 150u);
    double sampled = MetricValue(registry, "oriel_sampling_head_spans_total{decision=\"sampled\"}");
    double dropped = MetricValue(registry, "oriel_sampling_head_spans_total{decision=\"dropped\"}");
    EXPECT_EQ(sampled, static_cast<double>(downstream.spans().size()));
    EXPECT_EQ(sampled + dropped, 800);  // 2 requests of 200 traces x 2 spans
  }
}

TEST(HeadSamplerTest, SampledFractionMatchesThePercentage) {
  const std::vector<std::string> ids = RandomTraceIds(20000, 42);
  for (uint32_t seed : {0u, 22u}) {
    for (double pct : {1.0, 10.0, 25.0, 50.0, 90.0}) {
      HeadDecider decider(Options(pct, seed));
      int kept = 0;
      for (const std::string& id : ids) kept += decider.SampledTraceId(id) ? 1 : 0;
      EXPECT_NEAR(kept / 20000.0, pct / 100, 0.015) << "seed " << seed << " pct " << pct;
    }
  }
}

TEST(HeadSamplerTest, DecisionsAgreeAcrossInstancesWithTheSameSeed) {
  const std::vector<std::string> ids = RandomTraceIds(2000, 3);
  HeadDecider a(Options(30, 22)), b(Options(30, 22)), other_seed(Options(30, 23));
  int differ = 0;
  for (const std::string& id : ids) {
    EXPECT_EQ(a.SampledTraceId(id), b.SampledTraceId(id));
    differ += a.SampledTraceId(id) != other_seed.SampledTraceId(id) ? 1 : 0;
  }
  EXPECT_GT(differ, 100);  // a different seed is a different sample
}

TEST(HeadSamplerTest, ModesFollowTheCollectorsDefinitions) {
  const std::vector<std::string> ids = RandomTraceIds(500, 5);
  HeadDecider hashing(Options(40, 22));
  HeadSamplingOptions proportional_options = Options(40, 22);
  proportional_options.mode = HeadSamplerMode::kProportional;
  HeadDecider proportional(proportional_options);
  HeadDecider unset_seed(Options(40, 0));  // seed 0 and no mode: proportional
  const uint64_t threshold = ProportionalThreshold(static_cast<double>(40.0f) / 100, 4);
  for (const std::string& id : ids) {
    EXPECT_EQ(hashing.SampledTraceId(id), HashSeedSampled(id, 22, 40.0f));
    EXPECT_EQ(proportional.SampledTraceId(id), TraceIdRandomness(id) >= threshold);
    EXPECT_EQ(unset_seed.SampledTraceId(id), proportional.SampledTraceId(id));
  }
}

TEST(HeadSamplerTest, ProportionalModeReadsTheIncomingTraceState) {
  HeadDecider half(Options(50));  // threshold 0x80000000000000
  // Randomness (last 7 bytes) 0xa0000000000000 passes 50% alone...
  const std::string id = TraceId(0, 0x00a0000000000000ull);
  EXPECT_TRUE(half.SampledTraceId(id));
  // ...but not after an earlier 50% sampler: 25% overall needs randomness >= 0xc0000000000000.
  EXPECT_FALSE(half.SampledTraceId(id, "ot=th:8"));
  EXPECT_TRUE(half.SampledTraceId(TraceId(0, 0x00d0000000000000ull), "ot=th:8"));
  // rv replaces the trace id's randomness.
  EXPECT_TRUE(half.SampledTraceId(TraceId(0, 1), "ot=rv:ffffffffffffff"));
  EXPECT_FALSE(half.SampledTraceId(id, "ot=rv:00000000000001"));
  // Randomness below the incoming threshold is inconsistent: dropped.
  EXPECT_FALSE(half.SampledTraceId(TraceId(0, 0x0010000000000000ull), "ot=th:8"));
  // Malformed: as if absent.
  EXPECT_TRUE(half.SampledTraceId(id, "ot=th:zz"));
  // The tracestate comes from the span.
  Span span = MakeSpan(id, 1, 10, 20);
  span.set_trace_state("ot=th:8");
  EXPECT_FALSE(half.Sampled(span));
}

TEST(HeadSamplerTest, SamplingPriorityOverridesTheTraceId) {
  HeadDecider none(Options(0));
  HeadDecider all_but(Options(99.99));
  Span span = MakeSpan(TraceId(9, 9), 1, 10, 20);
  EXPECT_FALSE(none.Sampled(span));
  auto* attr = span.add_attributes();
  attr->set_key("sampling.priority");
  attr->mutable_value()->set_int_value(1);
  EXPECT_TRUE(none.Sampled(span));
  attr->mutable_value()->set_double_value(0);
  EXPECT_FALSE(all_but.Sampled(span));
  attr->mutable_value()->set_string_value("2.5");
  EXPECT_TRUE(none.Sampled(span));
  attr->mutable_value()->set_string_value("0");
  EXPECT_FALSE(all_but.Sampled(span));
  attr->mutable_value()->set_string_value("not a number");  // ignored: the trace id decides
  EXPECT_FALSE(none.Sampled(span));
}

TEST(HeadSamplerTest, NothingKeptMeansNoDownstreamCall) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  HeadSampler sampler(Options(0), downstream, registry);
  auto result = sampler.Write({MakeResourceSpans("a", {MakeSpan(TraceId(1, 1), 1, 10, 20)})});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 1);
  EXPECT_EQ(downstream.calls(), 0);
}

TEST(HeadSamplerTest, InvalidTraceIdsReachStorageToBeRejected) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  HeadSampler sampler(Options(0), downstream, registry);
  auto result = sampler.Write({MakeResourceSpans("a", {MakeSpan("short", 1, 10, 20)})});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_rejected, 1);
  EXPECT_NE(result->first_rejection.find("trace_id"), std::string::npos) << result->first_rejection;
}

TEST(HeadSamplerTest, DownstreamErrorsArePassedBack) {
  FakeTraceWriter downstream;
  downstream.set_fail(absl::UnavailableError("disk full"));
  metrics::Registry registry;
  HeadSampler sampler(Options(50, 1), downstream, registry);
  std::vector<Span> spans;
  for (const std::string& id : RandomTraceIds(50, 9)) spans.push_back(MakeSpan(id, 1, 10, 20));
  auto result = sampler.Write({MakeResourceSpans("a", spans)});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

TEST(HeadSamplerTest, KeptSpansKeepTheirResourceAndScope) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  HeadSampler sampler(Options(50, 1), downstream, registry);
  std::vector<std::string> ids = RandomTraceIds(100, 11);
  std::vector<Span> spans;
  for (const std::string& id : ids) spans.push_back(MakeSpan(id, 1, 10, 20));
  ResourceSpans rs = MakeResourceSpans("svc", spans);
  ASSERT_TRUE(sampler.Write({rs}).ok());
  ASSERT_FALSE(downstream.spans().empty());
  for (const std::string& r : downstream.resources()) {
    EXPECT_EQ(r, rs.resource().SerializeAsString());
  }
}

}  // namespace
}  // namespace oriel::pipeline::sampling
