#include "pipeline/sampling/sampling_options.h"

#include <cmath>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "pipeline/sampling/fake_trace_writer.h"
#include "pipeline/sampling/sampling_writer.h"

namespace oriel::pipeline::sampling {
namespace {

using testing::FakeTraceWriter;
using testing::MakeResourceSpans;
using testing::MakeSpan;
using testing::MetricValue;
using testing::TraceId;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(SamplingOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateSamplingOptions(SamplingOptions{}).ok());
}

TEST(SamplingOptionsTest, BadValuesNameTheField) {
  HeadSamplingOptions head;
  head.sampling_percentage = 120;
  absl::Status s = ValidateHeadSamplingOptions(head);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(s),
            "cannot use head sampling options: sampling_percentage must be in [0, 100], got 120");
  head.sampling_percentage = 50;
  head.sampling_precision = 15;
  EXPECT_NE(Message(ValidateHeadSamplingOptions(head)).find("sampling_precision"),
            std::string::npos);

  TailSamplingOptions tail;
  tail.decision_wait = absl::ZeroDuration();
  EXPECT_EQ(Message(ValidateTailSamplingOptions(tail)),
            "cannot use tail sampling options: decision_wait must be positive, got 0");
  tail = {};
  tail.num_traces = 0;
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("num_traces"), std::string::npos);
  tail = {};
  tail.max_bytes = 0;
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("max_bytes"), std::string::npos);
  tail = {};
  tail.latency_threshold = absl::Seconds(-1);
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("latency_threshold"),
            std::string::npos);
  tail = {};
  tail.sampling_percentage = -1;
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("sampling_percentage"),
            std::string::npos);
  tail = {};
  tail.sampling_percentage = std::nan("");
  EXPECT_FALSE(ValidateTailSamplingOptions(tail).ok());
  tail = {};
  tail.decision_cache_size = -1;
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("decision_cache_size"),
            std::string::npos);
  tail = {};
  tail.tick_interval = absl::Seconds(-1);
  EXPECT_NE(Message(ValidateTailSamplingOptions(tail)).find("tick_interval"), std::string::npos);
}

TEST(SamplingWriterTest, RejectsBadOptions) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  SamplingOptions options;
  options.tail.num_traces = -5;
  EXPECT_EQ(SamplingWriter::Create(options, downstream, registry).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SamplingWriterTest, NothingEnabledWritesThrough) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  auto writer = SamplingWriter::Create(SamplingOptions{}, downstream, registry);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->tail(), nullptr);
  ASSERT_TRUE((*writer)->Write({MakeResourceSpans("s", {MakeSpan(TraceId(1, 1), 1, 1, 2)})}).ok());
  EXPECT_EQ(downstream.spans().size(), 1u);
}

TEST(SamplingWriterTest, HeadThenTail) {
  FakeTraceWriter downstream;
  metrics::Registry registry;
  SamplingOptions options;
  options.head.enabled = true;
  options.head.sampling_percentage = 50;
  options.tail.enabled = true;
  options.tail.tick_interval = absl::ZeroDuration();
  options.tail.sampling_percentage = 100;
  auto writer = SamplingWriter::Create(options, downstream, registry);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<testing::Span> spans;
  std::mt19937_64 rng(5);
  for (uint64_t i = 1; i <= 400; ++i) spans.push_back(MakeSpan(TraceId(rng(), rng()), i, 1, 2));
  auto result = (*writer)->Write({MakeResourceSpans("s", spans)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 400);
  double head_kept = MetricValue(registry, "oriel_sampling_head_spans_total{decision=\"sampled\"}");
  EXPECT_GT(head_kept, 100);
  EXPECT_LT(head_kept, 300);
  // Only what head sampling kept waits in the tail sampler, and destruction forwards it.
  EXPECT_EQ((*writer)->tail()->pending_traces(), static_cast<int64_t>(head_kept));
  writer->reset();
  EXPECT_EQ(static_cast<double>(downstream.spans().size()), head_kept);
}

}  // namespace
}  // namespace oriel::pipeline::sampling
