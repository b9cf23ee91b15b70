// The sampling stage of the span pipeline: head sampling, then tail sampling, in front of the
// trace store, each present only when enabled. What server/ builds from the config.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "pipeline/sampling/head_sampler.h"
#include "pipeline/sampling/sampling_options.h"
#include "pipeline/sampling/tail_sampler.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::sampling {

// A TraceWriter that runs Write through HeadSampler (if options.head.enabled) then TailSampler
// (if options.tail.enabled) and on to `downstream`; with neither enabled it calls `downstream`
// directly. Destroying it flushes the tail sampler (see TailSampler). Thread-safe.
class SamplingWriter final : public tracestore::TraceWriter {
 public:
  // kInvalidArgument for bad options (see ValidateSamplingOptions). `downstream` and `registry`
  // are not owned and must outlive the writer; at most one SamplingWriter per registry.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SamplingWriter>> Create(
      const SamplingOptions& options, tracestore::TraceWriter& downstream,
      metrics::Registry& registry);

  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override {
    return entry_->Write(std::move(resource_spans));
  }
  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> WriteBatch(
      tracestore::SpanBatch& batch) override {
    return entry_->WriteBatch(batch);
  }

  // The tail sampler, or null when tail sampling is off (e.g. to Flush before stopping storage).
  TailSampler* tail() { return tail_.get(); }

 private:
  SamplingWriter() = default;
  // Declared before head_ so that it is destroyed after it: nothing writes into a flushed tail.
  std::unique_ptr<TailSampler> tail_;
  std::unique_ptr<HeadSampler> head_;
  tracestore::TraceWriter* entry_ = nullptr;
};

}  // namespace oriel::pipeline::sampling
