// Internals of DB shared by its source files (db.cc, db_blocks.cc): the self-metrics and the
// reader registration that lets unlinked head series be freed safely.
#pragma once

#include <string>

#include "base/metrics.h"
#include "fmt/format.h"
#include "tsdb/db.h"

namespace oriel::tsdb {

// The checkpoint directory for WAL segment `segment` in the engine directory `dir`.
inline std::string CheckpointDirPath(const std::string& dir, uint64_t segment) {
  return fmt::format("{}/checkpoint.{:020}", dir, segment);
}

inline std::string_view ReasonLabel(Verdict v) {
  switch (v) {
    case Verdict::kRejectOutOfOrder:
      return "out_of_order";
    case Verdict::kRejectDuplicate:
      return "duplicate";
    case Verdict::kRejectTooOld:
      return "too_old";
    default:
      return "";
  }
}

struct DB::SelfMetrics {
  explicit SelfMetrics(metrics::Registry& r)
      : head_series(r.AddGauge("oriel_tsdb_head_series", "Series in the metrics head.")),
        series_created(r.AddCounter("oriel_tsdb_head_series_created_total",
                                    "Series created in the metrics head.")),
        samples_appended(r.AddCounterFamily("oriel_tsdb_samples_appended_total",
                                            "Samples stored by the metrics engine.", {"type"})),
        ooo_appended(r.AddCounter("oriel_tsdb_out_of_order_samples_appended_total",
                                  "Samples stored in the out-of-order buffer.")),
        out_of_order(r.AddCounterFamily(
            "oriel_tsdb_out_of_order_samples_total",
            "Samples refused because they were older than their series' last sample.", {"type"})),
        rejected(r.AddCounterFamily("oriel_tsdb_rejected_samples_total",
                                    "Samples refused by the append rules.", {"type", "reason"})),
        ooo_blocks(r.AddCounter("oriel_tsdb_out_of_order_blocks_written_total",
                                "Blocks written for out-of-order samples that came after their "
                                "time range was cut into blocks.")),
        late_samples(r.AddGauge("oriel_tsdb_head_late_samples",
                                "Out-of-order samples in the head waiting for a block of their "
                                "own (their time range is already in blocks).")),
        exemplars_appended(r.AddCounter("oriel_tsdb_exemplars_appended_total",
                                        "Exemplars stored by the metrics engine.")),
        exemplars_rejected(r.AddCounter("oriel_tsdb_exemplars_rejected_total",
                                        "Exemplars refused (out of order or too long).")),
        wal_failures(r.AddCounter("oriel_tsdb_wal_append_failures_total",
                                  "Writes refused because the WAL append failed.")),
        blocks_loaded(r.AddGauge("oriel_tsdb_blocks_loaded", "Blocks of the metrics engine.")),
        compactions(r.AddCounter("oriel_tsdb_compactions_total",
                                 "Blocks written by the metrics engine (head persisted).")),
        retention_deletions(r.AddCounter("oriel_tsdb_retention_deletions_total",
                                         "Blocks deleted by retention (time or size).")),
        blocks_bytes(r.AddGauge("oriel_tsdb_storage_blocks_bytes",
                                "Bytes of the metrics engine's blocks on disk.")) {}

  void Reject(std::string_view type, Verdict v) {
    rejected.WithLabels({type, ReasonLabel(v)}).Inc();
    if (v == Verdict::kRejectOutOfOrder) out_of_order.WithLabels({type}).Inc();
  }

  metrics::Gauge& head_series;
  metrics::Counter& series_created;
  metrics::CounterFamily& samples_appended;
  metrics::Counter& ooo_appended;
  metrics::CounterFamily& out_of_order;
  metrics::CounterFamily& rejected;
  metrics::Counter& ooo_blocks;
  metrics::Gauge& late_samples;
  metrics::Counter& exemplars_appended;
  metrics::Counter& exemplars_rejected;
  metrics::Counter& wal_failures;
  metrics::Gauge& blocks_loaded;
  metrics::Counter& compactions;
  metrics::Counter& retention_deletions;
  metrics::Gauge& blocks_bytes;
};

// Registers a reader for as long as it may hold pointers to head series (see gc_mu_).
class DB::ReaderGuard {
 public:
  explicit ReaderGuard(const DB& db) : db_(db) {
    absl::ReaderMutexLock lock(&db.gc_mu_);
    db.active_readers_.fetch_add(1);
    slot_ = static_cast<int>(db.reader_epoch_.load() & 1);
    db.epoch_readers_[slot_].fetch_add(1);
  }
  ~ReaderGuard() {
    db_.epoch_readers_[slot_].fetch_sub(1);
    db_.active_readers_.fetch_sub(1);
  }
  ReaderGuard(const ReaderGuard&) = delete;
  ReaderGuard& operator=(const ReaderGuard&) = delete;

 private:
  const DB& db_;
  int slot_ = 0;
};

class DB::GuardedSeriesSet final : public SeriesSet {
 public:
  GuardedSeriesSet(std::unique_ptr<ReaderGuard> guard, std::unique_ptr<SeriesSet> set)
      : guard_(std::move(guard)), set_(std::move(set)) {}
  bool Next() override { return set_->Next(); }
  const model::Labels& labels() const override { return set_->labels(); }
  std::unique_ptr<SampleIterator> Samples() const override { return set_->Samples(); }
  absl::Status status() const override { return set_->status(); }

 private:
  std::unique_ptr<ReaderGuard> guard_;  // released after set_
  std::unique_ptr<SeriesSet> set_;
};

}  // namespace oriel::tsdb
