// Probabilistic head sampling of spans by trace id, as the OpenTelemetry Collector's
// `probabilistic_sampler` processor does it: every span of a trace gets the same decision, in
// every process configured with the same seed and percentage.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/metrics.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pipeline/sampling/sampling_options.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::sampling {

// Decides one span the way the collector does. Immutable after construction; thread-safe.
class HeadDecider {
 public:
  // REQUIRES: ValidateHeadSamplingOptions(options) is OK.
  explicit HeadDecider(const HeadSamplingOptions& options);

  // True when every span is kept whatever its trace id (percentage 100).
  bool keeps_all() const { return keeps_all_; }

  // The decision for a span: the OpenTracing `sampling.priority` attribute wins when present
  // (0 drops, > 0 keeps; int, double or numeric string, as the collector), otherwise the trace
  // id decides. A trace id that is not 16 bytes is kept so that storage can reject it by name.
  bool Sampled(const opentelemetry::proto::trace::v1::Span& span) const;
  // The decision by trace id alone (and, in kProportional mode, the span's W3C tracestate: its
  // `ot=rv:` replaces the trace id's randomness and its `ot=th:` is the probability an earlier
  // sampler applied, which this one multiplies; a span whose randomness is below its incoming
  // threshold is inconsistent and dropped, as the collector does).
  bool SampledTraceId(std::string_view trace_id, std::string_view trace_state = {}) const;

 private:
  HeadSamplerMode mode_;
  uint32_t seed_;
  float percentage_;
  double ratio_;            // kProportional
  int precision_;           // kProportional
  uint64_t threshold_ = 0;  // kProportional: rejection threshold (keep when randomness >= it)
  bool keeps_all_;
  bool keeps_none_;
};

// A TraceWriter that forwards only the spans its HeadDecider keeps. Spans it drops count as
// written (the sender must not retry them; the collector likewise acknowledges what it samples
// out), so `spans_written` = downstream's + dropped. With percentage 100 or `enabled` false it
// forwards the request untouched with no per-span work. Counts oriel_sampling_head_spans_total
// {decision="sampled"|"dropped"}. Thread-safe.
//
// Not done (unlike the collector): the tracestate of kept spans is not rewritten with the new
// `ot=th:` threshold; in kHashSeed mode the tracestate is ignored (the collector drops spans that
// carry `ot=th:`/`rv:` in that mode); a malformed `ot` value counts as absent (the collector
// drops the span). Rejection messages from downstream index the forwarded (filtered) request.
class HeadSampler final : public tracestore::TraceWriter {
 public:
  // `downstream` and `registry` are not owned and must outlive the sampler; at most one
  // HeadSampler per registry. REQUIRES: ValidateHeadSamplingOptions(options) is OK.
  HeadSampler(const HeadSamplingOptions& options, tracestore::TraceWriter& downstream,
              metrics::Registry& registry);

  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override;

 private:
  bool pass_through_;
  HeadDecider decider_;
  tracestore::TraceWriter& downstream_;
  metrics::CounterFamily& spans_;
  metrics::Counter& sampled_;
  metrics::Counter& dropped_;
};

}  // namespace oriel::pipeline::sampling
