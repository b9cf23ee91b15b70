// Immutable on-disk trace segments: the spans of one head cut, as complete traces sorted by trace
// id in zstd-compressed columnar blocks (segment_block.h), followed by an index that stays in
// memory: the trace ids (8-byte prefixes) with their block, and per block the time range and the
// services it holds with their start-time ranges, plus the segment's operations. Everything
// else is read from the file (pread) when a query needs that block. Format:
// docs/formats/trace_segment.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tracestore/segment_block.h"
#include "tracestore/stored_span.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

inline constexpr std::string_view kSegmentMagic = "ORTSEGv1";
// Index version 2: blocks are framed as compressed sections (see CompressBlock); version 1
// (still read): a block is one zstd frame.
inline constexpr uint64_t kSegmentIndexVersion = 2;
// Footer: index offset (fixed64), index length (fixed64), index CRC32C (fixed32), magic.
inline constexpr size_t kSegmentFooterBytes = 8 + 8 + 4 + kSegmentMagic.size();

struct SegmentBlockInfo {
  struct ServiceRange {
    uint32_t service = 0;  // index into Segment::services()
    int64_t min_start = 0;
    int64_t max_start = 0;
  };
  uint64_t offset = 0;  // of the zstd frame in the file
  uint64_t length = 0;
  uint32_t crc = 0;  // CRC32C of the frame
  uint64_t traces = 0;
  uint64_t spans = 0;
  int64_t min_start = 0;
  int64_t max_start = 0;
  int64_t max_end = 0;
  std::vector<ServiceRange> services;
};

struct SegmentOperation {
  uint32_t service = 0;
  std::string name;
  int32_t kind = 0;
  uint64_t spans = 0;
};

// Writes one segment: blocks go to `<path>.tmp` as they fill, Finish writes the index, fsyncs,
// renames the file to `path` and fsyncs the directory, so `path` exists only when complete and
// durable. Destroying an unfinished writer removes the temporary file. Not thread-safe.
class SegmentWriter {
 public:
  struct Options {
    size_t block_bytes = 1 << 20;  // uncompressed body size at which a block is closed
    int zstd_level = 3;
  };
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentWriter>> Create(
      const std::string& path, uint64_t wal_checkpoint, Options options);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Encodes one complete trace (in memory), as BlockEncoder::AddTrace. REQUIRES: trace ids
  // ascending across calls.
  void AddTrace(std::string_view trace_id, std::span<const HeadSpan* const> spans);
  bool BlockFull() const { return encoder_.ApproximateBytes() >= options_.block_bytes; }
  // Compresses and writes the block built so far (no-op when empty).
  [[nodiscard]] absl::Status CloseBlock();
  [[nodiscard]] absl::Status Finish();
  uint64_t spans() const { return spans_; }

 private:
  SegmentWriter(std::string path, int fd, uint64_t wal_checkpoint, Options options);
  [[nodiscard]] absl::Status WriteAll(std::string_view bytes);

  const std::string path_;
  const std::string tmp_path_;
  int fd_;
  const uint64_t wal_checkpoint_;
  const Options options_;
  uint64_t offset_ = 0;
  uint64_t spans_ = 0;
  bool finished_ = false;
  BlockEncoder encoder_;
  // The body and frame of the block being closed, kept for their capacity.
  std::string body_;
  std::string frame_;
  std::vector<size_t> sections_;
  SegmentBlockInfo block_;                                // summary of the block being built
  absl::flat_hash_map<uint32_t, size_t> block_services_;  // service -> index in block_.services
  std::vector<SegmentBlockInfo> blocks_;
  std::vector<std::string> services_;
  absl::flat_hash_map<std::string, uint32_t> service_index_;
  std::map<std::tuple<uint32_t, std::string, int32_t>, uint64_t> operations_;
  std::vector<std::pair<uint64_t, uint32_t>> trace_index_;  // (id prefix, block)
};

// An open segment. Thread-safe: reads use pread on a file descriptor owned by the segment.
class Segment {
 public:
  // Opens and checks the footer and index of the file; kDataLoss naming the file when it is
  // truncated or corrupt. Blocks are checked (CRC32C) when read.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<Segment>> Open(const std::string& path);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const std::string& path() const { return path_; }
  // Every WAL record in WAL segments below this one is in this segment (or was dropped).
  uint64_t wal_checkpoint() const { return wal_checkpoint_; }
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t spans() const { return spans_; }
  uint64_t traces() const { return trace_prefixes_.size(); }
  int64_t min_start() const { return min_start_; }
  int64_t max_end() const { return max_end_; }
  const std::vector<std::string>& services() const { return services_; }
  const std::vector<SegmentOperation>& operations() const { return operations_; }
  const std::vector<SegmentBlockInfo>& blocks() const { return blocks_; }

  // The spans of the trace (empty when the segment has none); kDataLoss for a corrupt block.
  [[nodiscard]] absl::StatusOr<std::vector<StoredSpan>> ReadTrace(std::string_view trace_id) const;
  // Decodes a block (all its traces, or just `only`).
  [[nodiscard]] absl::StatusOr<std::vector<DecodedTrace>> ReadBlock(
      size_t block, std::optional<std::string_view> only = std::nullopt,
      const SpanFilter* filter = nullptr) const;

  // Whether a span named `operation` of `service` (with `span_kind`, when set) is here, from the
  // index's operation list: a search for an operation a segment lacks reads none of its blocks.
  bool HasOperation(std::string_view service, std::string_view operation,
                    std::optional<int32_t> span_kind = std::nullopt) const;

  // The newest start of a span of `service` here, if it has any.
  std::optional<int64_t> NewestStart(std::string_view service) const;

  // Up to `limit` traces of this segment matching `query` (see TraceDB::FindTraces), as (newest
  // span start of query.service in the trace, trace id), newest first. Only blocks that hold
  // the service in the time range are read, and of them only the spans of the service that
  // pass the column conditions (operation, kind, times, and the tags as far as the columns
  // tell, see SpanColumnsMayMatchTags) are materialized to check the tags.
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> Find(
      const TraceQuery& query, size_t limit) const;

  // Adds the service calls of spans ending in (after, end] (see TraceDB::Dependencies) within
  // this segment's traces.
  [[nodiscard]] absl::Status AddDependencies(
      int64_t after, int64_t end,
      std::map<std::pair<std::string, std::string>, int64_t>* counts) const;

 private:
  Segment(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  [[nodiscard]] absl::Status ParseIndex(std::string_view index);

  const std::string path_;
  const int fd_;
  uint64_t file_bytes_ = 0;
  uint64_t wal_checkpoint_ = 0;
  uint64_t spans_ = 0;
  int64_t min_start_ = 0;
  int64_t max_end_ = 0;
  std::vector<std::string> services_;
  std::vector<SegmentOperation> operations_;
  std::vector<SegmentBlockInfo> blocks_;
  uint64_t index_version_ = 0;
  std::vector<uint64_t> trace_prefixes_;  // sorted
  std::vector<uint32_t> trace_blocks_;    // block of each prefix
};

// The on-disk frame of a block body in index version 2: the body cut at `section_ends` (from
// BlockEncoder::Finish; adjacent small parts are merged), each part compressed on its own so
// that zstd codes each column with statistics of its own. Layout in
// docs/formats/trace_segment.md.
[[nodiscard]] absl::StatusOr<std::string> CompressBlock(std::string_view body,
                                                        std::span<const size_t> section_ends,
                                                        int level);
// As CompressBlock, into `frame` (replacing its contents, reusing its capacity), with a zstd
// context kept per thread: a fresh one per block cost its tables' allocation and zeroing.
[[nodiscard]] absl::Status CompressBlockInto(std::string_view body,
                                             std::span<const size_t> section_ends, int level,
                                             std::string* frame);
// The body of such a frame; kDataLoss when it is corrupt or its body exceeds `max_body_bytes`.
[[nodiscard]] absl::StatusOr<std::string> DecompressBlock(std::string_view frame,
                                                          uint64_t max_body_bytes);

// The first 8 bytes of a trace id as a big-endian number: sorting by it sorts by trace id.
uint64_t TraceIdPrefix(std::string_view trace_id);

}  // namespace oriel::tracestore
