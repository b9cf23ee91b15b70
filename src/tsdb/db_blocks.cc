// The block side of DB: loading blocks on open, persisting the head into blocks (with the WAL
// checkpoint that follows), retention, and the background thread that runs them.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

#include "base/log.h"
#include "base/status.h"
#include "tsdb/block_writer.h"
#include "tsdb/db.h"
#include "tsdb/db_internal.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/merge.h"
#include "tsdb/series_iterator.h"
#include "tsdb/wal_records.h"

namespace oriel::tsdb {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCheckpointFile = "checkpoint";
constexpr size_t kCheckpointBatch = 10000;  // samples or series per checkpoint record

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Window [start, start + range) containing t, range-aligned (floor division for negative t).
int64_t WindowStart(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range < 0) --q;
  return q * range;
}

// The late samples of some series (see MemSeries::late), as a series set for WriteSeriesSet.
class LateSeriesSet final : public SeriesSet {
 public:
  // `series` sorted by labels, each with its samples (sorted, unique timestamps) as `ooo`.
  explicit LateSeriesSet(std::vector<std::shared_ptr<const SeriesSnapshot>> series)
      : series_(std::move(series)) {}
  bool Next() override { return ++next_ <= series_.size(); }
  const model::Labels& labels() const override { return series_[next_ - 1]->labels; }
  std::unique_ptr<SampleIterator> Samples() const override {
    return std::make_unique<SnapshotIterator>(series_[next_ - 1], INT64_MIN, INT64_MAX);
  }

 private:
  std::vector<std::shared_ptr<const SeriesSnapshot>> series_;
  size_t next_ = 0;
};

// Whether a compaction of `sources` may copy their chunks as stored instead of decoding and
// re-encoding every sample: they are all in the format being written, and in order and apart in
// time (no out-of-order block), so that a series' chunks from consecutive sources follow each
// other and no timestamp is in two sources.
bool CanCopyChunks(const std::vector<std::shared_ptr<BlockReader>>& sources, int format_version) {
  int64_t previous_max = INT64_MIN;
  for (size_t i = 0; i < sources.size(); ++i) {
    const BlockMeta& m = sources[i]->meta();
    if (m.version != format_version || format_version != kBlockFormatVersion || m.out_of_order ||
        (i > 0 && m.min_time <= previous_max)) {
      return false;
    }
    previous_max = m.max_time;
  }
  return true;
}

// Adds the series of `sources` (see CanCopyChunks) with their chunks as stored, merged by labels,
// to `writer`; kDataLoss when a source's chunk cannot be read (bad CRC or record).
absl::Status CopyStoredSeries(const std::vector<std::shared_ptr<BlockReader>>& sources,
                              BlockWriter& writer) {
  std::vector<uint32_t> next(sources.size(), 0);  // each source's next series id
  std::vector<BlockReader::StoredChunk> stored;
  BlockSeries bs;
  while (true) {
    const model::Labels* min = nullptr;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (next[i] >= sources[i]->meta().num_series) continue;
      const model::Labels& l = sources[i]->series(next[i]).labels;
      if (min == nullptr || l < *min) min = &l;
    }
    if (min == nullptr) return absl::OkStatus();
    bs.labels = *min;
    bs.chunks.clear();
    // Sources in time order: the series' chunks come out in time order.
    for (size_t i = 0; i < sources.size(); ++i) {
      if (next[i] >= sources[i]->meta().num_series ||
          sources[i]->series(next[i]).labels != bs.labels) {
        continue;
      }
      stored.clear();
      ORIEL_RETURN_IF_ERROR(sources[i]->StoredChunks(next[i], INT64_MIN, INT64_MAX, &stored));
      for (const BlockReader::StoredChunk& c : stored) {
        bs.chunks.push_back(
            {c.encoding, c.num_samples, c.min_time, c.max_time, std::string(c.data), {}});
      }
      ++next[i];
    }
    if (!bs.chunks.empty()) ORIEL_RETURN_IF_ERROR(writer.Add(bs));
  }
}

}  // namespace

std::vector<std::shared_ptr<BlockReader>> DB::Blocks() const {
  std::lock_guard lock(blocks_mu_);
  return blocks_;
}

absl::Status DB::LoadBlocks() {
  std::error_code ec;
  std::vector<std::shared_ptr<BlockReader>> loaded;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("block-", 0) != 0) continue;
    if (EndsWith(name, kBlockTmpSuffix) || EndsWith(name, kBlockDeletingSuffix)) {
      // A block a crash interrupted while writing or deleting: never part of the data.
      std::error_code rm_ec;
      fs::remove_all(e.path(), rm_ec);
      log::Warn("removed incomplete metrics block", {{"dir", e.path().string()}});
      continue;
    }
    absl::StatusOr<std::shared_ptr<BlockReader>> b =
        BlockReader::Open(e.path().string(), page_cache_);
    if (!b.ok()) {
      return absl::DataLossError(
          fmt::format("cannot open metrics engine in {}: {}", dir_, b.status().message()));
    }
    loaded.push_back(*std::move(b));
  }
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot list {}: {}", dir_, ec.message()));
  }
  // Sources of a compaction that a crash kept from being deleted: their data is in the
  // compacted block.
  std::vector<std::shared_ptr<BlockReader>> kept;
  for (const auto& b : loaded) {
    bool covered = false;
    for (const auto& c : loaded) {
      // An out-of-order block overlaps the others by design; a leftover one only duplicates
      // samples, which reads and the next compaction merge away.
      covered |= !b->meta().out_of_order && c != b && c->meta().level > b->meta().level &&
                 c->meta().min_time <= b->meta().min_time &&
                 b->meta().max_time <= c->meta().max_time;
    }
    if (!covered) {
      kept.push_back(b);
    } else {
      log::Warn("deleting metrics block already compacted", {{"block", b->dir()}});
      ORIEL_RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
    }
  }
  loaded = std::move(kept);
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
  int64_t max_time = INT64_MIN;
  for (const auto& b : loaded) max_time = std::max(max_time, b->meta().max_time);
  if (max_time != INT64_MIN) head_->SetMinValidTime(max_time + 1);
  {
    std::lock_guard lock(blocks_mu_);
    blocks_ = std::move(loaded);
  }
  UpdateBlockMetrics();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DB::CheckpointSegment() const {
  if (dir_.empty()) return 0;
  std::string path = dir_ + "/" + std::string(kCheckpointFile);
  std::ifstream in(path);
  if (!in) return 0;
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  uint64_t seg = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seg);
  if (ec != std::errc() || ptr == text.data()) {
    return absl::DataLossError(fmt::format("cannot read {}: not a segment number", path));
  }
  return seg;
}

void DB::UpdateBlockMetrics() {
  std::lock_guard lock(blocks_mu_);
  uint64_t bytes = 0;
  for (const auto& b : blocks_) bytes += b->SizeBytes();
  metrics_->blocks_loaded.Set(static_cast<double>(blocks_.size()));
  metrics_->blocks_bytes.Set(static_cast<double>(bytes));
}

bool DB::HeadNeedsPersisting() const {
  if (dir_.empty()) return false;
  int64_t min = head_->MinTime(), max = head_->MaxTime();
  if (min == INT64_MAX || max == INT64_MIN || max < min) return false;
  uint64_t span = static_cast<uint64_t>(max) - static_cast<uint64_t>(min);
  return span > static_cast<uint64_t>(options_.block_range_ms) / 2 * 3;
}

absl::Status DB::Maintain() {
  if (dir_.empty()) return absl::OkStatus();
  std::lock_guard lock(maintain_mu_);
  while (HeadNeedsPersisting()) {
    int64_t start = WindowStart(head_->MinTime(), options_.block_range_ms);
    if (start > INT64_MAX - options_.block_range_ms) break;
    // After CompactHead the rest of its window starts past the block it cut.
    ORIEL_RETURN_IF_ERROR(
        PersistWindow(std::max(start, head_->MinValidTime()), start + options_.block_range_ms - 1));
  }
  ORIEL_RETURN_IF_ERROR(Compact());
  ORIEL_RETURN_IF_ERROR(ApplyRetention());
  if (active_readers_.load() == 0) {
    absl::WriterMutexLock gc(&gc_mu_);
    if (active_readers_.load() == 0) head_->FreeRetired();
  }
  return absl::OkStatus();
}

absl::Status DB::CompactHead() {
  if (dir_.empty()) {
    return absl::FailedPreconditionError(
        "cannot compact the metrics head: the engine has no data directory");
  }
  std::lock_guard lock(maintain_mu_);
  // Fixed up front: under constant ingest "until the head is empty" would never end.
  const int64_t newest = head_->MaxTime();
  while (true) {
    int64_t min = head_->MinTime();
    if (newest == INT64_MIN || min == INT64_MAX || min > newest) break;
    int64_t start = WindowStart(min, options_.block_range_ms);
    int64_t end = start > INT64_MAX - options_.block_range_ms ? INT64_MAX
                                                              : start + options_.block_range_ms - 1;
    ORIEL_RETURN_IF_ERROR(
        PersistWindow(std::max(start, head_->MinValidTime()), std::min(end, newest)));
  }
  // Late samples go into blocks even when the head had nothing left to cut.
  if (head_->NumLate() > 0) ORIEL_RETURN_IF_ERROR(PersistWindow(INT64_MAX, INT64_MIN));
  ORIEL_RETURN_IF_ERROR(Compact(/*include_current=*/true));
  ORIEL_RETURN_IF_ERROR(ApplyRetention());
  if (active_readers_.load() == 0) {
    absl::WriterMutexLock gc(&gc_mu_);
    if (active_readers_.load() == 0) head_->FreeRetired();
  }
  return absl::OkStatus();
}

absl::Status DB::PersistWindow(int64_t mint, int64_t maxt) {
  const bool in_order = mint <= maxt;
  // Late samples by block-range window: [window start] -> one snapshot per series.
  std::map<int64_t, std::vector<std::shared_ptr<const SeriesSnapshot>>> late_windows;
  std::vector<MemSeries*> late_series;
  {
    // From here on writes into the window are refused (or taken as late samples), so the block
    // below misses none of them; the late samples taken here are those written before.
    absl::WriterMutexLock gc(&gc_mu_);
    if (in_order) head_->SetMinValidTime(std::max(head_->MinValidTime(), maxt + 1));
    if (head_->NumLate() > 0) {
      std::vector<MemSeries*> all = head_->Select({});
      std::sort(all.begin(), all.end(),
                [](const MemSeries* a, const MemSeries* b) { return a->labels < b->labels; });
      for (MemSeries* s : all) {
        std::vector<model::Sample> late = head_->BeginPersistLate(*s);
        if (late.empty()) continue;
        late_series.push_back(s);
        for (size_t i = 0; i < late.size();) {
          int64_t start = WindowStart(late[i].timestamp_ms, options_.block_range_ms);
          auto snap = std::make_shared<SeriesSnapshot>();
          snap->labels = s->labels;
          while (i < late.size() && late[i].timestamp_ms - start < options_.block_range_ms) {
            snap->ooo.push_back(late[i++]);
          }
          late_windows[start].push_back(std::move(snap));
        }
      }
    }
  }
  // Blocks are written series by series: the window's samples are never all decoded at once.
  std::vector<std::pair<BlockMeta, std::string>> written;  // and their paths
  if (in_order) {
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    BlockWriter writer(dir_, meta, options_.block_format_version);
    {
      ReaderGuard guard(*this);
      std::vector<MemSeries*> all = head_->Select({});
      std::sort(all.begin(), all.end(),
                [](const MemSeries* a, const MemSeries* b) { return a->labels < b->labels; });
      HeadSeriesSet set(*head_, std::move(all), mint, maxt, /*with_late=*/false);
      ORIEL_RETURN_IF_ERROR(
          WriteSeriesSet(set, mint, maxt, options_.head.samples_per_chunk, writer));
    }
    if (writer.num_series() > 0) {
      ORIEL_ASSIGN_OR_RETURN(std::string path, writer.Finish());
      written.emplace_back(meta, std::move(path));
    }
  }
  for (auto& [start, snaps] : late_windows) {
    // Cut to the samples' range, not the window's: the newest block's max time is where the
    // head's valid range starts on open.
    BlockMeta meta;
    meta.min_time = INT64_MAX;
    meta.max_time = INT64_MIN;
    meta.out_of_order = true;
    for (const auto& snap : snaps) {
      meta.min_time = std::min(meta.min_time, snap->ooo.front().timestamp_ms);
      meta.max_time = std::max(meta.max_time, snap->ooo.back().timestamp_ms);
    }
    LateSeriesSet set(std::move(snaps));
    BlockWriter writer(dir_, meta, options_.block_format_version, /*unique_name=*/true);
    ORIEL_RETURN_IF_ERROR(
        WriteSeriesSet(set, meta.min_time, meta.max_time, options_.head.samples_per_chunk, writer));
    ORIEL_ASSIGN_OR_RETURN(std::string path, writer.Finish());
    written.emplace_back(meta, std::move(path));
  }
  for (const auto& [meta, path] : written) {
    ORIEL_ASSIGN_OR_RETURN(std::shared_ptr<BlockReader> block,
                           BlockReader::Open(path, page_cache_));
    {
      std::lock_guard lock(blocks_mu_);
      blocks_.push_back(std::move(block));
      std::sort(blocks_.begin(), blocks_.end(), [](const auto& a, const auto& b) {
        return a->meta().min_time < b->meta().min_time;
      });
    }
    metrics_->compactions.Inc();
    if (meta.out_of_order) metrics_->ooo_blocks.Inc();
    UpdateBlockMetrics();
    log::Info(
        meta.out_of_order ? "persisted out-of-order metrics" : "persisted metrics head window",
        {{"block", path}});
  }
  // The window is durable in the block: drop it from the head and the WAL, once no reader that
  // listed the blocks before this one appeared can still look for the window in the head.
  WaitForEarlierReaders();
  uint64_t segment = 0;
  std::vector<MemSeries*> remaining;
  {
    absl::WriterMutexLock gc(&gc_mu_);
    for (MemSeries* s : late_series) head_->EndPersistLate(*s);
    metrics_->late_samples.Set(static_cast<double>(head_->NumLate()));
    // Also unlinks the series left without samples once their late samples are gone.
    head_->TruncateBefore(in_order ? maxt + 1 : head_->MinValidTime());
    if (active_readers_.load() == 0) head_->FreeRetired();
    metrics_->head_series.Set(static_cast<double>(head_->NumSeries()));
    // No writer is between its WAL append and applying: everything in the segments before the
    // cut is in the head now, and every series there has its record in them.
    ORIEL_ASSIGN_OR_RETURN(segment, wal_->Cut());
    remaining = head_->Select({});
  }
  // Writers go on while the checkpoint is written.
  return WriteCheckpoint(segment, std::move(remaining));
}

void DB::WaitForEarlierReaders() const {
  uint64_t previous = reader_epoch_.fetch_add(1);
  const auto& old_slot = epoch_readers_[previous & 1];
  // Queries are bounded by their timeout, so this wait is too.
  while (old_slot.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

absl::Status DB::WriteCheckpoint(uint64_t segment, std::vector<MemSeries*> all) {
  // Written under a temporary name, then renamed: a checkpoint directory that replay may use is
  // always complete.
  const std::string final_dir = CheckpointDirPath(dir_, segment);
  const std::string tmp_dir = final_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::remove_all(final_dir, ec);
  absl::StatusOr<std::unique_ptr<storage::Wal>> cp = storage::Wal::Open(tmp_dir);
  if (!cp.ok()) {
    return absl::UnavailableError(fmt::format("cannot create the metrics WAL checkpoint {}: {}",
                                              tmp_dir, cp.status().message()));
  }
  std::vector<std::string> records;
  // Records go out in batches as they are made: all of a big head's at once took tens of MiB.
  auto write_records = [&]() -> absl::Status {
    if (records.empty()) return absl::OkStatus();
    std::vector<std::string_view> views(records.begin(), records.end());
    if (absl::Status st = (*cp)->Append(views); !st.ok()) {
      return absl::UnavailableError(
          fmt::format("cannot write the metrics WAL checkpoint {}: {}", tmp_dir, st.message()));
    }
    records.clear();
    return absl::OkStatus();
  };
  constexpr size_t kRecordsPerWrite = 64;
  std::vector<WalSeries> series;
  for (MemSeries* s : all) {
    series.push_back({s->ref, s->labels});
    if (series.size() >= kCheckpointBatch) {
      EncodeSeriesRecord(records.emplace_back(), series);
      series.clear();
    }
  }
  if (!series.empty()) EncodeSeriesRecord(records.emplace_back(), series);

  // Samples in each series' time order: a float record and a histogram record are flushed
  // before the other kind follows, so replay applies them in the same order.
  std::vector<WalSample> floats;
  std::vector<WalHistogram> histograms;
  auto flush_floats = [&] {
    if (!floats.empty()) EncodeSamplesRecord(records.emplace_back(), floats);
    floats.clear();
  };
  auto flush_histograms = [&] {
    if (!histograms.empty()) EncodeHistogramsRecord(records.emplace_back(), histograms);
    histograms.clear();
  };
  std::vector<WalSample> late_floats;
  auto flush_late = [&] {
    if (!late_floats.empty()) EncodeOooSamplesRecord(records.emplace_back(), late_floats);
    late_floats.clear();
  };
  // Float-only series go in as their head chunks, several times smaller than single samples
  // and not decoded here; their out-of-order samples follow all chunks (as at the head, they
  // are older than the newest in-order sample, so replay puts them back out of order).
  struct PendingChunk {
    uint32_t ref;
    int num_samples;
    size_t offset;  // of its bytes in chunk_bytes
    size_t size;
  };
  std::vector<PendingChunk> pending_chunks;
  std::string chunk_bytes;
  size_t chunk_samples = 0;
  auto flush_chunks = [&] {
    if (pending_chunks.empty()) return;
    std::vector<WalFloatChunk> chunks;
    chunks.reserve(pending_chunks.size());
    for (const PendingChunk& c : pending_chunks) {
      chunks.push_back(
          {c.ref, c.num_samples, std::string_view(chunk_bytes).substr(c.offset, c.size)});
    }
    EncodeFloatChunksRecord(records.emplace_back(), chunks);
    pending_chunks.clear();
    chunk_bytes.clear();
    chunk_samples = 0;
  };
  std::vector<WalSample> chunked_ooo;
  std::vector<model::Sample> packed_samples;
  std::vector<WalExemplar> exemplars;
  for (MemSeries* s : all) {
    std::optional<SeriesSnapshot> snap =
        head_->Snapshot(*s, INT64_MIN, INT64_MAX, /*with_late=*/false);
    const bool floats_only =
        snap.has_value() && std::all_of(snap->chunks.begin(), snap->chunks.end(),
                                        [](const SeriesSnapshot::Chunk& c) { return c.is_float; });
    if (floats_only) {
      for (const model::Sample& x : snap->ooo) {
        chunked_ooo.push_back({s->ref, x.timestamp_ms, x.value});
      }
      for (const SeriesSnapshot::Chunk& c : snap->chunks) {
        if (c.num_samples == 0) continue;
        const size_t offset = chunk_bytes.size();
        if (c.is_delta) {
          // The record holds XOR chunks (so that older versions read the checkpoint): a packed
          // chunk is re-encoded.
          packed_samples.clear();
          if (!DecodeDeltaChunkInto(c.bytes, c.num_samples, &packed_samples).ok()) continue;
          XorChunk x;
          for (const model::Sample& p : packed_samples) x.Append(p.timestamp_ms, p.value);
          chunk_bytes += x.bytes();
        } else {
          chunk_bytes += c.bytes;
        }
        pending_chunks.push_back({s->ref, c.num_samples, offset, chunk_bytes.size() - offset});
        chunk_samples += static_cast<size_t>(c.num_samples);
      }
      if (chunk_samples >= kCheckpointBatch) flush_chunks();
    } else if (snap.has_value()) {
      SnapshotIterator it(std::make_shared<const SeriesSnapshot>(std::move(*snap)), INT64_MIN,
                          INT64_MAX);
      for (auto vt = it.Next(); vt != SampleIterator::ValueType::kNone; vt = it.Next()) {
        if (vt == SampleIterator::ValueType::kFloat) {
          flush_histograms();
          floats.push_back({s->ref, it.AtTime(), it.AtFloat()});
          if (floats.size() >= kCheckpointBatch) flush_floats();
        } else {
          flush_floats();
          histograms.push_back({s->ref, it.AtHistogram()});
          if (histograms.size() >= kCheckpointBatch) flush_histograms();
        }
      }
    }
    {
      // Late samples keep their own record type, so that replay keeps them (see wal_records.h).
      std::lock_guard lock(s->data_mu);
      for (const auto* late : {&s->late(), &s->late_persisting()}) {
        for (const model::Sample& x : *late)
          late_floats.push_back({s->ref, x.timestamp_ms, x.value});
      }
    }
    if (late_floats.size() >= kCheckpointBatch) flush_late();
    for (model::Exemplar& e : head_->exemplars().Get(s->ref, INT64_MIN, INT64_MAX)) {
      exemplars.push_back({s->ref, std::move(e)});
    }
    if (records.size() >= kRecordsPerWrite) ORIEL_RETURN_IF_ERROR(write_records());
  }
  flush_floats();
  flush_histograms();
  flush_chunks();
  for (size_t i = 0; i < chunked_ooo.size(); i += kCheckpointBatch) {
    EncodeSamplesRecord(
        records.emplace_back(),
        std::span(chunked_ooo).subspan(i, std::min(kCheckpointBatch, chunked_ooo.size() - i)));
  }
  flush_late();
  if (!exemplars.empty()) EncodeExemplarsRecord(records.emplace_back(), exemplars);
  std::vector<model::MetricMetadata> metadata = head_->Metadata("", 0);
  if (!metadata.empty()) EncodeMetadataRecord(records.emplace_back(), metadata);
  ORIEL_RETURN_IF_ERROR(write_records());
  cp->reset();  // closes the checkpoint's segment
  ORIEL_RETURN_IF_ERROR(SyncDir(tmp_dir));
  fs::rename(tmp_dir, final_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot rename {} to {}: {}", tmp_dir, final_dir, ec.message()));
  }
  ORIEL_RETURN_IF_ERROR(SyncDir(dir_));

  // Only once the checkpoint is durable does replay start at it; a crash before leaves the old
  // checkpoint and segments in charge (their samples in blocks are skipped, the rest are read
  // twice and deduplicated by the head).
  std::string path = dir_ + "/" + std::string(kCheckpointFile);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << segment << "\n";
    out.flush();
    if (!out) return absl::UnavailableError(fmt::format("cannot write {}", tmp));
  }
  {
    // std::ofstream cannot fsync: reopen the file to do it.
    ORIEL_RETURN_IF_ERROR(SyncFile(tmp));
  }
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot rename {}: {}", tmp, ec.message()));
  ORIEL_RETURN_IF_ERROR(SyncDir(dir_));
  RemoveStaleCheckpoints(segment);
  return wal_->RemoveSegmentsBefore(segment);
}

void DB::RemoveStaleCheckpoints(uint64_t keep) const {
  const std::string kept = keep == 0 ? "" : CheckpointDirPath(dir_, keep);
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint.", 0) != 0 || e.path().string() == kept) {
      continue;
    }
    std::error_code rm_ec;
    fs::remove_all(e.path(), rm_ec);
    if (rm_ec) {
      log::Warn("cannot remove old metrics WAL checkpoint",
                {{"dir", e.path().string()}, {"err", rm_ec.message()}});
    }
  }
}

absl::Status DB::ApplyRetention() {
  std::vector<std::shared_ptr<BlockReader>> doomed;
  {
    std::lock_guard lock(blocks_mu_);
    int64_t newest = head_->MaxTime();
    for (const auto& b : blocks_) newest = std::max(newest, b->meta().max_time);
    std::vector<std::shared_ptr<BlockReader>> keep;
    int64_t retention = options_.retention_time_ms;
    bool by_time = retention > 0 && newest != INT64_MIN && newest > INT64_MIN + retention;
    for (auto& b : blocks_) {
      if (by_time && b->meta().max_time < newest - retention) {
        doomed.push_back(std::move(b));
      } else {
        keep.push_back(std::move(b));
      }
    }
    if (options_.retention_size_bytes > 0) {
      uint64_t total = 0;
      for (const auto& b : keep) total += b->SizeBytes();
      size_t drop = 0;
      while (drop < keep.size() && total > static_cast<uint64_t>(options_.retention_size_bytes)) {
        total -= keep[drop]->SizeBytes();
        doomed.push_back(std::move(keep[drop++]));
      }
      keep.erase(keep.begin(), keep.begin() + static_cast<ptrdiff_t>(drop));
    }
    blocks_ = std::move(keep);
  }
  UpdateBlockMetrics();
  absl::Status result;
  for (const auto& b : doomed) {
    metrics_->retention_deletions.Inc();
    log::Info("deleting metrics block by retention", {{"block", b->dir()}});
    if (absl::Status st = DeleteBlockDir(b->dir()); !st.ok() && result.ok()) result = st;
  }
  return result;
}

absl::Status DB::DeleteBlockDir(const std::string& dir) {
  // Renamed first so that a crash mid-delete leaves a directory Open discards, never a block
  // with missing files. Readers still using the block keep its mapping.
  std::string deleting = dir + std::string(kBlockDeletingSuffix);
  std::error_code ec;
  fs::rename(dir, deleting, ec);
  if (ec)
    return absl::UnavailableError(fmt::format("cannot delete block {}: {}", dir, ec.message()));
  ORIEL_RETURN_IF_ERROR(SyncDir(dir_));
  fs::remove_all(deleting, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot delete block {}: {}", dir, ec.message()));
  }
  return absl::OkStatus();
}

absl::Status DB::Compact(bool include_current) {
  if (options_.compaction_factor < 2) return absl::OkStatus();
  const int64_t big = options_.block_range_ms * options_.compaction_factor;
  // Windows the head has moved past get no new blocks: they are final.
  const int64_t limit = head_->MinValidTime();
  while (true) {
    std::map<int64_t, std::vector<std::shared_ptr<BlockReader>>> groups;
    for (auto& b : Blocks()) {
      int64_t start = WindowStart(b->meta().min_time, big);
      if (start > INT64_MAX - big) continue;
      int64_t end = start + big - 1;
      if (b->meta().max_time <= end &&
          (end < limit || (include_current && b->meta().max_time < limit))) {
        groups[start].push_back(std::move(b));
      }
    }
    auto it = std::find_if(groups.begin(), groups.end(),
                           [](const auto& g) { return g.second.size() >= 2; });
    if (it == groups.end()) return absl::OkStatus();
    int64_t mint = it->first, maxt = it->first + big - 1;
    const std::vector<std::shared_ptr<BlockReader>>& sources = it->second;
    if (maxt >= limit) {
      // The head still fills this window: the merged block must not claim the rest of it, or
      // open would take the blocks cut there later for leftovers of this compaction.
      mint = INT64_MAX;
      maxt = INT64_MIN;
      for (const auto& b : sources) {
        mint = std::min(mint, b->meta().min_time);
        maxt = std::max(maxt, b->meta().max_time);
      }
    }
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    meta.level = 1;
    for (const auto& b : sources) meta.level = std::max(meta.level, b->meta().level + 1);
    // Unique name: with out-of-order blocks a window's merged block may have the range of one of
    // its sources.
    BlockWriter writer(dir_, meta, options_.block_format_version, /*unique_name=*/true);
    if (CanCopyChunks(sources, options_.block_format_version)) {
      ORIEL_RETURN_IF_ERROR(CopyStoredSeries(sources, writer));
    } else {
      std::vector<std::unique_ptr<SeriesSet>> sets;
      for (const auto& b : sources) sets.push_back(b->Select(mint, maxt, {}));
      MergeSeriesSet merged(std::move(sets));
      ORIEL_RETURN_IF_ERROR(
          WriteSeriesSet(merged, mint, maxt, options_.head.samples_per_chunk, writer));
    }
    ORIEL_ASSIGN_OR_RETURN(std::string path, writer.Finish());
    ORIEL_ASSIGN_OR_RETURN(std::shared_ptr<BlockReader> block,
                           BlockReader::Open(path, page_cache_));
    {
      std::lock_guard lock(blocks_mu_);
      std::erase_if(blocks_, [&](const auto& b) {
        return std::find(sources.begin(), sources.end(), b) != sources.end();
      });
      blocks_.push_back(std::move(block));
      std::sort(blocks_.begin(), blocks_.end(), [](const auto& a, const auto& b) {
        return a->meta().min_time < b->meta().min_time;
      });
    }
    metrics_->compactions.Inc();
    log::Info("compacted metrics blocks",
              {{"block", path}, {"sources", static_cast<int64_t>(sources.size())}});
    for (const auto& b : sources) ORIEL_RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
    UpdateBlockMetrics();
  }
}

void DB::BackgroundLoop() {
  std::unique_lock lock(bg_mu_);
  while (!stop_) {
    bg_cv_.wait_for(lock, std::chrono::minutes(1), [this] { return stop_ || kick_; });
    if (stop_) break;
    kick_ = false;
    lock.unlock();
    absl::Status st = Maintain();
    lock.lock();
    if (!st.ok()) {
      log::Error("cannot maintain metrics blocks", {{"err", st}});
      // Writes kick the loop constantly; a persistent failure (disk full) must not spin.
      bg_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return stop_; });
    }
  }
}

}  // namespace oriel::tsdb
