// Writing blocks: a set of series with their compressed chunks becomes an immutable block
// directory, atomically (written under a temporary name, fsync'd, then renamed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/labels.h"
#include "model/sample.h"
#include "tsdb/block.h"
#include "tsdb/metrics_store.h"

namespace oriel::tsdb {

struct BlockChunk {
  // kChunkXor or kChunkHistogram; kChunkDelta for a chunk copied as stored from a block of the
  // version being written (compaction), written as is.
  uint8_t encoding = kChunkXor;
  int num_samples = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  std::string bytes;  // the XorChunk / HistogramChunk / delta chunk bytes
  // A float chunk may come decoded instead (`bytes` empty, encoding kChunkXor): the block's
  // own encoding is made from the samples, without an XOR round trip.
  std::vector<model::Sample> samples;
};

struct BlockSeries {
  model::Labels labels;
  std::vector<BlockChunk> chunks;  // ascending, non-overlapping
};

// Writes a block series by series, so that memory holds the block's compressed chunks and index
// entries, never the samples of every series at once (compacting a big head decoded them all).
// Nothing appears on disk before Finish. Not thread-safe; after an error the writer is unusable.
class BlockWriter {
 public:
  // As WriteBlock's arguments; an unknown `format_version` fails Add and Finish.
  BlockWriter(std::string parent_dir, BlockMeta meta, int format_version = kBlockFormatVersion,
              bool unique_name = false);

  // Encodes the chunks of `series` into the block. REQUIRES (else kInvalidArgument): labels
  // after the previous series' in label order; chunks as WriteBlock requires.
  [[nodiscard]] absl::Status Add(const BlockSeries& series);
  size_t num_series() const { return entries_.size(); }
  // Writes the block as WriteBlock does and returns its path.
  [[nodiscard]] absl::StatusOr<std::string> Finish();

 private:
  struct ChunkEntry {
    int64_t min_time;
    int64_t max_time;
    uint64_t ref;
  };
  struct Entry {
    model::Labels labels;
    std::vector<ChunkEntry> chunks;
  };
  [[nodiscard]] absl::Status FlushPage();

  const std::string parent_dir_;
  BlockMeta meta_;
  const int format_version_;
  const bool unique_name_;
  std::vector<Entry> entries_;  // what the index will list, in label order
  // Chunks file: records packed into pages, each page one zstd frame. A chunk's reference is
  // its page number (high 32 bits) and its offset in the uncompressed page (low 32 bits).
  std::string chunks_;
  std::string page_;
  uint64_t page_number_ = 0;
  std::vector<model::Sample> samples_;  // scratch for decoding XOR chunks
};

// Writes `series` (unique label sets, any order) as the block `parent_dir`/BlockDirName(min,
// max) of meta.min_time/max_time/level (the counts are computed). Every chunk must lie in the
// meta's time range. Returns the block's path. Either the whole block appears under its name or
// (after a crash) at most a `.tmp` directory, which the engine removes on open. Fails when the
// block already exists, unless `unique_name`: then a taken name gets the first free suffix
// "-<n>" (blocks of the same time range exist side by side once out-of-order blocks overlap the
// others). `format_version` 1 writes the legacy uncompressed format (kept for comparisons and
// compatibility tests); 2 compresses, 3 also packs integer values (see docs/formats/tsdb_block.md).
[[nodiscard]] absl::StatusOr<std::string> WriteBlock(const std::string& parent_dir, BlockMeta meta,
                                                     std::vector<BlockSeries> series,
                                                     int format_version = kBlockFormatVersion,
                                                     bool unique_name = false);

// Reads every series of `set` and re-chunks its samples within [mint, maxt] into chunks of at
// most `samples_per_chunk` samples (a chunk holds floats or histograms, never both; float chunks
// hold their samples decoded, histogram chunks their bytes). Series without samples in the range
// are left out. Fails with the set's status if it stopped early.
[[nodiscard]] absl::StatusOr<std::vector<BlockSeries>> CollectSeries(SeriesSet& set, int64_t mint,
                                                                     int64_t maxt,
                                                                     int samples_per_chunk);

// Reads every series of `set` (in label order) into `writer`, re-chunked as CollectSeries does,
// one series at a time. Fails with the set's status if it stopped early.
[[nodiscard]] absl::Status WriteSeriesSet(SeriesSet& set, int64_t mint, int64_t maxt,
                                          int samples_per_chunk, BlockWriter& writer);

// Fsyncs a directory (so that renames and new entries in it are durable).
[[nodiscard]] absl::Status SyncDir(const std::string& dir);
// Fsyncs a file's data.
[[nodiscard]] absl::Status SyncFile(const std::string& path);

}  // namespace oriel::tsdb
