#include "pipeline/memory_limiter.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "base/status.h"
#include "fmt/format.h"

namespace oriel::pipeline {

int64_t ProcessResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

int64_t MachineMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

MemoryLimiter::MemoryLimiter(int64_t limit_bytes, metrics::Registry& registry,
                             std::function<int64_t()> rss)
    : limit_bytes_(limit_bytes > 0 ? limit_bytes : MachineMemoryBytes() / 10 * 8),
      rss_(rss ? std::move(rss) : ProcessResidentBytes),
      refused_(registry.AddCounter("oriel_memory_limiter_refused_writes_total",
                                   "Writes refused because memory use was over the limit.")) {
  registry.AddGaugeFunc("oriel_memory_limit_bytes",
                        "Resident memory above which writes are refused.",
                        [this] { return static_cast<double>(limit_bytes_); });
}

absl::Status MemoryLimiter::Check() {
  int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t last = last_read_ns_.load(std::memory_order_relaxed);
  if (now - last > 50'000'000 &&
      last_read_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    last_rss_.store(rss_(), std::memory_order_relaxed);
  }
  int64_t rss = last_rss_.load(std::memory_order_relaxed);
  if (limit_bytes_ > 0 && rss > limit_bytes_) {
    refused_.Inc();
    return absl::ResourceExhaustedError(fmt::format(
        "cannot accept the write: memory use {} bytes is over the limit of {} bytes; retry later",
        rss, limit_bytes_));
  }
  return absl::OkStatus();
}

absl::StatusOr<tsdb::WriteResult> MemoryLimitedWriter::Write(model::MetricBatch batch) {
  ORIEL_RETURN_IF_ERROR(limiter_.Check());
  return next_.Write(std::move(batch));
}

absl::StatusOr<tracestore::TraceWriteResult> MemoryLimitedTraceWriter::Write(
    std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) {
  ORIEL_RETURN_IF_ERROR(limiter_.Check());
  return next_.Write(std::move(resource_spans));
}

absl::StatusOr<tracestore::TraceWriteResult> MemoryLimitedTraceWriter::WriteBatch(
    tracestore::SpanBatch& batch) {
  ORIEL_RETURN_IF_ERROR(limiter_.Check());
  return next_.WriteBatch(batch);
}

}  // namespace oriel::pipeline
