// The on-disk block of the metrics engine: an immutable directory holding the samples of one time
// range (see docs/formats/tsdb_block.md for the byte layout). This header holds what the writer
// and the reader share: the meta data, the file names and the chunk encodings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::tsdb {

inline constexpr std::string_view kBlockChunksFile = "chunks";
inline constexpr std::string_view kBlockIndexFile = "index";
inline constexpr std::string_view kBlockMetaFile = "meta.json";
// A directory being written or deleted carries one of these suffixes; Open removes them.
inline constexpr std::string_view kBlockTmpSuffix = ".tmp";
inline constexpr std::string_view kBlockDeletingSuffix = ".deleting";

// Version 1: plain chunks file and index. Version 2 (written since): the chunks file is a
// sequence of zstd-compressed pages, the index one zstd frame, and float chunks may use the
// delta encoding. The reader reads both; the magics tell them apart.
inline constexpr std::string_view kChunksMagic = "ORCHK001";
inline constexpr std::string_view kIndexMagic = "ORIDX001";
inline constexpr std::string_view kChunksMagicV2 = "ORCHK002";
inline constexpr std::string_view kIndexMagicV2 = "ORIDX002";
// Version 3: as version 2, and delta chunks may lay their values out packed (delta_chunk.h).
inline constexpr std::string_view kChunksMagicV3 = "ORCHK003";
inline constexpr std::string_view kIndexMagicV3 = "ORIDX003";
inline constexpr int kBlockFormatVersion = 3;
// Uncompressed bytes of chunk records per page of a version 2 chunks file (a page holds at
// least one record, so a bigger record makes a bigger page).
inline constexpr size_t kChunkPageSize = 64 * 1024;
// Upper bound of a page's or the index's uncompressed size the reader accepts.
inline constexpr uint64_t kMaxDecompressedSize = uint64_t{1} << 32;

// Chunk encodings in the chunks file.
inline constexpr uint8_t kChunkXor = 1;
inline constexpr uint8_t kChunkHistogram = 2;
inline constexpr uint8_t kChunkDelta = 3;  // versions 2 and 3; see delta_chunk.h

// What meta.json says. The time range is inclusive and is the range the block was cut for: every
// sample of the block lies in it.
struct BlockMeta {
  int version = kBlockFormatVersion;
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;
  uint64_t num_samples = 0;
  // How many compactions produced the block (1: cut from the head).
  int level = 1;
  // Holds out-of-order samples that came after their time range was already cut into blocks: it
  // overlaps in time the blocks cut from the head, so it is never taken for the leftover source
  // of a compaction. Written to meta.json only when set.
  bool out_of_order = false;
};

std::string EncodeBlockMeta(const BlockMeta& meta);
// Parses what EncodeBlockMeta writes: a flat JSON object of integer fields (unknown fields are
// ignored; missing or malformed ones are errors).
[[nodiscard]] absl::StatusOr<BlockMeta> ParseBlockMeta(std::string_view json);

// The directory name of a block for a time range: sorts by min time for non-negative times.
std::string BlockDirName(int64_t min_time, int64_t max_time);

// Little-endian fixed-width helpers of the block files.
void PutFixed32(std::string& out, uint32_t v);
uint32_t DecodeFixed32(const char* p);

}  // namespace oriel::tsdb
