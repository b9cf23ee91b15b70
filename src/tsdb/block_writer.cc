#include "tsdb/block_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "base/status.h"
#include "storage/crc32c.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/encoding.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/xor_chunk.h"
#include "tsdb/zstd_codec.h"

namespace oriel::tsdb {
namespace {

// Blocks are written in the background and read many times: favour size over write speed.
constexpr int kZstdLevel = 9;

absl::Status WriteFileSynced(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return absl::UnavailableError(fmt::format("cannot write {}: {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(fmt::format("cannot fsync {}: {}", path, std::strerror(err)));
  }
  ::close(fd);
  return absl::OkStatus();
}

// Interns label names and values; ids follow sorted order.
class Symbols {
 public:
  void Add(std::string_view s) {
    if (ids_.find(s) == ids_.end()) ids_.emplace(s, 0);
  }
  void Finish() {
    uint64_t id = 0;
    for (auto& [s, i] : ids_) i = id++;
  }
  uint64_t Id(std::string_view s) const { return ids_.find(s)->second; }
  const std::map<std::string, uint64_t, std::less<>>& all() const { return ids_; }

 private:
  std::map<std::string, uint64_t, std::less<>> ids_;
};

}  // namespace

absl::Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(fmt::format("cannot fsync {}: {}", path, std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(fmt::format("cannot open {}: {}", dir, std::strerror(errno)));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(fmt::format("cannot fsync {}: {}", dir, std::strerror(err)));
  }
  return absl::OkStatus();
}

BlockWriter::BlockWriter(std::string parent_dir, BlockMeta meta, int format_version,
                         bool unique_name)
    : parent_dir_(std::move(parent_dir)),
      meta_(meta),
      format_version_(format_version),
      unique_name_(unique_name) {
  const bool v1 = format_version_ == 1;
  chunks_ = v1 ? kChunksMagic : format_version_ == 2 ? kChunksMagicV2 : kChunksMagicV3;
  meta_.num_series = 0;
  meta_.num_chunks = 0;
  meta_.num_samples = 0;
  meta_.version = format_version_;
}

absl::Status BlockWriter::FlushPage() {
  if (page_.empty()) return absl::OkStatus();
  ORIEL_ASSIGN_OR_RETURN(std::string frame, ZstdCompress(page_, kZstdLevel));
  PutUvarint(chunks_, page_.size());
  PutUvarint(chunks_, frame.size());
  chunks_ += frame;
  PutFixed32(chunks_, storage::Crc32c(frame));
  page_.clear();
  ++page_number_;
  return absl::OkStatus();
}

absl::Status BlockWriter::Add(const BlockSeries& series) {
  if (format_version_ < 1 || format_version_ > kBlockFormatVersion) {
    return absl::InvalidArgumentError(
        fmt::format("cannot write block: unknown format version {}", format_version_));
  }
  if (!entries_.empty() && !(entries_.back().labels < series.labels)) {
    return absl::InvalidArgumentError(fmt::format(
        "cannot write block: series {} {}", series.labels.ToString(),
        series.labels == entries_.back().labels ? "appears twice" : "is out of label order"));
  }
  if (entries_.size() >= UINT32_MAX) {
    return absl::InvalidArgumentError("cannot write block: too many series");
  }
  const bool v1 = format_version_ == 1;
  Entry& entry = entries_.emplace_back();
  entry.labels = series.labels;
  int64_t prev_max = INT64_MIN;
  for (const BlockChunk& c : series.chunks) {
    if (c.min_time < meta_.min_time || c.max_time > meta_.max_time || c.min_time > c.max_time ||
        c.num_samples <= 0 || (prev_max != INT64_MIN && c.min_time <= prev_max) ||
        (c.encoding != kChunkXor && c.encoding != kChunkHistogram &&
         !(c.encoding == kChunkDelta && format_version_ == kBlockFormatVersion)) ||
        (!c.samples.empty() &&
         (c.encoding != kChunkXor || c.samples.size() != static_cast<size_t>(c.num_samples)))) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot write block [{}, {}]: chunk [{}, {}] of series {} is out of range, out of "
          "order or malformed",
          meta_.min_time, meta_.max_time, c.min_time, c.max_time, series.labels.ToString()));
    }
    prev_max = c.max_time;
    entry.chunks.push_back({c.min_time, c.max_time, 0});
    if (v1) {
      std::string_view bytes = c.bytes;
      std::optional<XorChunk> xc;
      if (!c.samples.empty()) {
        xc.emplace();
        for (const model::Sample& s : c.samples) xc->Append(s.timestamp_ms, s.value);
        bytes = xc->bytes();
      }
      entry.chunks.back().ref = chunks_.size();
      size_t start = chunks_.size();
      chunks_.push_back(static_cast<char>(c.encoding));
      PutUvarint(chunks_, static_cast<uint64_t>(c.num_samples));
      PutString(chunks_, bytes);
      PutFixed32(chunks_, storage::Crc32c(std::string_view(chunks_).substr(start)));
      ++meta_.num_chunks;
      meta_.num_samples += static_cast<uint64_t>(c.num_samples);
      continue;
    }
    uint8_t encoding = c.encoding;
    std::string delta;
    if (c.encoding == kChunkXor) {
      std::span<const model::Sample> decoded = c.samples;
      if (decoded.empty()) {
        samples_.clear();
        XorIterator it(c.bytes, c.num_samples);
        while (it.Next()) samples_.push_back({it.t(), it.v()});
        if (!it.status().ok() || samples_.size() != static_cast<size_t>(c.num_samples)) {
          return absl::InvalidArgumentError(
              fmt::format("cannot write block: chunk [{}, {}] of series {} does not decode",
                          c.min_time, c.max_time, series.labels.ToString()));
        }
        decoded = samples_;
      }
      delta = EncodeDeltaChunk(
          decoded, format_version_ == 2 ? DeltaLayout::kBytePlanes : DeltaLayout::kPacked);
      encoding = kChunkDelta;
    }
    if (page_.size() >= kChunkPageSize) ORIEL_RETURN_IF_ERROR(FlushPage());
    entry.chunks.back().ref = page_number_ << 32 | page_.size();
    page_.push_back(static_cast<char>(encoding));
    PutUvarint(page_, static_cast<uint64_t>(c.num_samples));
    PutString(page_, c.encoding == kChunkXor ? std::string_view(delta) : std::string_view(c.bytes));
    if (page_.size() > UINT32_MAX) {
      return absl::InvalidArgumentError("cannot write block: a chunk exceeds 4 GiB");
    }
    ++meta_.num_chunks;
    meta_.num_samples += static_cast<uint64_t>(c.num_samples);
  }
  ++meta_.num_series;
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlockWriter::Finish() {
  if (format_version_ < 1 || format_version_ > kBlockFormatVersion) {
    return absl::InvalidArgumentError(
        fmt::format("cannot write block: unknown format version {}", format_version_));
  }
  const bool v1 = format_version_ == 1;
  if (!v1) ORIEL_RETURN_IF_ERROR(FlushPage());

  // Index: symbols, series, postings, then a CRC32C of everything before it.
  Symbols symbols;
  std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> postings;
  for (size_t i = 0; i < entries_.size(); ++i) {
    for (const model::LabelRef& l : entries_[i].labels) {
      symbols.Add(l.name);
      symbols.Add(l.value);
      postings[{std::string(l.name), std::string(l.value)}].push_back(static_cast<uint32_t>(i));
    }
  }
  symbols.Finish();
  std::string index;
  PutUvarint(index, symbols.all().size());
  for (const auto& [s, id] : symbols.all()) PutString(index, s);
  PutUvarint(index, entries_.size());
  // Version 3: references as differences to the previous chunk's (chunks are written in index
  // order, so they grow: a difference is about a record's size, a byte or two).
  const bool delta_refs = format_version_ >= 3;
  uint64_t previous_ref = 0;
  for (const Entry& e : entries_) {
    PutUvarint(index, e.labels.size());
    for (const model::LabelRef& l : e.labels) {
      PutUvarint(index, symbols.Id(l.name));
      PutUvarint(index, symbols.Id(l.value));
    }
    PutUvarint(index, e.chunks.size());
    for (const ChunkEntry& c : e.chunks) {
      PutVarint(index, c.min_time);
      PutUvarint(index, static_cast<uint64_t>(c.max_time) - static_cast<uint64_t>(c.min_time));
      PutUvarint(index, delta_refs ? c.ref - previous_ref : c.ref);
      previous_ref = c.ref;
    }
  }
  PutUvarint(index, postings.size());
  for (const auto& [pair, ids] : postings) {
    PutUvarint(index, symbols.Id(pair.first));
    PutUvarint(index, symbols.Id(pair.second));
    PutUvarint(index, ids.size());
    uint32_t prev = 0;
    for (uint32_t id : ids) {
      PutUvarint(index, id - prev);
      prev = id;
    }
  }
  if (v1) {
    index.insert(0, kIndexMagic);
  } else {
    // Stored as one zstd frame: symbols, label ids and chunk references compress well.
    ORIEL_ASSIGN_OR_RETURN(std::string frame, ZstdCompress(index, kZstdLevel));
    std::string body = std::move(index);
    index.assign(format_version_ == 2 ? kIndexMagicV2 : kIndexMagicV3);
    PutUvarint(index, body.size());
    index += frame;
  }
  PutFixed32(index, storage::Crc32c(index));

  const std::string base_dir = parent_dir_ + "/" + BlockDirName(meta_.min_time, meta_.max_time);
  std::string final_dir = base_dir;
  std::error_code ec;
  for (int n = 1; unique_name_ && n < 10000 && std::filesystem::exists(final_dir, ec); ++n) {
    final_dir = fmt::format("{}-{}", base_dir, n);
  }
  std::string tmp_dir = final_dir + std::string(kBlockTmpSuffix);
  if (std::filesystem::exists(final_dir, ec)) {
    return absl::AlreadyExistsError(fmt::format("cannot write block {}: it exists", final_dir));
  }
  std::filesystem::remove_all(tmp_dir, ec);
  std::filesystem::create_directories(tmp_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot create block directory {}: {}", tmp_dir, ec.message()));
  }
  ORIEL_RETURN_IF_ERROR(WriteFileSynced(tmp_dir + "/" + std::string(kBlockChunksFile), chunks_));
  ORIEL_RETURN_IF_ERROR(WriteFileSynced(tmp_dir + "/" + std::string(kBlockIndexFile), index));
  ORIEL_RETURN_IF_ERROR(
      WriteFileSynced(tmp_dir + "/" + std::string(kBlockMetaFile), EncodeBlockMeta(meta_)));
  ORIEL_RETURN_IF_ERROR(SyncDir(tmp_dir));
  std::filesystem::rename(tmp_dir, final_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot rename block {} to {}: {}", tmp_dir, final_dir, ec.message()));
  }
  ORIEL_RETURN_IF_ERROR(SyncDir(parent_dir_));
  return final_dir;
}

absl::StatusOr<std::string> WriteBlock(const std::string& parent_dir, BlockMeta meta,
                                       std::vector<BlockSeries> series, int format_version,
                                       bool unique_name) {
  std::sort(series.begin(), series.end(),
            [](const BlockSeries& a, const BlockSeries& b) { return a.labels < b.labels; });
  BlockWriter writer(parent_dir, meta, format_version, unique_name);
  for (const BlockSeries& s : series) ORIEL_RETURN_IF_ERROR(writer.Add(s));
  return writer.Finish();
}

namespace {

// The next series of `set` with samples in [mint, maxt], re-chunked (see CollectSeries) into
// `bs`; false when the set has no more.
bool CollectNext(SeriesSet& set, int64_t mint, int64_t maxt, int samples_per_chunk,
                 BlockSeries* bs) {
  while (set.Next()) {
    bs->labels = set.labels();
    bs->chunks.clear();
    std::unique_ptr<SampleIterator> it = set.Samples();
    // Floats stay decoded: the block writer encodes them its own way.
    std::vector<model::Sample> floats;
    std::optional<HistogramChunk> hc;
    auto flush = [&] {
      if (!floats.empty()) {
        BlockChunk& c = bs->chunks.emplace_back();
        c.encoding = kChunkXor;
        c.num_samples = static_cast<int>(floats.size());
        c.min_time = floats.front().timestamp_ms;
        c.max_time = floats.back().timestamp_ms;
        c.samples = std::move(floats);
        floats = {};
        floats.reserve(static_cast<size_t>(samples_per_chunk));
      }
      if (hc.has_value() && hc->num_samples() > 0) {
        bs->chunks.push_back({kChunkHistogram,
                              hc->num_samples(),
                              hc->min_time(),
                              hc->max_time(),
                              std::string(hc->bytes()),
                              {}});
      }
      hc.reset();
    };
    for (auto vt = it->Seek(mint); vt != SampleIterator::ValueType::kNone; vt = it->Next()) {
      int64_t t = it->AtTime();
      if (t > maxt) break;
      if (vt == SampleIterator::ValueType::kFloat) {
        if (hc.has_value() || floats.size() >= static_cast<size_t>(samples_per_chunk)) flush();
        floats.push_back({t, it->AtFloat()});
      } else {
        if (!floats.empty() || (hc.has_value() && hc->num_samples() >= samples_per_chunk)) flush();
        if (!hc.has_value()) hc.emplace();
        hc->Append(it->AtHistogram());
      }
    }
    flush();
    if (!bs->chunks.empty()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::vector<BlockSeries>> CollectSeries(SeriesSet& set, int64_t mint, int64_t maxt,
                                                       int samples_per_chunk) {
  std::vector<BlockSeries> out;
  BlockSeries bs;
  while (CollectNext(set, mint, maxt, samples_per_chunk, &bs)) out.push_back(std::move(bs));
  ORIEL_RETURN_IF_ERROR(set.status());
  return out;
}

absl::Status WriteSeriesSet(SeriesSet& set, int64_t mint, int64_t maxt, int samples_per_chunk,
                            BlockWriter& writer) {
  BlockSeries bs;
  while (CollectNext(set, mint, maxt, samples_per_chunk, &bs)) {
    ORIEL_RETURN_IF_ERROR(writer.Add(bs));
  }
  return set.status();
}

}  // namespace oriel::tsdb
