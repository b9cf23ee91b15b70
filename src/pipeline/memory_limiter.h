// Refuses new writes while the process uses more memory than allowed, so that overload is
// answered with 429 / RESOURCE_EXHAUSTED (senders retry later) before memory runs out.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "base/metrics.h"
#include "tracestore/trace_store.h"
#include "tsdb/metrics_store.h"

namespace oriel::pipeline {

class MemoryLimiter {
 public:
  // `limit_bytes` of resident memory; 0 means 80% of the machine's memory. `rss` reads the
  // current resident size (default: /proc/self/statm); a seam for tests.
  MemoryLimiter(int64_t limit_bytes, metrics::Registry& registry,
                std::function<int64_t()> rss = nullptr);

  // OK, or kResourceExhausted naming the usage and the limit. Reads the resident size at most
  // every 50 ms, so it is cheap on hot paths. Thread-safe.
  [[nodiscard]] absl::Status Check();

  int64_t limit_bytes() const { return limit_bytes_; }

 private:
  int64_t limit_bytes_;
  std::function<int64_t()> rss_;
  std::atomic<int64_t> last_rss_{0};
  std::atomic<int64_t> last_read_ns_{0};
  metrics::Counter& refused_;
};

// A MetricsWriter that asks the limiter before passing each batch on.
class MemoryLimitedWriter final : public tsdb::MetricsWriter {
 public:
  // Both must outlive this writer.
  MemoryLimitedWriter(tsdb::MetricsWriter& next, MemoryLimiter& limiter)
      : next_(next), limiter_(limiter) {}
  [[nodiscard]] absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override;
  void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) override {
    next_.FindLabels(sets, out);
  }

 private:
  tsdb::MetricsWriter& next_;
  MemoryLimiter& limiter_;
};

// A TraceWriter that asks the limiter before passing each request's spans on.
class MemoryLimitedTraceWriter final : public tracestore::TraceWriter {
 public:
  // Both must outlive this writer.
  MemoryLimitedTraceWriter(tracestore::TraceWriter& next, MemoryLimiter& limiter)
      : next_(next), limiter_(limiter) {}
  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override;
  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> WriteBatch(
      tracestore::SpanBatch& batch) override;

 private:
  tracestore::TraceWriter& next_;
  MemoryLimiter& limiter_;
};

// Resident memory of this process in bytes (0 if unknown).
int64_t ProcessResidentBytes();
// Physical memory of the machine in bytes (0 if unknown).
int64_t MachineMemoryBytes();

}  // namespace oriel::pipeline
