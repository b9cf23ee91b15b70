#include "tracestore/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/status.h"
#include "fmt/format.h"
#include "storage/crc32c.h"
#include "tracestore/span_match.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {
namespace {

// A decompressed block larger than this is corrupt: writers close blocks far below it.
constexpr uint64_t kMaxBlockBodyBytes = 256 << 20;

absl::Status OsError(int err, std::string_view verb, std::string_view path) {
  return absl::UnavailableError(fmt::format("cannot {} {}: {}", verb, path, std::strerror(err)));
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

namespace {

// Parts smaller than this are merged with the next: a zstd frame costs a header, and very small
// inputs compress poorly alone.
constexpr size_t kMinSectionBytes = 4096;

}  // namespace

// Per thread, for block writes: the zstd context, whose tables a level-6 compression would
// otherwise allocate and zero per block, and the output buffer of one section.
struct CompressBuffers {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx{ZSTD_createCCtx(), ZSTD_freeCCtx};
  std::string scratch;  // grown, never shrunk within a flush: resizing zeroes the new bytes
};

absl::Status CompressBlockInto(std::string_view body, std::span<const size_t> section_ends,
                               int level, std::string* frame_out) {
  std::vector<size_t> ends;
  size_t begin = 0;
  for (size_t end : section_ends) {
    if (end > body.size() || end < begin) {
      return absl::InternalError(fmt::format(
          "cannot compress trace segment block: section end {} is outside the body", end));
    }
    if (end - begin >= kMinSectionBytes) {
      ends.push_back(end);
      begin = end;
    }
  }
  if (begin < body.size() || ends.empty()) ends.push_back(body.size());
  thread_local CompressBuffers buffers;
  if (buffers.ctx == nullptr) return absl::ResourceExhaustedError("cannot allocate a zstd context");
  std::string& frame = *frame_out;
  frame.clear();
  PutVarint64(frame, ends.size());
  std::string& scratch = buffers.scratch;
  begin = 0;
  for (size_t end : ends) {
    const std::string_view part = body.substr(begin, end - begin);
    begin = end;
    const size_t bound = ZSTD_compressBound(part.size());
    if (scratch.size() < bound) scratch.resize(bound);
    const size_t n = ZSTD_compressCCtx(buffers.ctx.get(), scratch.data(), bound, part.data(),
                                       part.size(), level);
    if (ZSTD_isError(n)) {
      return absl::InternalError(
          fmt::format("cannot compress trace segment block: {}", ZSTD_getErrorName(n)));
    }
    // Per section: body bytes, then stored bytes * 2 + 1 when compressed (+ 0 when stored as is).
    PutVarint64(frame, part.size());
    if (n < part.size()) {
      PutVarint64(frame, uint64_t{n} * 2 + 1);
      frame.append(scratch.data(), n);
    } else {
      PutVarint64(frame, uint64_t{part.size()} * 2);
      frame.append(part);
    }
  }
  // A rare huge block would otherwise pin its buffer for the thread's life.
  if (scratch.size() > (8u << 20)) std::string().swap(scratch);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CompressBlock(std::string_view body,
                                          std::span<const size_t> section_ends, int level) {
  std::string frame;
  ORIEL_RETURN_IF_ERROR(CompressBlockInto(body, section_ends, level, &frame));
  return frame;
}

namespace {

// For block reads: a lookup reads a frame of a few hundred KiB and decompresses about 1 MiB.
// Fresh buffers would be zeroed, faulted in and handed back to the OS (madvise, a TLB shootdown
// across cores) on every read, and a fresh zstd context allocated.
struct BlockBuffers {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx{ZSTD_createDCtx(), ZSTD_freeDCtx};
  std::string frame;
  std::string body;

  // A rare huge block would otherwise pin its buffers for the process's life.
  void Trim() {
    constexpr size_t kKeepBytes = 8 << 20;
    if (frame.size() > kKeepBytes) std::string().swap(frame);
    if (body.size() > kKeepBytes) std::string().swap(body);
  }
};

// The warm BlockBuffers, shared by every reading thread. They were per thread: each of the HTTP
// server's 8 workers then faulted in its own ~1.5 MiB on its first lookups (about 8 us a page on
// the benchmark VM: about 5 ms more on each of those lookups, which were the slowest of 200
// sequential GET /api/traces/{id}). From a pool, sequential lookups reuse one warm set whatever
// thread serves them; concurrent ones take more.
class BlockBufferPool {
 public:
  // Process-wide, never destroyed: segments of every store read through it.
  static BlockBufferPool& Get() {
    static BlockBufferPool* const pool = new BlockBufferPool();
    return *pool;
  }

  // A set of buffers, returned to the pool when the lease ends.
  class Lease {
   public:
    explicit Lease(BlockBufferPool& pool) : pool_(pool), buffers_(pool.Take()) {}
    ~Lease() { pool_.Return(std::move(buffers_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    BlockBuffers& operator*() const { return *buffers_; }

   private:
    BlockBufferPool& pool_;
    std::unique_ptr<BlockBuffers> buffers_;
  };

 private:
  // Sets kept idle at most: concurrent reads beyond them allocate and free their own.
  static constexpr size_t kMaxIdle = 4;

  std::unique_ptr<BlockBuffers> Take() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        std::unique_ptr<BlockBuffers> b = std::move(idle_.back());
        idle_.pop_back();
        return b;
      }
    }
    return std::make_unique<BlockBuffers>();
  }
  void Return(std::unique_ptr<BlockBuffers> b) {
    b->Trim();
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(b));
  }

  absl::Mutex mu_;
  std::vector<std::unique_ptr<BlockBuffers>> idle_ ABSL_GUARDED_BY(mu_);
};

// DecompressBlock into `*buffer`, which is grown as needed and never shrunk (so not zeroed
// again): the body is its first bytes, as returned.
absl::StatusOr<std::string_view> DecompressBlockInto(std::string_view frame,
                                                     uint64_t max_body_bytes, ZSTD_DCtx* ctx,
                                                     std::string* buffer) {
  auto corrupt = [](std::string_view why) {
    return absl::DataLossError(fmt::format("cannot decompress trace block: {}", why));
  };
  ByteReader in(frame);
  const uint64_t n_sections = in.Varint();
  if (!in.ok() || n_sections > in.remaining()) return corrupt("invalid section count");
  // First the sizes, to allocate the body once.
  struct Section {
    uint64_t size = 0;
    bool compressed = false;
    std::string_view stored;
  };
  std::vector<Section> sections(n_sections);
  uint64_t total = 0;
  for (uint64_t i = 0; i < n_sections; ++i) {
    Section& s = sections[i];
    s.size = in.Varint();
    const uint64_t stored = in.Varint();
    s.compressed = (stored & 1) != 0;
    s.stored = in.Bytes(stored >> 1);
    if (!in.ok()) return corrupt(fmt::format("section {} is truncated", i));
    // The stored size must agree with the zstd frame's: nothing is allocated on a claim alone.
    const uint64_t holds =
        s.compressed ? ZSTD_getFrameContentSize(s.stored.data(), s.stored.size()) : s.stored.size();
    if (holds != s.size) {
      return corrupt(fmt::format("section {} holds {} bytes, not {}", i, holds, s.size));
    }
    if (s.size > max_body_bytes - total) {
      return corrupt(fmt::format("body exceeds {} bytes", max_body_bytes));
    }
    total += s.size;
  }
  if (!in.empty()) return corrupt("trailing bytes");
  if (ctx == nullptr) return absl::ResourceExhaustedError("cannot allocate a zstd context");
  // With a quarter of headroom: blocks differ by a few percent, and each regrowth faults in a
  // fresh copy.
  if (buffer->size() < total) buffer->resize(total + total / 4);
  char* body = buffer->data();
  size_t offset = 0;
  for (uint64_t i = 0; i < n_sections; ++i) {
    const Section& s = sections[i];
    if (s.compressed) {
      const size_t n =
          ZSTD_decompressDCtx(ctx, body + offset, s.size, s.stored.data(), s.stored.size());
      if (ZSTD_isError(n) || n != s.size) {
        return corrupt(fmt::format("section {} is not a zstd frame of {} bytes", i, s.size));
      }
    } else {
      std::memcpy(body + offset, s.stored.data(), s.size);
    }
    offset += s.size;
  }
  return std::string_view(body, total);
}

}  // namespace

absl::StatusOr<std::string> DecompressBlock(std::string_view frame, uint64_t max_body_bytes) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  std::string buffer;
  ORIEL_ASSIGN_OR_RETURN(std::string_view body,
                         DecompressBlockInto(frame, max_body_bytes, ctx.get(), &buffer));
  buffer.resize(body.size());
  return buffer;
}

uint64_t TraceIdPrefix(std::string_view trace_id) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | (i < trace_id.size() ? static_cast<unsigned char>(trace_id[i]) : 0u);
  }
  return v;
}

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(const std::string& path,
                                                                     uint64_t wal_checkpoint,
                                                                     Options options) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return OsError(errno, "create trace segment", tmp);
  std::unique_ptr<SegmentWriter> writer(new SegmentWriter(path, fd, wal_checkpoint, options));
  ORIEL_RETURN_IF_ERROR(writer->WriteAll(kSegmentMagic));
  return writer;
}

SegmentWriter::SegmentWriter(std::string path, int fd, uint64_t wal_checkpoint, Options options)
    : path_(std::move(path)),
      tmp_path_(path_ + ".tmp"),
      fd_(fd),
      wal_checkpoint_(wal_checkpoint),
      options_(options) {}

SegmentWriter::~SegmentWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_) ::unlink(tmp_path_.c_str());
}

absl::Status SegmentWriter::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "write trace segment", tmp_path_);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

void SegmentWriter::AddTrace(std::string_view trace_id, std::span<const HeadSpan* const> spans) {
  if (spans.empty()) return;
  encoder_.AddTrace(trace_id, spans);
  trace_index_.emplace_back(TraceIdPrefix(trace_id), static_cast<uint32_t>(blocks_.size()));
  const bool first = block_.spans == 0;
  for (const HeadSpan* s : spans) {
    const int64_t start = s->start;
    const int64_t end = s->end;
    if (first && s == spans.front()) {
      block_.min_start = block_.max_start = start;
      block_.max_end = end;
    } else {
      block_.min_start = std::min(block_.min_start, start);
      block_.max_start = std::max(block_.max_start, start);
      block_.max_end = std::max(block_.max_end, end);
    }
    ++block_.spans;
    ++spans_;
    auto [svc, new_service] =
        service_index_.try_emplace(s->resource->service, static_cast<uint32_t>(services_.size()));
    if (new_service) services_.push_back(s->resource->service);
    auto [range, new_range] = block_services_.try_emplace(svc->second, block_.services.size());
    if (new_range) {
      block_.services.push_back({svc->second, start, start});
    } else {
      auto& r = block_.services[range->second];
      r.min_start = std::min(r.min_start, start);
      r.max_start = std::max(r.max_start, start);
    }
    ++operations_[{svc->second, std::string(s->name()), s->kind}];
  }
  ++block_.traces;
}

absl::Status SegmentWriter::CloseBlock() {
  if (block_.spans == 0) return absl::OkStatus();
  encoder_.FinishInto(&body_, &sections_);
  ORIEL_RETURN_IF_ERROR(CompressBlockInto(body_, sections_, options_.zstd_level, &frame_));
  block_.offset = offset_;
  block_.length = frame_.size();
  block_.crc = storage::Crc32c(frame_);
  ORIEL_RETURN_IF_ERROR(WriteAll(frame_));
  blocks_.push_back(std::move(block_));
  block_ = SegmentBlockInfo();
  block_services_.clear();
  return absl::OkStatus();
}

absl::Status SegmentWriter::Finish() {
  ORIEL_RETURN_IF_ERROR(CloseBlock());
  std::string index;
  PutVarint64(index, kSegmentIndexVersion);
  PutVarint64(index, wal_checkpoint_);
  PutVarint64(index, services_.size());
  for (const std::string& s : services_) PutLengthPrefixed(index, s);
  PutVarint64(index, operations_.size());
  for (const auto& [key, count] : operations_) {
    PutVarint64(index, std::get<0>(key));
    PutLengthPrefixed(index, std::get<1>(key));
    PutVarint64(index, ZigZag(std::get<2>(key)));
    PutVarint64(index, count);
  }
  PutVarint64(index, blocks_.size());
  for (const SegmentBlockInfo& b : blocks_) {
    PutVarint64(index, b.offset);
    PutVarint64(index, b.length);
    PutFixed32(index, b.crc);
    PutVarint64(index, b.traces);
    PutVarint64(index, b.spans);
    PutVarint64(index, ZigZag(b.min_start));
    PutVarint64(index, ZigZag(b.max_start));
    PutVarint64(index, ZigZag(b.max_end));
    PutVarint64(index, b.services.size());
    for (const auto& r : b.services) {
      PutVarint64(index, r.service);
      PutVarint64(index, ZigZag(r.min_start));
      PutVarint64(index, ZigZag(r.max_start));
    }
  }
  // Trace ids arrive sorted; their prefixes are therefore sorted too.
  PutVarint64(index, trace_index_.size());
  for (const auto& [prefix, block] : trace_index_) {
    PutFixed64(index, prefix);
    PutVarint64(index, block);
  }
  const uint64_t index_offset = offset_;
  std::string footer;
  PutFixed64(footer, index_offset);
  PutFixed64(footer, index.size());
  PutFixed32(footer, storage::Crc32c(index));
  footer.append(kSegmentMagic);
  ORIEL_RETURN_IF_ERROR(WriteAll(index));
  ORIEL_RETURN_IF_ERROR(WriteAll(footer));
  if (::fsync(fd_) != 0) return OsError(errno, "sync trace segment", tmp_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    return OsError(errno, "rename trace segment", tmp_path_);
  }
  finished_ = true;
  const std::string dir = DirName(path_);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return OsError(errno, "open trace segment directory", dir);
  const int synced = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  if (synced != 0) return OsError(err, "sync trace segment directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsError(errno, "open trace segment", path);
  std::shared_ptr<Segment> segment(new Segment(path, fd));
  struct stat st;
  if (::fstat(fd, &st) != 0) return OsError(errno, "stat trace segment", path);
  segment->file_bytes_ = static_cast<uint64_t>(st.st_size);
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(fmt::format("cannot open trace segment {}: {}", path, why));
  };
  const uint64_t size = segment->file_bytes_;
  if (size < kSegmentMagic.size() + kSegmentFooterBytes) {
    return corrupt(fmt::format("{} bytes is too short for a segment", size));
  }
  std::string footer(kSegmentFooterBytes, '\0');
  if (::pread(fd, footer.data(), footer.size(), static_cast<off_t>(size - footer.size())) !=
      static_cast<ssize_t>(footer.size())) {
    return OsError(errno, "read trace segment footer", path);
  }
  if (std::string_view(footer).substr(20) != kSegmentMagic) {
    return corrupt("no segment footer (truncated or not a segment)");
  }
  const uint64_t index_offset = DecodeFixed64(footer.data());
  const uint64_t index_length = DecodeFixed64(footer.data() + 8);
  const uint32_t index_crc = DecodeFixed32(footer.data() + 16);
  if (index_offset < kSegmentMagic.size() || index_offset > size - kSegmentFooterBytes ||
      index_length != size - kSegmentFooterBytes - index_offset) {
    return corrupt(fmt::format("index at offset {} of length {} does not fit the file",
                               index_offset, index_length));
  }
  std::string index(index_length, '\0');
  if (::pread(fd, index.data(), index.size(), static_cast<off_t>(index_offset)) !=
      static_cast<ssize_t>(index.size())) {
    return OsError(errno, "read trace segment index", path);
  }
  if (storage::Crc32c(index) != index_crc) {
    return corrupt(fmt::format("index checksum mismatch at offset {}", index_offset));
  }
  absl::Status parsed = segment->ParseIndex(index);
  if (!parsed.ok()) return corrupt(fmt::format("{}", parsed.message()));
  for (const SegmentBlockInfo& b : segment->blocks_) {
    if (b.offset < kSegmentMagic.size() || b.offset > index_offset ||
        b.length > index_offset - b.offset) {
      return corrupt(
          fmt::format("block at offset {} of length {} is outside the data", b.offset, b.length));
    }
  }
  return segment;
}

Segment::~Segment() { ::close(fd_); }

absl::Status Segment::ParseIndex(std::string_view index) {
  ByteReader in(index);
  auto bad = [](std::string_view what) {
    return absl::DataLossError(fmt::format("invalid index: {}", what));
  };
  const uint64_t version = in.Varint();
  if (in.ok() && (version < 1 || version > kSegmentIndexVersion)) {
    return bad(fmt::format("unknown version {} (this version reads 1 to {})", version,
                           kSegmentIndexVersion));
  }
  index_version_ = version;
  wal_checkpoint_ = in.Varint();
  const uint64_t n_services = in.Varint();
  if (!in.ok() || n_services > in.remaining()) return bad("service table");
  services_.resize(n_services);
  for (auto& s : services_) s = std::string(in.LengthPrefixed());
  const uint64_t n_ops = in.Varint();
  if (!in.ok() || n_ops > in.remaining()) return bad("operation table");
  operations_.resize(n_ops);
  for (auto& op : operations_) {
    op.service = static_cast<uint32_t>(in.Varint());
    op.name = std::string(in.LengthPrefixed());
    op.kind = static_cast<int32_t>(UnZigZag(in.Varint()));
    op.spans = in.Varint();
    if (op.service >= n_services) return bad("operation of an unknown service");
  }
  const uint64_t n_blocks = in.Varint();
  if (!in.ok() || n_blocks > in.remaining()) return bad("block table");
  blocks_.resize(n_blocks);
  bool first = true;
  for (auto& b : blocks_) {
    b.offset = in.Varint();
    b.length = in.Varint();
    std::string_view crc = in.Bytes(4);
    b.crc = in.ok() ? DecodeFixed32(crc.data()) : 0;
    b.traces = in.Varint();
    b.spans = in.Varint();
    b.min_start = UnZigZag(in.Varint());
    b.max_start = UnZigZag(in.Varint());
    b.max_end = UnZigZag(in.Varint());
    const uint64_t n = in.Varint();
    if (!in.ok() || n > in.remaining()) return bad("block service table");
    b.services.resize(n);
    for (auto& r : b.services) {
      r.service = static_cast<uint32_t>(in.Varint());
      r.min_start = UnZigZag(in.Varint());
      r.max_start = UnZigZag(in.Varint());
      if (r.service >= n_services) return bad("block of an unknown service");
    }
    spans_ += b.spans;
    min_start_ = first ? b.min_start : std::min(min_start_, b.min_start);
    max_end_ = first ? b.max_end : std::max(max_end_, b.max_end);
    first = false;
  }
  const uint64_t n_traces = in.Varint();
  if (!in.ok() || n_traces > in.remaining() / 9) return bad("trace table");
  trace_prefixes_.resize(n_traces);
  trace_blocks_.resize(n_traces);
  for (uint64_t i = 0; i < n_traces; ++i) {
    trace_prefixes_[i] = in.Fixed64();
    const uint64_t block = in.Varint();
    if (!in.ok() || block >= n_blocks) return bad(fmt::format("trace {} has no block", i));
    if (i > 0 && trace_prefixes_[i] < trace_prefixes_[i - 1]) return bad("unsorted trace table");
    trace_blocks_[i] = static_cast<uint32_t>(block);
  }
  if (!in.ok() || !in.empty()) return bad("trailing bytes");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DecodedTrace>> Segment::ReadBlock(size_t block,
                                                             std::optional<std::string_view> only,
                                                             const SpanFilter* filter) const {
  const SegmentBlockInfo& b = blocks_.at(block);
  BlockBufferPool::Lease lease(BlockBufferPool::Get());
  BlockBuffers& buffers = *lease;
  if (buffers.frame.size() < b.length) buffers.frame.resize(b.length + b.length / 4);
  const std::string_view frame(buffers.frame.data(), b.length);
  const ssize_t n = ::pread(fd_, buffers.frame.data(), b.length, static_cast<off_t>(b.offset));
  if (n != static_cast<ssize_t>(frame.size())) {
    if (n < 0) return OsError(errno, "read trace segment", path_);
    return absl::DataLossError(
        fmt::format("cannot read trace segment {}: block at offset {} is "
                    "truncated",
                    path_, b.offset));
  }
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(
        fmt::format("cannot read trace segment {}: block at offset {}: {}", path_, b.offset, why));
  };
  if (storage::Crc32c(frame) != b.crc) return corrupt("checksum mismatch");
  if (index_version_ >= 2) {
    auto body = DecompressBlockInto(frame, kMaxBlockBodyBytes, buffers.ctx.get(), &buffers.body);
    if (!body.ok()) return corrupt(fmt::format("{}", body.status().message()));
    // The spans decoded are copies: the buffers are free again after this.
    auto traces = DecodeBlock(*body, only, filter);
    if (!traces.ok()) return corrupt(fmt::format("{}", traces.status().message()));
    return traces;
  }
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kMaxBlockBodyBytes) {
    return corrupt("invalid zstd frame header");
  }
  std::string body(static_cast<size_t>(size), '\0');
  const size_t got = ZSTD_decompress(body.data(), body.size(), frame.data(), frame.size());
  if (ZSTD_isError(got) || got != body.size()) return corrupt("invalid zstd frame");
  auto traces = DecodeBlock(body, only, filter);
  if (!traces.ok()) return corrupt(fmt::format("{}", traces.status().message()));
  return traces;
}

absl::StatusOr<std::vector<StoredSpan>> Segment::ReadTrace(std::string_view trace_id) const {
  std::vector<StoredSpan> spans;
  const uint64_t prefix = TraceIdPrefix(trace_id);
  auto [lo, hi] = std::equal_range(trace_prefixes_.begin(), trace_prefixes_.end(), prefix);
  std::optional<uint32_t> previous;
  for (auto it = lo; it != hi; ++it) {
    const uint32_t block = trace_blocks_[static_cast<size_t>(it - trace_prefixes_.begin())];
    if (previous == block) continue;  // prefixes that collide within one block
    previous = block;
    ORIEL_ASSIGN_OR_RETURN(auto traces, ReadBlock(block, trace_id));
    for (auto& t : traces) {
      for (auto& s : t.spans) spans.push_back(std::move(s));
    }
  }
  return spans;
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> Segment::Find(const TraceQuery& query,
                                                                           size_t limit) const {
  std::vector<std::pair<int64_t, std::string>> found;
  auto service = std::find(services_.begin(), services_.end(), query.service);
  if (service == services_.end() || limit == 0) return found;
  const auto service_index = static_cast<uint32_t>(service - services_.begin());
  if (!query.operation.empty() && !HasOperation(query.service, query.operation, query.span_kind)) {
    return found;
  }
  // Candidate blocks: those holding spans of the service that started in the range.
  std::vector<std::pair<int64_t, size_t>> candidates;  // (newest start of the service, block)
  for (size_t i = 0; i < blocks_.size(); ++i) {
    for (const auto& r : blocks_[i].services) {
      if (r.service != service_index) continue;
      if (query.start_unix_nano != 0 && r.max_start < query.start_unix_nano) continue;
      if (query.end_unix_nano != 0 && r.min_start > query.end_unix_nano) continue;
      candidates.emplace_back(r.max_start, i);
    }
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (const auto& [newest, block] : candidates) {
    // Every trace of this block and the later ones is older than the limit-th match so far.
    if (found.size() >= limit) {
      std::sort(found.rbegin(), found.rend());
      found.resize(limit);
      if (newest < found.back().first) break;
    }
    // The newest start of the service per trace, from the columns of every span of the service.
    std::vector<int64_t> newest_of(0);
    const SpanFilter filter = [&](const SpanColumns& c) {
      if (c.service != query.service) return false;
      if (newest_of.size() <= c.trace) newest_of.resize(c.trace + 1, INT64_MIN);
      const auto start = static_cast<int64_t>(c.start);
      newest_of[c.trace] = std::max(newest_of[c.trace], start);
      if (!query.operation.empty() && c.name != query.operation) return false;
      if (query.span_kind.has_value() && c.kind != *query.span_kind) return false;
      if (query.start_unix_nano != 0 && start < query.start_unix_nano) return false;
      if (query.end_unix_nano != 0 && start > query.end_unix_nano) return false;
      const auto duration = static_cast<int64_t>(c.end - c.start);
      if (query.min_duration_nano != 0 && duration < query.min_duration_nano) return false;
      if (query.max_duration_nano != 0 && duration > query.max_duration_nano) return false;
      // Most spans of a tag search hold no match: their values are compared in the columns.
      return query.tags.empty() || SpanColumnsMayMatchTags(query, c);
    };
    ORIEL_ASSIGN_OR_RETURN(auto traces, ReadBlock(block, std::nullopt, &filter));
    for (size_t t = 0; t < traces.size(); ++t) {
      const DecodedTrace& trace = traces[t];
      const bool match = std::any_of(trace.spans.begin(), trace.spans.end(), [&](const auto& s) {
        return SpanMatches(query, s.span, s.resource->resource, s.scope->scope);
      });
      if (match) found.emplace_back(newest_of[t], trace.trace_id);
    }
  }
  std::sort(found.rbegin(), found.rend());
  if (found.size() > limit) found.resize(limit);
  return found;
}

bool Segment::HasOperation(std::string_view service, std::string_view operation,
                           std::optional<int32_t> span_kind) const {
  auto it = std::find(services_.begin(), services_.end(), service);
  if (it == services_.end()) return false;
  const auto index = static_cast<uint32_t>(it - services_.begin());
  return std::any_of(operations_.begin(), operations_.end(), [&](const SegmentOperation& op) {
    return op.service == index && op.name == operation &&
           (!span_kind.has_value() || op.kind == *span_kind);
  });
}

std::optional<int64_t> Segment::NewestStart(std::string_view service) const {
  auto it = std::find(services_.begin(), services_.end(), service);
  if (it == services_.end()) return std::nullopt;
  const auto index = static_cast<uint32_t>(it - services_.begin());
  std::optional<int64_t> newest;
  for (const SegmentBlockInfo& b : blocks_) {
    for (const auto& r : b.services) {
      if (r.service == index) newest = newest ? std::max(*newest, r.max_start) : r.max_start;
    }
  }
  return newest;
}

absl::Status Segment::AddDependencies(
    int64_t after, int64_t end,
    std::map<std::pair<std::string, std::string>, int64_t>* counts) const {
  for (size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].max_end <= after || blocks_[i].min_start > end) continue;
    ORIEL_ASSIGN_OR_RETURN(auto traces, ReadBlock(i));
    absl::flat_hash_map<std::string_view, std::string_view> service_of;
    for (const DecodedTrace& trace : traces) {
      service_of.clear();
      for (const StoredSpan& s : trace.spans) service_of[s.span.span_id()] = s.resource->service;
      for (const StoredSpan& s : trace.spans) {
        const auto span_end = static_cast<int64_t>(s.span.end_time_unix_nano());
        if (span_end <= after || span_end > end || s.span.parent_span_id().empty()) continue;
        auto parent = service_of.find(s.span.parent_span_id());
        if (parent == service_of.end() || parent->second == s.resource->service) continue;
        ++(*counts)[{std::string(parent->second), s.resource->service}];
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace oriel::tracestore
