// The metrics engine: MetricsWriter and MetricsReader over the in-memory head, made durable by
// a WAL that is replayed on open, plus immutable on-disk blocks (see block_writer.h).
//
// Opened on a directory, the engine persists the head into blocks: when the head spans more
// than 1.5 block ranges, its oldest range-aligned window becomes a block, the head drops that
// window, and the WAL is replaced by a checkpoint of what the head still holds. Reads merge the
// blocks and the head. Retention deletes blocks by age and by total size. Layout of `dir`:
//   wal/               WAL segments
//   checkpoint         the first WAL segment to replay (absent: all of them)
//   checkpoint.<seg>/  what the head held when the WAL was cut at <seg> (a WAL of its own),
//                      replayed before wal/ from <seg> on (absent: checkpoints written before
//                      this directory existed, whose records open segment <seg> itself)
//   block-<min>-<max>[-<n>]/ blocks (suffix .tmp or .deleting: half written or half deleted;
//                      removed on open; -<n> tells apart blocks of the same range). Compaction
//                      writes the merged block before deleting its sources; a block inside the
//                      range of a higher-level one is such a leftover source and is deleted on
//                      open (but for out-of-order blocks, see below).
// Crash safety: samples of a window are refused (too old) before the window is persisted, and on
// open the head refuses (and WAL replay skips) samples at or before the newest block's max time,
// so data is never both in a block and in the head after a restart, whatever step a crash
// interrupted.
// Out-of-order samples (HeadOptions::out_of_order_time_window_ms): a float older than its series'
// newest is accepted when not older than (newest sample of the DB - window). Inside the head's
// range it joins the head like any sample; older (its range is in blocks already) it is a late
// sample: logged with its own WAL record type, which replay never skips, kept apart in the head
// (merged on read) and written, at the next persisted window or CompactHead, into out-of-order
// blocks (one per block range, cut to the samples' range) that overlap the others. Reads merge
// overlapping blocks and compaction merges them into one block: a timestamp is read once (of two
// values, the one of the block with the lowest min time wins, the in-order one as a rule). A crash
// between writing such a block and truncating the WAL replays its samples again: duplicates, merged
// away the same way, which is also why an out-of-order block is never deleted as a leftover
// compaction source.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/metrics.h"
#include "storage/wal.h"
#include "tsdb/block_reader.h"
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

  // Blocks (only when opened on a directory). The head is persisted in windows of this size,
  // aligned to multiples of it.
  int64_t block_range_ms = 2 * 3600 * 1000;
  // Blocks whose max time is older than (newest data - this) are deleted (0: keep forever).
  int64_t retention_time_ms = 15LL * 24 * 3600 * 1000;
  // Adjacent blocks within one aligned window of compaction_factor x block_range_ms that the
  // head has moved past are compacted into one block (< 2: no compaction).
  int compaction_factor = 3;
  // Oldest blocks are deleted until the blocks take at most this many bytes (0: no limit).
  int64_t retention_size_bytes = 0;
  // Whether a background thread runs Maintain() every minute and after writes that make the
  // head long enough to persist. Off: only explicit Maintain() calls persist and delete.
  bool background_maintenance = true;
  // Format of the blocks written (both are read): 2, compressed; 1, the legacy format, only for
  // comparisons and compatibility tests.
  int block_format_version = kBlockFormatVersion;
  // Decompressed block pages kept across queries, shared by all blocks (0: none; each block then
  // keeps only the few pages a select is walking).
  size_t page_cache_bytes = 32 << 20;
};

// Thread-safe: any number of concurrent writers and readers. Writers lock the series of their
// batch (in id order) from the append checks through the WAL append to applying, so writes to
// different series share the WAL's group commit while a series' WAL order is its head order;
// readers copy a series under its short data lock and iterate the copy without locks.
class DB final : public MetricsWriter, public MetricsReader {
 public:
  // Opens the engine in `dir` (created if needed): loads its blocks (a corrupt one is a
  // kDataLoss error), replays its WAL in `dir`/wal from the last checkpoint, and starts the
  // background maintenance thread (see DbOptions).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> Open(const std::string& dir,
                                                                DbOptions options);
  // Replays `wal` into a new head, then appends to it. Without a directory there are no blocks:
  // all data stays in the head.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> Open(std::unique_ptr<storage::Wal> wal,
                                                                DbOptions options);
  ~DB() override;

  // MetricsWriter. Validates the whole batch, then checks each sample against the append rules
  // (see Head), logs the accepted ones (plus series records for new series, exemplars and
  // metadata) in one WAL append, and only then makes them visible.
  [[nodiscard]] absl::StatusOr<WriteResult> Write(model::MetricBatch batch) override;
  void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) override {
    head_->FindLabels(sets, out);
  }

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

  // Persists the head's old windows into blocks (truncating the head and the WAL) and applies
  // retention. A no-op for a DB opened without a directory. Thread-safe; serialised.
  [[nodiscard]] absl::Status Maintain();

  // Persists the whole head, up to its newest sample at the time of the call, into blocks now
  // (the window holding the newest sample becomes a block that ends at that sample), truncates
  // the head and the WAL, and compacts the blocks of every window, the current one included.
  // Everything stays queryable. Afterwards the head refuses samples at or before that newest
  // sample (too old), as after any persisted window. Samples written during the call may stay
  // in the head. kFailedPrecondition for a DB opened without a directory. Thread-safe;
  // serialised with Maintain.
  [[nodiscard]] absl::Status CompactHead();

  // The loaded blocks, oldest first.
  std::vector<std::shared_ptr<BlockReader>> Blocks() const;

 private:
  struct SelfMetrics;
  class ReaderGuard;
  class GuardedSeriesSet;
  DB(std::unique_ptr<storage::Wal> wal, DbOptions options, std::string dir);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> OpenImpl(
      std::unique_ptr<storage::Wal> wal, DbOptions options, std::string dir);
  [[nodiscard]] absl::Status LoadBlocks();
  [[nodiscard]] absl::Status Replay();
  // The first WAL segment to replay: the one the last checkpoint starts (0: none).
  [[nodiscard]] absl::StatusOr<uint64_t> CheckpointSegment() const;
  [[nodiscard]] absl::StatusOr<WriteResult> WriteLocked(model::MetricBatch batch);
  // Persists [mint, maxt] of the head into a block, drops it from the head, checkpoints the WAL.
  [[nodiscard]] absl::Status PersistWindow(int64_t mint, int64_t maxt);
  // Writes what the head holds of `series` (the head's series when the WAL was cut at
  // `segment`) into the checkpoint directory for `segment`, points replay at it and drops the
  // WAL segments before `segment`. Runs while writers go on: what they add meanwhile is in
  // segments >= `segment` (and maybe in the checkpoint too; replay drops the duplicates).
  // REQUIRES: maintain_mu_ held (nothing frees head series meanwhile).
  [[nodiscard]] absl::Status WriteCheckpoint(uint64_t segment, std::vector<MemSeries*> series);
  // Removes the checkpoint directories other than the one for `keep` (0: all of them).
  void RemoveStaleCheckpoints(uint64_t keep) const;
  [[nodiscard]] absl::Status ApplyRetention();
  // Merges the blocks of each compaction window the head has moved past; with `include_current`
  // also those of the window the head is in (the merged block then ends at its newest source).
  [[nodiscard]] absl::Status Compact(bool include_current = false);
  // Deletes a block directory crash-safely (renamed first, then removed).
  [[nodiscard]] absl::Status DeleteBlockDir(const std::string& dir);
  void UpdateBlockMetrics();
  void BackgroundLoop();
  bool HeadNeedsPersisting() const;
  [[nodiscard]] absl::Status Validate(const model::MetricBatch& batch) const;
  // Series matching `matchers` with samples in [mint, maxt].
  std::vector<MemSeries*> SeriesInRange(int64_t mint, int64_t maxt,
                                        std::span<const model::Matcher> matchers) const;

  const DbOptions options_;
  std::unique_ptr<metrics::Registry> own_registry_;
  std::unique_ptr<SelfMetrics> metrics_;
  std::unique_ptr<Head> head_;
  std::unique_ptr<storage::Wal> wal_;
  const std::string dir_;  // empty: no blocks

  // Writers hold it shared from finding their series to applying; PersistWindow holds it
  // exclusively while it changes the head's valid range, unlinks series and checkpoints.
  // Readers take it shared only to register in active_readers_, which tells when series
  // unlinked from the head may be freed.
  mutable absl::Mutex gc_mu_;
  mutable std::atomic<int64_t> active_readers_{0};
  // Readers by epoch (two slots, as in RCU): a reader's block list and its view of the head
  // must agree, so after a new block becomes visible the head drops that window only once
  // every reader that may have missed the block (the previous epoch) is done.
  mutable std::atomic<uint64_t> reader_epoch_{0};
  mutable std::atomic<int64_t> epoch_readers_[2] = {0, 0};
  // Flips the epoch and waits until the readers of the previous one have finished.
  void WaitForEarlierReaders() const;

  // Shared with the block readers, which a select may keep after a block left blocks_.
  std::shared_ptr<PageCache> page_cache_;
  mutable std::mutex blocks_mu_;  // guards blocks_
  std::vector<std::shared_ptr<BlockReader>> blocks_;

  std::mutex maintain_mu_;  // serialises Maintain
  std::mutex bg_mu_;        // guards stop_ and kick_
  std::condition_variable bg_cv_;
  bool stop_ = false;
  bool kick_ = false;
  std::thread bg_thread_;
};

}  // namespace oriel::tsdb
