// A tsdb::MetricsWriter for tests: records every batch and answers with a settable result.
#pragma once

#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tsdb/metrics_store.h"

namespace oriel::ingest::otlp {

class FakeMetricsWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    absl::MutexLock lock(&mu_);
    if (!next_.ok()) return next_.status();
    tsdb::WriteResult result = *next_;
    for (const auto& s : batch.series) result.samples_written += s.samples.size();
    batches_.push_back(std::move(batch));
    return result;
  }

  // What the next writes answer (an error stores nothing).
  void SetResult(absl::StatusOr<tsdb::WriteResult> result) {
    absl::MutexLock lock(&mu_);
    next_ = std::move(result);
  }

  std::vector<model::MetricBatch> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::StatusOr<tsdb::WriteResult> next_ = tsdb::WriteResult{};
  std::vector<model::MetricBatch> batches_;
};

}  // namespace oriel::ingest::otlp
