// Reading a block: maps its chunks file, loads and validates its index and meta, and answers
// selects over its time range. The files are hostile input: a bad magic, CRC, count, symbol
// reference or chunk reference is a kDataLoss error naming the file and offset, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "tsdb/block.h"
#include "tsdb/head.h"
#include "tsdb/metrics_store.h"
#include "tsdb/postings.h"

namespace oriel::tsdb {

class PageCache;

// Immutable once open, so thread-safe. Series sets it returns share ownership of it, so a block
// deleted by retention stays readable until its last reader finishes (the mapping outlives the
// unlink).
class BlockReader final : public std::enable_shared_from_this<BlockReader> {
 public:
  // `cache` (optional) keeps decompressed pages across queries, shared with other blocks; the
  // reader keeps it alive (readers may outlive the DB's list of blocks).
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<BlockReader>> Open(
      const std::string& dir, std::shared_ptr<PageCache> cache = nullptr);
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  // Bytes of the block's files.
  uint64_t SizeBytes() const { return size_bytes_; }
  bool Overlaps(int64_t mint, int64_t maxt) const {
    return meta_.min_time <= maxt && mint <= meta_.max_time;
  }

  // Series matching `matchers` (all series if empty) with samples in [mint, maxt], in label
  // order. The series' iterators read and decode the chunks (so that a caller may run them on
  // several threads): a chunk whose CRC does not match or that cannot be decoded ends its
  // series' samples and stops the set with a kDataLoss status(), which callers check after
  // reading the samples.
  std::unique_ptr<SeriesSet> Select(int64_t mint, int64_t maxt,
                                    std::span<const model::Matcher> matchers) const;
  std::vector<std::string> LabelNames(int64_t mint, int64_t maxt,
                                      std::span<const model::Matcher> matchers) const;
  std::vector<std::string> LabelValues(std::string_view name, int64_t mint, int64_t maxt,
                                       std::span<const model::Matcher> matchers) const;

  struct ChunkMeta {
    int64_t min_time;
    int64_t max_time;
    uint64_t ref;  // offset in the chunks file
  };
  struct Series {
    model::Labels labels;
    std::vector<ChunkMeta> chunks;
  };
  // Copies the chunks of series `id` overlapping [mint, maxt], checking their CRCs; nullopt
  // when none overlaps.
  [[nodiscard]] absl::StatusOr<std::optional<SeriesSnapshot>> Snapshot(uint32_t id, int64_t mint,
                                                                       int64_t maxt) const;

  // A chunk as stored, CRC checked but still encoded: `data` views the mapped file (version 1,
  // valid while the reader lives) or `page`, which the chunk keeps alive (version 2).
  struct StoredChunk {
    uint64_t ref = 0;
    uint8_t encoding = 0;
    int num_samples = 0;
    int64_t min_time = 0;
    int64_t max_time = 0;
    std::string_view data;
    std::shared_ptr<const std::string> page;
  };
  // Appends the stored chunks of series `id` overlapping [mint, maxt] to `out` (what bulk reads
  // decode straight into their output); kDataLoss when a CRC or a record is bad.
  [[nodiscard]] absl::Status StoredChunks(uint32_t id, int64_t mint, int64_t maxt,
                                          std::vector<StoredChunk>* out) const;
  // Decodes a stored chunk the way snapshots hold it (delta chunks as samples, the others as
  // their bytes); kDataLoss naming the chunk when it is malformed.
  [[nodiscard]] absl::Status DecodeChunk(const StoredChunk& c, SeriesSnapshot::Chunk* out) const;
  // Ids (== label order) of the series matching `matchers` with a chunk overlapping the range.
  std::vector<uint32_t> SeriesIds(int64_t mint, int64_t maxt,
                                  std::span<const model::Matcher> matchers) const;
  const Series& series(uint32_t id) const { return series_[id]; }

 private:
  BlockReader() = default;
  [[nodiscard]] absl::Status LoadIndex(std::string_view data);
  // `body`: the index between magic and CRC (decompressed for version 2); `base` is added to
  // offsets in errors.
  [[nodiscard]] absl::Status ParseIndexBody(std::string_view body, size_t base);
  [[nodiscard]] absl::Status LoadPages();
  [[nodiscard]] absl::Status CheckChunkRef(uint64_t ref) const;
  // The uncompressed page `n` of a version 2 chunks file (CRC checked), from a small cache.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const std::string>> Page(size_t n) const;
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const std::string>> DecompressPage(size_t n) const;
  // Locates chunk `c` (reading its page) and checks its CRC.
  [[nodiscard]] absl::Status LocateChunk(const ChunkMeta& c, StoredChunk* out) const;

  std::string dir_;
  BlockMeta meta_;
  uint64_t size_bytes_ = 0;
  const char* chunks_ = nullptr;  // mmap of the chunks file
  size_t chunks_size_ = 0;
  bool paged_ = false;  // a version 2 chunks file
  struct PageRef {
    size_t offset;  // of the zstd frame in the file
    size_t compressed_size;
    uint64_t size;  // uncompressed
  };
  std::vector<PageRef> pages_;
  // Recently used uncompressed pages, most recent first: selects read series in id order, so
  // consecutive chunks mostly share a page, and each page of a select is decompressed once (a
  // reader decoding on two threads walks two page sequences, which fit too).
  static constexpr size_t kPageCacheSize = 4;
  mutable std::mutex cache_mu_;
  mutable std::vector<std::pair<size_t, std::shared_ptr<const std::string>>> page_cache_;
  // Behind the small cache above: pages kept across selects.
  std::shared_ptr<PageCache> shared_cache_;
  uint64_t cache_owner_ = 0;
  std::vector<Series> series_;
  PostingsIndex postings_;
};

}  // namespace oriel::tsdb
