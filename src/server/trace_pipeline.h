// What spans go through between OTLP ingest and the trace engine, built from the `traces`
// config: sampling (head, then tail) in front of the store.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "server/config.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::sampling {
class SamplingWriter;
}

namespace oriel::server {

class TracePipeline {
 public:
  // `store` and `registry` are not owned and must outlive the pipeline. kInvalidArgument for a
  // config the stages refuse.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TracePipeline>> Create(
      const TracesConfig& config, tracestore::TraceWriter& store, metrics::Registry& registry);
  // Destroying the pipeline writes what its stages still hold (traces waiting for a tail
  // sampling decision) into the store.
  ~TracePipeline();

  // Where ingest writes spans.
  tracestore::TraceWriter& entry() { return *entry_; }

 private:
  TracePipeline() = default;

  std::unique_ptr<pipeline::sampling::SamplingWriter> sampling_;
  tracestore::TraceWriter* entry_ = nullptr;
};

}  // namespace oriel::server
