#include "storage/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/check.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "storage/crc32c.h"

namespace oriel::storage {
namespace {

// On-disk format
//
// A WAL directory holds segment files named by their index in decimal, zero-padded to 8 digits
// (00000001, 00000002, ...; an index past 99999999 just gets wider). Names that are not all
// digits are ignored, so other files may share the directory. Indexes are consecutive: Open,
// Cut and rollover each create the next index, and only a prefix is ever removed.
//
// A segment has no header: it is a sequence of frames, one per Append call, so that the records
// of one call survive or vanish together:
//
//   frame   := length:u32le crc:u32le write:u32le payload[length]
//   payload := count:varint (size:varint bytes[size]){count}
//
// `write` numbers the write + fdatasync (one per group commit batch, or per part of a batch that
// crosses into a new segment) that put the frame in its segment: 1, 2, ... in bits 0-30, with
// bit 31 set on the last frame of that write. `crc` is the CRC-32C (Castagnoli) of `payload`
// followed by the 4 bytes of `write`. A payload is never empty (count >= 1), which keeps a
// zero-filled region (what a crash can leave after a file grew) from reading as a valid frame.
// A frame never spans segments; one larger than segment_bytes gets a segment of its own.
//
// Each write is fdatasync'd before the next one starts, and a segment is created only after the
// previous one is synced. So a crash can damage only the last write of the last segment holding
// data. Replay cuts a bad frame there off as a torn tail, unless an intact frame of a later
// write follows it: that write proves the bad frame had been synced, so it is corruption, as is
// a bad frame in any other segment.
constexpr size_t kFrameHeaderBytes = 12;
constexpr uint32_t kEndOfWrite = 1u << 31;
constexpr uint32_t kMaxWriteNumber = kEndOfWrite - 1;
constexpr uint64_t kMaxPayloadBytes = UINT32_MAX;
constexpr int kSegmentNameDigits = 8;
constexpr size_t kMaxSegmentNameDigits = 20;  // digits of UINT64_MAX
constexpr size_t kReadChunkBytes = 1 << 20;

void PutFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}

uint32_t GetFixed32(const char* src) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(src[i])) << (8 * i);
  return v;
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// Consumes a varint from the front of `in`; nullopt if it is truncated or overflows 64 bits.
std::optional<uint64_t> GetVarint(std::string_view& in) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    if (shift == 63 && byte > 1) return std::nullopt;
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  return std::nullopt;
}

std::string SegmentName(uint64_t index) { return fmt::format("{:0{}}", index, kSegmentNameDigits); }

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSegmentNameDigits) return std::nullopt;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return index;
}

absl::Status OsError(int err, std::string_view what, const std::string& path) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      fmt::format("cannot {} \"{}\": {}", what, path, std::strerror(err)));
}

// Segment indexes in `dir`, ascending.
absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return OsError(errno, "list WAL dir", dir);
  std::vector<uint64_t> segments;
  while (true) {
    errno = 0;
    dirent* entry = ::readdir(d);
    if (entry == nullptr) break;
    if (auto index = ParseSegmentName(entry->d_name)) segments.push_back(*index);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return OsError(err, "list WAL dir", dir);
  std::sort(segments.begin(), segments.end());
  return segments;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Writes every byte of `iov` (which it consumes), across partial writes and IOV_MAX.
absl::Status WriteFully(int fd, std::vector<iovec>& iov, const std::string& path) {
  size_t i = 0;
  while (i < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
    ssize_t n = ::writev(fd, &iov[i], count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "write WAL segment", path);
    }
    if (n == 0) {
      return absl::InternalError(
          fmt::format("cannot write WAL segment \"{}\": write made no progress", path));
    }
    auto left = static_cast<size_t>(n);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (left > 0) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return OsError(errno, "stat WAL segment", path);
  return static_cast<uint64_t>(st.st_size);
}

// Reads a segment front to back through a window, so that small frames cost no syscall each.
class SegmentReader {
 public:
  SegmentReader(int fd, uint64_t size, const std::string& path)
      : fd_(fd), size_(size), path_(path) {}

  // The bytes [offset, offset + n), valid until the next call. REQUIRES: offset + n <= size.
  absl::StatusOr<std::string_view> Read(uint64_t offset, size_t n) {
    if (offset >= window_offset_ && offset + n <= window_offset_ + window_.size()) {
      return std::string_view(window_).substr(offset - window_offset_, n);
    }
    size_t want = std::max<uint64_t>(n, std::min<uint64_t>(kReadChunkBytes, size_ - offset));
    window_.resize(want);
    window_offset_ = offset;
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd_, window_.data() + got, want - got, offset + got);
      if (r < 0) {
        if (errno == EINTR) continue;
        window_.clear();
        return OsError(errno, "read WAL segment", path_);
      }
      if (r == 0) {
        window_.clear();
        return absl::DataLossError(fmt::format(
            "cannot replay WAL segment {} at offset {}: the file shrank while being read", path_,
            offset + got));
      }
      got += static_cast<size_t>(r);
    }
    return std::string_view(window_).substr(0, n);
  }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string& path_;
  std::string window_;
  uint64_t window_offset_ = 0;
};

uint32_t FrameCrc(uint32_t payload_crc, uint32_t write_word) {
  char bytes[4];
  PutFixed32(bytes, write_word);
  return Crc32cExtend(payload_crc, bytes, sizeof(bytes));
}

// One frame as read back, and what is wrong with it.
struct Frame {
  std::string why;  // empty when the frame is intact
  uint32_t length = 0;
  uint32_t write = 0;  // the write number, without the end bit
  bool ends_write = false;
  std::string_view payload;  // valid until the reader's next call
};

// Reads and checks the frame at `offset`. Only I/O errors are errors; a bad frame sets `why`.
// `min_write` skips the checksum of a frame from a write numbered below it (marking it bad).
absl::StatusOr<Frame> ReadFrame(SegmentReader& reader, uint64_t offset, uint64_t size,
                                uint32_t min_write = 1) {
  Frame f;
  const uint64_t left = size - offset;
  if (left < kFrameHeaderBytes) {
    f.why = fmt::format("truncated frame header ({} of {} bytes)", left, kFrameHeaderBytes);
    return f;
  }
  ORIEL_ASSIGN_OR_RETURN(std::string_view header, reader.Read(offset, kFrameHeaderBytes));
  f.length = GetFixed32(header.data());
  const uint32_t stored_crc = GetFixed32(header.data() + 4);
  const uint32_t write_word = GetFixed32(header.data() + 8);
  f.write = write_word & kMaxWriteNumber;
  f.ends_write = (write_word & kEndOfWrite) != 0;
  if (f.length == 0) {
    f.why = "frame length 0";
  } else if (f.length > left - kFrameHeaderBytes) {
    f.why = fmt::format("frame length {} exceeds the {} bytes left in the segment", f.length,
                        left - kFrameHeaderBytes);
  } else if (f.write < min_write) {
    f.why = fmt::format("write number {} below {}", f.write, min_write);
  } else {
    ORIEL_ASSIGN_OR_RETURN(f.payload, reader.Read(offset + kFrameHeaderBytes, f.length));
    const uint32_t crc = FrameCrc(Crc32c(f.payload), write_word);
    if (crc != stored_crc) {
      f.why = fmt::format("checksum mismatch (stored {:08x}, computed {:08x})", stored_crc, crc);
    }
  }
  return f;
}

// The offset of an intact frame that starts after `offset` and belongs to a write numbered above
// `write`, if any. Frames cannot be found from a bad one, so this tries every byte; a cheap
// header check rejects almost all of them before any checksum.
absl::StatusOr<std::optional<uint64_t>> FindLaterWrite(SegmentReader& reader, uint64_t offset,
                                                       uint64_t size, uint32_t write) {
  if (write >= kMaxWriteNumber) return std::nullopt;
  for (uint64_t at = offset + 1; at + kFrameHeaderBytes < size; ++at) {
    ORIEL_ASSIGN_OR_RETURN(Frame f, ReadFrame(reader, at, size, write + 1));
    if (f.why.empty()) return at;
  }
  return std::nullopt;
}

// Splits a payload whose CRC matched into its records; returns what is wrong with it, or "".
std::string DecodePayload(std::string_view payload, std::vector<std::string_view>& records) {
  records.clear();
  std::optional<uint64_t> count = GetVarint(payload);
  if (!count || *count == 0) return "bad record count";
  // Each record takes at least one byte, which bounds the count before reserving for it.
  if (*count > payload.size()) {
    return fmt::format("record count {} exceeds the {} bytes of the frame", *count, payload.size());
  }
  records.reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    std::optional<uint64_t> size = GetVarint(payload);
    if (!size || *size > payload.size()) return fmt::format("bad size of record {}", i);
    records.push_back(payload.substr(0, *size));
    payload.remove_prefix(*size);
  }
  if (!payload.empty()) return fmt::format("{} bytes after the last record", payload.size());
  return "";
}

class WalImpl final : public Wal {
 public:
  WalImpl(std::string dir, WalOptions options, int dir_fd, uint64_t first_new_segment)
      : dir_(std::move(dir)), options_(options), dir_fd_(dir_fd), replay_end_(first_new_segment) {}

  ~WalImpl() override {
    if (fd_ >= 0) ::close(fd_);
    ::close(dir_fd_);
  }

  // Creates segment `index` and makes appends go there. Called by Open and by the leader.
  absl::Status StartSegment(uint64_t index);

  absl::Status AppendParts(std::span<const RecordParts> records) override;
  absl::Status Replay(uint64_t first_segment,
                      const std::function<absl::Status(std::string_view)>& fn) override;
  absl::StatusOr<uint64_t> Cut() override;
  absl::Status RemoveSegmentsBefore(uint64_t segment) override;
  uint64_t CurrentSegment() const override { return current_.load(std::memory_order_acquire); }
  WalStats Stats() const override {
    return WalStats{.appends = appends_.load(std::memory_order_relaxed),
                    .syncs = syncs_.load(std::memory_order_relaxed),
                    .bytes_written = bytes_written_.load(std::memory_order_relaxed)};
  }

 private:
  // A run of a frame's bytes: `size` bytes at `data`, or at `offset` in the writer's `copied`
  // when `data` is null (which may still move while the frame is built).
  struct Piece {
    const char* data = nullptr;
    size_t offset = 0;
    size_t size = 0;
  };
  // One Append or Cut waiting in the queue.
  struct Writer {
    // The frame (write number and crc set by the leader; empty for a Cut): its header, varints
    // and small parts copied into `copied`, large parts referenced where the caller holds them
    // (it waits in Append until they are written).
    std::string copied;
    std::vector<Piece> pieces;
    uint64_t frame_bytes = 0;
    uint32_t payload_crc = 0;
    bool cut = false;
    bool done = false;  // set by the leader that handled this writer
    absl::Status status;
    uint64_t new_segment = 0;  // for a Cut
    absl::CondVar cv;
  };

  // Queues `w` and returns once a leader (perhaps this thread) has handled it.
  absl::Status Submit(Writer& w);
  // Leader only: writes the frames, rolling segments past segment_bytes.
  absl::Status WriteBatch(std::span<Writer* const> batch);
  // Leader only: writes and syncs the frames of chunk_ as the next write of the segment.
  absl::Status Flush();
  absl::Status ReplaySegment(uint64_t index, bool tail,
                             const std::function<absl::Status(std::string_view)>& fn);
  absl::Status TruncateTail(const std::string& path, uint64_t offset, uint64_t size,
                            std::string_view why);
  std::string SegmentPath(uint64_t index) const { return dir_ + "/" + SegmentName(index); }

  const std::string dir_;
  const WalOptions options_;
  const int dir_fd_;
  const uint64_t replay_end_;  // segments below it were written before Open

  absl::Mutex mu_;
  std::deque<Writer*> queue_ ABSL_GUARDED_BY(mu_);  // the front is the leader
  absl::Status failed_ ABSL_GUARDED_BY(mu_);        // set for good by a failed write or sync

  // Owned by the leader: only the thread at the front of queue_ touches these (handing over
  // leadership goes through mu_, which orders the accesses).
  int fd_ = -1;
  std::string path_;
  uint64_t segment_size_ = 0;
  uint32_t segment_writes_ = 0;  // writes made to the current segment
  std::vector<Writer*> batch_;
  std::vector<Writer*> chunk_;  // the part of batch_ going into one write
  std::vector<iovec> iov_;

  std::atomic<uint64_t> current_{0};
  std::atomic<uint64_t> appends_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> bytes_written_{0};
};

absl::Status WalImpl::StartSegment(uint64_t index) {
  std::string path = SegmentPath(index);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return OsError(errno, "create WAL segment", path);
  // The new name must be durable before anything in the segment is acknowledged.
  if (::fsync(dir_fd_) != 0) {
    int err = errno;
    ::close(fd);
    return OsError(err, "sync WAL dir", dir_);
  }
  // The previous segment was synced by the batch that filled it; a close error adds nothing.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = std::move(path);
  segment_size_ = 0;
  segment_writes_ = 0;
  current_.store(index, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status WalImpl::AppendParts(std::span<const RecordParts> records) {
  if (records.empty()) {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  uint64_t payload_size = VarintLength(records.size());
  for (RecordParts parts : records) {
    uint64_t size = 0;
    for (std::string_view part : parts) size += part.size();
    payload_size += VarintLength(size) + size;
  }
  if (payload_size > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(
        fmt::format("cannot append to WAL in \"{}\": {} records of {} bytes exceed the {} bytes "
                    "of one frame",
                    dir_, records.size(), payload_size, kMaxPayloadBytes));
  }
  // Encoding and checksumming happen here, in parallel across callers, not in the leader.
  // Parts this large are written from the caller's memory: copying them cost more than the
  // extra iovec (a trace batch is hundreds of KiB, a metrics record tens of bytes).
  constexpr size_t kMinReferencedBytes = 4096;
  Writer w;
  w.copied.resize(kFrameHeaderBytes);
  PutVarint(w.copied, records.size());
  size_t copied_from = 0;  // start of the copied bytes no piece holds yet
  auto close_copied = [&] {
    if (w.copied.size() > copied_from) {
      w.pieces.push_back(Piece{.offset = copied_from, .size = w.copied.size() - copied_from});
    }
    copied_from = w.copied.size();
  };
  for (RecordParts parts : records) {
    uint64_t size = 0;
    for (std::string_view part : parts) size += part.size();
    PutVarint(w.copied, size);
    for (std::string_view part : parts) {
      if (part.size() < kMinReferencedBytes) {
        w.copied.append(part);
        continue;
      }
      close_copied();
      w.pieces.push_back(Piece{.data = part.data(), .size = part.size()});
    }
  }
  close_copied();
  PutFixed32(w.copied.data(), static_cast<uint32_t>(payload_size));
  w.frame_bytes = kFrameHeaderBytes + payload_size;
  uint32_t crc = 0;
  for (size_t i = 0; i < w.pieces.size(); ++i) {
    const Piece& p = w.pieces[i];
    const size_t skip = i == 0 ? kFrameHeaderBytes : 0;  // the header is not in the checksum
    const char* data = p.data != nullptr ? p.data : w.copied.data() + p.offset;
    crc = Crc32cExtend(crc, data + skip, p.size - skip);
  }
  w.payload_crc = crc;
  appends_.fetch_add(1, std::memory_order_relaxed);
  return Submit(w);
}

absl::StatusOr<uint64_t> WalImpl::Cut() {
  Writer w;
  w.cut = true;
  ORIEL_RETURN_IF_ERROR(Submit(w));
  return w.new_segment;
}

absl::Status WalImpl::Submit(Writer& w) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(&w);
  while (!w.done && queue_.front() != &w) w.cv.Wait(&mu_);
  if (w.done) return w.status;

  // This thread leads. It takes every Append queued up to the next Cut (a Cut runs alone, so
  // that the appends queued before it land below the new segment); callers arriving while it
  // writes and syncs wait for the next leader.
  batch_.clear();
  absl::Status status = failed_;
  if (!status.ok()) {
    batch_.assign(queue_.begin(), queue_.end());
  } else {
    for (Writer* q : queue_) {
      if (q->cut && !batch_.empty()) break;
      batch_.push_back(q);
      if (q->cut) break;
    }
    mu_.Unlock();
    if (w.cut) {
      status = StartSegment(CurrentSegment() + 1);
      w.new_segment = CurrentSegment();
    } else {
      status = WriteBatch(batch_);
    }
    mu_.Lock();
    if (!status.ok()) {
      // The file may now end in a partial frame, and after a failed fsync the kernel may have
      // dropped dirty pages and cleared the error: nothing written later could be trusted.
      failed_ = absl::UnavailableError(
          fmt::format("cannot append to WAL in \"{}\": an earlier write failed, so the log must "
                      "be reopened ({})",
                      dir_, status.message()));
    }
  }
  for (Writer* q : batch_) {
    ORIEL_CHECK(queue_.front() == q);
    queue_.pop_front();
    q->status = status;
    q->done = true;
    if (q != &w) q->cv.Signal();
  }
  if (!queue_.empty()) queue_.front()->cv.Signal();
  return status;
}

absl::Status WalImpl::WriteBatch(std::span<Writer* const> batch) {
  chunk_.clear();
  uint64_t pending = 0;
  for (Writer* q : batch) {
    const uint64_t n = q->frame_bytes;
    const uint64_t size = segment_size_ + pending;
    if (size > 0 && size + n > options_.segment_bytes) {
      ORIEL_RETURN_IF_ERROR(Flush());
      pending = 0;
      ORIEL_RETURN_IF_ERROR(StartSegment(CurrentSegment() + 1));
    }
    chunk_.push_back(q);
    pending += n;
  }
  return Flush();
}

absl::Status WalImpl::Flush() {
  if (chunk_.empty()) return absl::OkStatus();
  if (segment_writes_ == kMaxWriteNumber) {
    ORIEL_RETURN_IF_ERROR(StartSegment(CurrentSegment() + 1));
  }
  const uint32_t write = ++segment_writes_;
  iov_.clear();
  uint64_t bytes = 0;
  for (size_t i = 0; i < chunk_.size(); ++i) {
    Writer& w = *chunk_[i];
    const uint32_t word = write | (i + 1 == chunk_.size() ? kEndOfWrite : 0);
    PutFixed32(w.copied.data() + 8, word);
    PutFixed32(w.copied.data() + 4, FrameCrc(w.payload_crc, word));
    for (const Piece& p : w.pieces) {
      char* data = p.data != nullptr ? const_cast<char*>(p.data) : w.copied.data() + p.offset;
      iov_.push_back(iovec{data, p.size});
    }
    bytes += w.frame_bytes;
  }
  chunk_.clear();
  ORIEL_RETURN_IF_ERROR(WriteFully(fd_, iov_, path_));
  segment_size_ += bytes;
  bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  if (::fdatasync(fd_) != 0) return OsError(errno, "sync WAL segment", path_);
  return absl::OkStatus();
}

absl::Status WalImpl::Replay(uint64_t first_segment,
                             const std::function<absl::Status(std::string_view)>& fn) {
  ORIEL_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListSegments(dir_));
  std::erase_if(segments, [&](uint64_t s) { return s >= replay_end_; });
  // Only the last segment holding data can end in a torn frame; segments after it are files
  // that a process created before dying, still empty.
  std::optional<uint64_t> tail;
  for (auto it = segments.rbegin(); it != segments.rend() && !tail; ++it) {
    ORIEL_ASSIGN_OR_RETURN(uint64_t size, FileSize(SegmentPath(*it)));
    if (size > 0) tail = *it;
  }
  std::optional<uint64_t> previous;
  for (uint64_t index : segments) {
    if (index < first_segment) continue;
    if (previous && index != *previous + 1) {
      return absl::DataLossError(
          fmt::format("cannot replay WAL in \"{}\": segments {} to {} are "
                      "missing",
                      dir_, SegmentName(*previous + 1), SegmentName(index - 1)));
    }
    previous = index;
    ORIEL_RETURN_IF_ERROR(ReplaySegment(index, tail == index, fn));
  }
  return absl::OkStatus();
}

absl::Status WalImpl::ReplaySegment(uint64_t index, bool tail,
                                    const std::function<absl::Status(std::string_view)>& fn) {
  const std::string path = SegmentPath(index);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsError(errno, "open WAL segment", path);
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return OsError(errno, "stat WAL segment", path);
  const auto size = static_cast<uint64_t>(st.st_size);

  SegmentReader reader(fd, size, path);
  std::vector<std::string_view> records;
  uint32_t write = 1;  // the write that the frame at `offset` belongs to, if it is from one
  for (uint64_t offset = 0; offset < size;) {
    ORIEL_ASSIGN_OR_RETURN(Frame frame, ReadFrame(reader, offset, size));
    if (!frame.why.empty()) {
      std::optional<uint64_t> later;
      if (tail) {
        ORIEL_ASSIGN_OR_RETURN(later, FindLaterWrite(reader, offset, size, write));
      }
      if (tail && !later) return TruncateTail(path, offset, size, frame.why);
      std::string detail =
          later ? fmt::format(" (an intact frame of a later write follows at offset {})", *later)
                : "";
      return absl::DataLossError(fmt::format("cannot replay WAL segment {} at offset {}: {}{}",
                                             path, offset, frame.why, detail));
    }
    // The checksum matched, so a malformed payload is no torn write: always an error.
    if (std::string bad = DecodePayload(frame.payload, records); !bad.empty()) {
      return absl::DataLossError(
          fmt::format("cannot replay WAL segment {} at offset {}: {}", path, offset, bad));
    }
    for (std::string_view record : records) ORIEL_RETURN_IF_ERROR(fn(record));
    write = frame.ends_write ? frame.write + 1 : frame.write;
    offset += kFrameHeaderBytes + frame.length;
  }
  return absl::OkStatus();
}

absl::Status WalImpl::TruncateTail(const std::string& path, uint64_t offset, uint64_t size,
                                   std::string_view why) {
  log::Warn(
      "truncating torn WAL tail",
      {{"segment", path}, {"offset", offset}, {"dropped_bytes", size - offset}, {"reason", why}});
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return OsError(errno, "open WAL segment", path);
  FdCloser closer(fd);
  // Durable before new appends make this segment a middle one, where a bad frame is an error.
  if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
    return OsError(errno, "truncate WAL segment", path);
  }
  if (::fsync(fd) != 0) return OsError(errno, "sync WAL segment", path);
  return absl::OkStatus();
}

absl::Status WalImpl::RemoveSegmentsBefore(uint64_t segment) {
  const uint64_t current = CurrentSegment();
  if (segment > current) {
    return absl::InvalidArgumentError(
        fmt::format("cannot remove WAL segments before {} in \"{}\": the current segment is {}",
                    SegmentName(segment), dir_, SegmentName(current)));
  }
  ORIEL_ASSIGN_OR_RETURN(std::vector<uint64_t> segments, ListSegments(dir_));
  bool removed = false;
  for (uint64_t index : segments) {
    if (index >= segment) break;
    std::string path = SegmentPath(index);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;  // a concurrent call removed it
      return OsError(errno, "remove WAL segment", path);
    }
    removed = true;
  }
  if (removed && ::fsync(dir_fd_) != 0) return OsError(errno, "sync WAL dir", dir_);
  return absl::OkStatus();
}

}  // namespace

absl::Status Wal::Append(std::span<const std::string_view> records) {
  std::vector<RecordParts> parts;
  parts.reserve(records.size());
  for (const std::string_view& r : records) parts.emplace_back(&r, 1);
  return AppendParts(parts);
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, WalOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        fmt::format("cannot create WAL dir \"{}\": {}", dir, ec.message()));
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return OsError(errno, "open WAL dir", dir);
  auto segments = ListSegments(dir);
  if (!segments.ok()) {
    ::close(dir_fd);
    return segments.status();
  }
  if (!segments->empty() && segments->back() == UINT64_MAX) {
    ::close(dir_fd);
    return absl::FailedPreconditionError(fmt::format(
        "cannot open WAL in \"{}\": no segment index is left after {}", dir, segments->back()));
  }
  const uint64_t next = segments->empty() ? 1 : segments->back() + 1;
  auto wal = std::make_unique<WalImpl>(dir, options, dir_fd, next);
  ORIEL_RETURN_IF_ERROR(wal->StartSegment(next));
  return wal;
}

}  // namespace oriel::storage
