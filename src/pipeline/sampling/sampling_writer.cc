#include "pipeline/sampling/sampling_writer.h"

#include "base/status.h"

namespace oriel::pipeline::sampling {

absl::StatusOr<std::unique_ptr<SamplingWriter>> SamplingWriter::Create(
    const SamplingOptions& options, tracestore::TraceWriter& downstream,
    metrics::Registry& registry) {
  ORIEL_RETURN_IF_ERROR(ValidateSamplingOptions(options));
  std::unique_ptr<SamplingWriter> writer(new SamplingWriter());
  tracestore::TraceWriter* next = &downstream;
  if (options.tail.enabled) {
    writer->tail_ = std::make_unique<TailSampler>(options.tail, *next, registry);
    next = writer->tail_.get();
  }
  if (options.head.enabled) {
    writer->head_ = std::make_unique<HeadSampler>(options.head, *next, registry);
    next = writer->head_.get();
  }
  writer->entry_ = next;
  return writer;
}

}  // namespace oriel::pipeline::sampling
