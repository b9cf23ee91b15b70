#include "server/trace_pipeline.h"

#include "base/status.h"
#include "pipeline/memory_limiter.h"
#include "pipeline/sampling/sampling_writer.h"

namespace oriel::server {
namespace {

pipeline::sampling::SamplingOptions SamplingOptionsFrom(const TracesConfig& c) {
  pipeline::sampling::SamplingOptions s;
  s.head.enabled = c.head_sampling_percentage < 100;
  s.head.sampling_percentage = c.head_sampling_percentage;
  s.head.hash_seed = c.sampling_hash_seed;
  s.tail.enabled = c.tail_sampling;
  s.tail.decision_wait = c.tail_decision_wait;
  s.tail.num_traces = c.tail_num_traces;
  s.tail.keep_errors = c.tail_keep_errors;
  s.tail.latency_threshold = c.tail_latency_threshold;
  s.tail.sampling_percentage = c.tail_percentage;
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TracePipeline>> TracePipeline::Create(
    const TracesConfig& config, tracestore::TraceWriter& store, pipeline::MemoryLimiter& limiter,
    metrics::Registry& registry) {
  std::unique_ptr<TracePipeline> p(new TracePipeline());
  ORIEL_ASSIGN_OR_RETURN(p->sampling_, pipeline::sampling::SamplingWriter::Create(
                                           SamplingOptionsFrom(config), store, registry));
  p->memory_limit_ = std::make_unique<pipeline::MemoryLimitedTraceWriter>(*p->sampling_, limiter);
  p->entry_ = p->memory_limit_.get();
  return p;
}

TracePipeline::~TracePipeline() = default;

}  // namespace oriel::server
