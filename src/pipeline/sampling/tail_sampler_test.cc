#include "pipeline/sampling/tail_sampler.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
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

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 1'700'000'000'000'000'000;

// A clock the test moves by hand.
struct FakeClock {
  std::atomic<int64_t> ns{1'700'000'000'000'000'000};
  absl::Time Now() const { return absl::FromUnixNanos(ns.load()); }
  void Advance(absl::Duration d) { ns += absl::ToInt64Nanoseconds(d); }
};

TailSamplingOptions Options() {
  TailSamplingOptions o;
  o.enabled = true;
  o.decision_wait = absl::Seconds(10);
  o.sampling_percentage = 0;
  o.latency_threshold = absl::Milliseconds(500);
  o.tick_interval = absl::ZeroDuration();  // the test ticks
  return o;
}

class TailSamplerTest : public ::testing::Test {
 protected:
  std::unique_ptr<TailSampler> Make(const TailSamplingOptions& options) {
    return std::make_unique<TailSampler>(options, downstream_, registry_,
                                         [this] { return clock_.Now(); });
  }
  double Metric(const std::string& series) { return MetricValue(registry_, series); }
  std::set<std::string> StoredTraces() const {
    std::set<std::string> ids;
    for (const Span& s : downstream_.spans()) ids.insert(s.trace_id());
    return ids;
  }

  FakeClock clock_;
  FakeTraceWriter downstream_;
  metrics::Registry registry_;
};

TEST_F(TailSamplerTest, SpansWaitForTheDecisionThenKeptTracesAreForwarded) {
  auto sampler = Make(Options());
  const std::string slow = TraceId(1, 1), fast = TraceId(2, 2);
  auto result = sampler->Write({MakeResourceSpans(
      "a", {MakeSpan(slow, 1, kT0, kT0 + 100 * kMs), MakeSpan(fast, 2, kT0, kT0 + 10 * kMs)})});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 2);
  EXPECT_EQ(downstream_.calls(), 0);
  EXPECT_EQ(sampler->pending_traces(), 2);
  EXPECT_GT(sampler->pending_bytes(), 0);
  // The slow trace's second span arrives later in another request, under another resource.
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(
      sampler->Write({MakeResourceSpans("b", {MakeSpan(slow, 3, kT0 + 50 * kMs, kT0 + 600 * kMs)})})
          .ok());
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_pending"), 2);

  sampler->Tick(clock_.Now() + absl::Seconds(5) - absl::Nanoseconds(1));
  EXPECT_EQ(downstream_.calls(), 0);
  sampler->Tick(clock_.Now() + absl::Seconds(5));
  EXPECT_EQ(downstream_.spans().size(), 2u);
  EXPECT_EQ(StoredTraces(), std::set<std::string>{slow});
  EXPECT_EQ(sampler->pending_traces(), 0);
  EXPECT_EQ(sampler->pending_bytes(), 0);
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_total{decision=\"sampled\",policy=\"latency\"}"), 1);
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_total{decision=\"dropped\",policy=\"none\"}"), 1);
  EXPECT_EQ(Metric("oriel_sampling_tail_spans_total{decision=\"sampled\"}"), 2);
  EXPECT_EQ(Metric("oriel_sampling_tail_spans_total{decision=\"dropped\"}"), 1);
  // Both resources survive the regrouping.
  std::vector<std::string> stored_resources = downstream_.resources();
  std::set<std::string> resources(stored_resources.begin(), stored_resources.end());
  EXPECT_EQ(resources.size(), 2u);
}

TEST_F(TailSamplerTest, ErrorTracesAreAlwaysKept) {
  auto sampler = Make(Options());
  std::mt19937_64 rng(1);
  std::set<std::string> errors;
  std::vector<Span> spans;
  for (int i = 0; i < 200; ++i) {
    std::string id = TraceId(rng(), rng());
    spans.push_back(MakeSpan(id, 1, kT0, kT0 + kMs));
    bool error = i % 4 == 0;
    spans.push_back(MakeSpan(id, 2, kT0, kT0 + kMs, error));
    if (error) errors.insert(id);
  }
  ASSERT_TRUE(sampler->Write({MakeResourceSpans("a", spans)}).ok());
  sampler->Tick(clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(StoredTraces(), errors);
  EXPECT_EQ(downstream_.spans().size(), 2 * errors.size());
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_total{decision=\"sampled\",policy=\"error\"}"), 50);
}

TEST_F(TailSamplerTest, ErrorPolicyCanBeTurnedOff) {
  TailSamplingOptions options = Options();
  options.keep_errors = false;
  auto sampler = Make(options);
  ASSERT_TRUE(
      sampler->Write({MakeResourceSpans("a", {MakeSpan(TraceId(1, 1), 1, kT0, kT0 + 1, true)})})
          .ok());
  sampler->Flush();
  EXPECT_TRUE(downstream_.spans().empty());
}

TEST_F(TailSamplerTest, LatencyIsTheTraceExtentInWholeMilliseconds) {
  auto sampler = Make(Options());  // threshold 500ms
  const std::string exact = TraceId(1, 1), under = TraceId(2, 2), spread = TraceId(3, 3);
  ASSERT_TRUE(
      sampler
          ->Write({MakeResourceSpans("a",
                                     {// exactly 500ms: kept (>=)
                                      MakeSpan(exact, 1, kT0, kT0 + 500 * kMs),
                                      // 499.999999ms truncates to 499: dropped
                                      MakeSpan(under, 2, kT0, kT0 + 500 * kMs - 1),
                                      // no span is long, but first start to last end is 700ms: kept
                                      MakeSpan(spread, 3, kT0, kT0 + 100 * kMs),
                                      MakeSpan(spread, 4, kT0 + 600 * kMs, kT0 + 700 * kMs)})})
          .ok());
  sampler->Flush();
  EXPECT_EQ(StoredTraces(), (std::set<std::string>{exact, spread}));
}

TEST_F(TailSamplerTest, FastOkTracesAreSampledAtThePercentage) {
  TailSamplingOptions options = Options();
  options.sampling_percentage = 30;
  options.num_traces = 100000;
  auto sampler = Make(options);
  std::mt19937_64 rng(2);
  std::set<std::string> expected;
  const uint64_t threshold = TailThreshold(0.3);
  constexpr int kN = 20000;
  for (int batch = 0; batch < kN / 1000; ++batch) {
    std::vector<Span> spans;
    for (int i = 0; i < 1000; ++i) {
      std::string id = TraceId(rng(), rng());
      spans.push_back(MakeSpan(id, 1, kT0, kT0 + kMs));
      if (TailProbabilisticSampled("", id, threshold)) expected.insert(id);
    }
    ASSERT_TRUE(sampler->Write({MakeResourceSpans("a", spans)}).ok());
  }
  sampler->Tick(clock_.Now() + absl::Seconds(10));
  std::set<std::string> stored = StoredTraces();
  EXPECT_EQ(stored, expected);
  EXPECT_NEAR(static_cast<double>(stored.size()) / kN, 0.3, 0.015);
  EXPECT_EQ(
      Metric("oriel_sampling_tail_traces_total{decision=\"sampled\",policy=\"probabilistic\"}"),
      static_cast<double>(stored.size()));
}

TEST_F(TailSamplerTest, LateSpansFollowTheDecision) {
  auto sampler = Make(Options());
  const std::string kept = TraceId(1, 1), dropped = TraceId(2, 2);
  ASSERT_TRUE(sampler
                  ->Write({MakeResourceSpans("a", {MakeSpan(kept, 1, kT0, kT0 + kMs, true),
                                                   MakeSpan(dropped, 2, kT0, kT0 + kMs)})})
                  .ok());
  sampler->Tick(clock_.Now() + absl::Seconds(10));
  ASSERT_EQ(downstream_.spans().size(), 1u);

  // Late spans: the kept trace's go straight to storage within Write, the dropped one's not,
  // even though the late span of the dropped trace is an error.
  auto result = sampler->Write({MakeResourceSpans(
      "a", {MakeSpan(kept, 3, kT0, kT0 + kMs), MakeSpan(dropped, 4, kT0, kT0 + kMs, true)})});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 2);
  EXPECT_EQ(downstream_.spans().size(), 2u);
  EXPECT_EQ(StoredTraces(), std::set<std::string>{kept});
  EXPECT_EQ(sampler->pending_traces(), 0);
  EXPECT_EQ(Metric("oriel_sampling_tail_late_spans_total{decision=\"sampled\"}"), 1);
  EXPECT_EQ(Metric("oriel_sampling_tail_late_spans_total{decision=\"dropped\"}"), 1);

  // A late span of a kept trace reports storage failures to its sender.
  downstream_.set_fail(absl::UnavailableError("disk full"));
  EXPECT_EQ(
      sampler->Write({MakeResourceSpans("a", {MakeSpan(kept, 5, kT0, kT0 + kMs)})}).status().code(),
      absl::StatusCode::kUnavailable);
}

TEST_F(TailSamplerTest, ForgottenDecisionsStartANewTrace) {
  TailSamplingOptions options = Options();
  options.decision_cache_size = 1;
  auto sampler = Make(options);
  const std::string a = TraceId(1, 1), b = TraceId(2, 2);
  ASSERT_TRUE(sampler->Write({MakeResourceSpans("s", {MakeSpan(a, 1, kT0, kT0 + kMs)})}).ok());
  ASSERT_TRUE(sampler->Write({MakeResourceSpans("s", {MakeSpan(b, 2, kT0, kT0 + kMs)})}).ok());
  sampler->Flush();  // both dropped; only b is remembered
  ASSERT_TRUE(sampler
                  ->Write({MakeResourceSpans(
                      "s", {MakeSpan(a, 3, kT0, kT0 + kMs), MakeSpan(b, 4, kT0, kT0 + kMs)})})
                  .ok());
  EXPECT_EQ(sampler->pending_traces(), 1);  // a waits again, b followed its decision
}

TEST_F(TailSamplerTest, OverNumTracesTheOldestIsDecidedEarly) {
  TailSamplingOptions options = Options();
  options.num_traces = 3;
  auto sampler = Make(options);
  std::vector<std::string> ids;
  for (uint64_t i = 1; i <= 5; ++i) {
    ids.push_back(TraceId(i, i));
    // Traces 1 and 2 have errors and are kept; the rest are fast and dropped.
    ASSERT_TRUE(
        sampler->Write({MakeResourceSpans("s", {MakeSpan(ids.back(), i, kT0, kT0 + kMs, i <= 2)})})
            .ok());
    clock_.Advance(absl::Seconds(1));
  }
  EXPECT_EQ(sampler->pending_traces(), 3);
  EXPECT_EQ(StoredTraces(), (std::set<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_decided_early_total"), 2);
  // Trace 3 is now the oldest: its wait is measured from its own first span.
  sampler->Tick(absl::FromUnixNanos(1'700'000'000'000'000'000) + absl::Seconds(12));
  EXPECT_EQ(sampler->pending_traces(), 2);
}

TEST_F(TailSamplerTest, OverMaxBytesTheOldestIsDecidedEarly) {
  TailSamplingOptions options = Options();
  options.sampling_percentage = 100;
  auto probe = MakeResourceSpans("s", {MakeSpan(TraceId(1, 1), 1, kT0, kT0 + kMs)});
  options.max_bytes = static_cast<int64_t>(probe.ByteSizeLong()) * 2;  // room for two traces
  auto sampler = Make(options);
  for (uint64_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(
        sampler->Write({MakeResourceSpans("s", {MakeSpan(TraceId(i, i), i, kT0, kT0 + kMs)})})
            .ok());
  }
  EXPECT_EQ(sampler->pending_traces(), 2);
  EXPECT_LE(sampler->pending_bytes(), options.max_bytes);
  EXPECT_EQ(StoredTraces(), (std::set<std::string>{TraceId(1, 1), TraceId(2, 2)}));
}

TEST_F(TailSamplerTest, DestructorForwardsEveryKeptWaitingTrace) {
  TailSamplingOptions options = Options();
  options.sampling_percentage = 100;
  auto sampler = Make(options);
  ASSERT_TRUE(sampler
                  ->Write({MakeResourceSpans("s", {MakeSpan(TraceId(1, 1), 1, kT0, kT0 + kMs),
                                                   MakeSpan(TraceId(2, 2), 2, kT0, kT0 + kMs)})})
                  .ok());
  EXPECT_TRUE(downstream_.spans().empty());
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_pending"), 2);
  sampler.reset();
  EXPECT_EQ(StoredTraces(), (std::set<std::string>{TraceId(1, 1), TraceId(2, 2)}));
  // The registry outlives the sampler and can still be scraped.
  EXPECT_EQ(Metric("oriel_sampling_tail_traces_pending"), 0);
  EXPECT_EQ(Metric("oriel_sampling_tail_pending_bytes"), 0);
}

TEST_F(TailSamplerTest, DownstreamFailuresAtForwardingAreCounted) {
  auto sampler = Make(Options());
  ASSERT_TRUE(sampler
                  ->Write({MakeResourceSpans("s", {MakeSpan(TraceId(1, 1), 1, kT0, kT0 + kMs, true),
                                                   MakeSpan(TraceId(1, 1), 2, kT0, kT0 + kMs)})})
                  .ok());
  downstream_.set_fail(absl::UnavailableError("disk full"));
  sampler->Tick(clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(downstream_.calls(), 1);
  EXPECT_EQ(Metric("oriel_sampling_tail_forward_failed_spans_total"), 2);
}

TEST_F(TailSamplerTest, InvalidSpansAreRejectedAtOnce) {
  auto sampler = Make(Options());
  Span bad = MakeSpan(TraceId(1, 1), 1, kT0, kT0 + kMs);
  bad.set_trace_id("abc");
  auto result =
      sampler->Write({MakeResourceSpans("s", {MakeSpan(TraceId(2, 2), 2, kT0, kT0 + kMs), bad})});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 1);
  EXPECT_EQ(result->spans_rejected, 1);
  EXPECT_EQ(result->first_rejection.rfind("span 1 of scope 0 of resource 0: trace_id", 0), 0u)
      << result->first_rejection;
  EXPECT_EQ(sampler->pending_traces(), 1);
}

TEST_F(TailSamplerTest, ConcurrentWritersLoseNothing) {
  TailSamplingOptions options = Options();
  options.sampling_percentage = 100;
  options.num_traces = 300;  // forces early decisions while writers race
  options.tick_interval = absl::Milliseconds(1);
  auto sampler = Make(options);
  std::vector<std::thread> writers;
  for (uint64_t t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (uint64_t i = 0; i < 500; ++i) {
        // Two spans per trace, in separate requests.
        for (uint64_t part = 0; part < 2; ++part) {
          ASSERT_TRUE(sampler
                          ->Write({MakeResourceSpans(
                              "s", {MakeSpan(TraceId(t + 1, i + 1), part, kT0, kT0 + kMs)})})
                          .ok());
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  sampler.reset();
  EXPECT_EQ(downstream_.spans().size(), 4000u);
  EXPECT_EQ(StoredTraces().size(), 2000u);
}

TEST_F(TailSamplerTest, BackgroundThreadDecidesWithTheRealClock) {
  TailSamplingOptions options = Options();
  options.decision_wait = absl::Milliseconds(20);
  options.tick_interval = absl::Milliseconds(5);
  options.sampling_percentage = 100;
  TailSampler sampler(options, downstream_, registry_);
  ASSERT_TRUE(
      sampler.Write({MakeResourceSpans("s", {MakeSpan(TraceId(1, 1), 1, kT0, kT0 + kMs)})}).ok());
  for (int i = 0; i < 500 && downstream_.spans().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(downstream_.spans().size(), 1u);
  EXPECT_EQ(sampler.pending_traces(), 0);
}

}  // namespace
}  // namespace oriel::pipeline::sampling
