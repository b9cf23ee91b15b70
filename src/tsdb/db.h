// The metrics engine: MetricsWriter and MetricsReader over the in-memory head, made durable by
// a WAL that is replayed on open. Blocks, compaction and retention are not implemented yet: all
// data lives in the head (and the WAL) for the lifetime of the data directory.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "storage/wal.h"
#include "tsdb/head.h"
#include "tsdb/metrics_store.h"

namespace oriel::tsdb {

struct DbOptions {
  HeadOptions head;
  // Per-series limits of a write (0: no limit). A series over one rejects the whole write.
  size_t max_labels_per_series = 64;
  size_t max_label_name_length = 1024;
  size_t max_label_value_length = 4096;
  // Series in the head (0: no limit). A write that would create more fails kResourceExhausted.
  size_t max_active_series = 0;
  // Where the self-metrics (oriel_tsdb_*) go; null: a private registry. Must outlive the DB.
  // Register at most one DB per registry (metric names are unique).
  metrics::Registry* registry = nullptr;
};

// Thread-safe: any number of concurrent writers and readers. Writers lock the series of their
// batch (in id order) from the append checks through the WAL append to applying, so writes to
// different series share the WAL's group commit while a series' WAL order is its head order;
// readers copy a series under its short data lock and iterate the copy without locks.
class DB final : public MetricsWriter, public MetricsReader {
 public:
  // Opens the engine in `dir` (created if needed), its WAL in `dir`/wal, and replays it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> Open(const std::string& dir,
                                                                DbOptions options);
  // Replays `wal` into a new head, then appends to it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> Open(std::unique_ptr<storage::Wal> wal,
                                                                DbOptions options);
  ~DB() override;

  // MetricsWriter. Validates the whole batch, then checks each sample against the append rules
  // (see Head), logs the accepted ones (plus series records for new series, exemplars and
  // metadata) in one WAL append, and only then makes them visible.
  [[nodiscard]] absl::StatusOr<WriteResult> Write(model::MetricBatch batch) override;

  // MetricsReader.
  std::unique_ptr<SeriesSet> Select(int64_t mint_ms, int64_t maxt_ms,
                                    std::span<const model::Matcher> matchers,
                                    const SelectHints* hints) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint_ms, int64_t maxt_ms, std::span<const model::Matcher> matchers) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, int64_t mint_ms, int64_t maxt_ms,
      std::span<const model::Matcher> matchers) override;
  std::vector<model::MetricMetadata> Metadata(std::string_view metric, size_t limit) override;
  std::vector<ExemplarSeries> Exemplars(int64_t mint_ms, int64_t maxt_ms,
                                        std::span<const model::Matcher> matchers) override;

  const Head& head() const { return *head_; }

 private:
  struct SelfMetrics;
  DB(std::unique_ptr<storage::Wal> wal, DbOptions options);
  [[nodiscard]] absl::Status Replay();
  [[nodiscard]] absl::Status Validate(const model::MetricBatch& batch) const;
  // Series matching `matchers` with samples in [mint, maxt].
  std::vector<MemSeries*> SeriesInRange(int64_t mint, int64_t maxt,
                                        std::span<const model::Matcher> matchers) const;

  const DbOptions options_;
  std::unique_ptr<metrics::Registry> own_registry_;
  std::unique_ptr<SelfMetrics> metrics_;
  std::unique_ptr<Head> head_;
  std::unique_ptr<storage::Wal> wal_;
};

}  // namespace oriel::tsdb
