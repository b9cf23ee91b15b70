// A write-ahead log shared by the engines: records appended to numbered segment files, each
// record framed with its length and a CRC32C. Append returns only when the record is durable;
// concurrent appenders share one fsync (group commit), so durability costs little throughput.
// Replay yields every durable record in order; a torn record at the tail (a crash mid-write) is
// cut off, corruption anywhere else is an error naming the segment and offset.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::storage {

struct WalOptions {
  size_t segment_bytes = 128 << 20;  // a new segment starts past this size
};

// Counters since Open, for self-metrics and for checking that group commit batches.
struct WalStats {
  uint64_t appends = 0;        // non-empty Append calls, successful or not
  uint64_t syncs = 0;          // fdatasync calls on segment files
  uint64_t bytes_written = 0;  // framed bytes written to segment files
};

class Wal {
 public:
  // Opens (creating if needed) the log in `dir`. New appends go to a fresh segment after the
  // existing ones, so replay and append never touch the same file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Wal>> Open(const std::string& dir,
                                                                 WalOptions options = {});
  virtual ~Wal() = default;

  // Appends the records as one unit (all or none survive a crash) and waits until they are
  // fsync'd. Thread-safe; concurrent calls are batched into one write and one fsync. After a
  // failed write or fsync every later call fails with kUnavailable: the log no longer knows what
  // is durable, so it must be opened again and replayed.
  [[nodiscard]] absl::Status Append(std::span<const std::string_view> records);
  // The same, with each record given as the concatenation of its parts (a type tag and a body,
  // say), so that callers need not copy them into one string first; large parts are written from
  // where they are, not copied.
  using RecordParts = std::span<const std::string_view>;
  [[nodiscard]] virtual absl::Status AppendParts(std::span<const RecordParts> records) = 0;

  // Calls `fn` with every record of segments >= `first_segment`, oldest first; a record's view
  // is valid during the call only. Stops at `fn`'s first error. Call before the first Append: it
  // reads the segments that existed at Open (the records of this process are not replayed). What
  // a crash tore off the last write of the last non-empty segment is cut off (the file is
  // truncated, with a warning); a bad record anywhere else, even in that segment when a later
  // write follows it, is a kDataLoss error naming the segment and offset.
  [[nodiscard]] virtual absl::Status Replay(
      uint64_t first_segment, const std::function<absl::Status(std::string_view)>& fn) = 0;

  // Closes the current segment and starts a new one; returns the new segment's index. Records
  // appended before the call are in segments below it (for checkpoints and truncation).
  [[nodiscard]] virtual absl::StatusOr<uint64_t> Cut() = 0;

  // Deletes every segment with index < `segment` (after their data is safe elsewhere). The
  // current segment is never deleted: `segment` > CurrentSegment() is kInvalidArgument.
  [[nodiscard]] virtual absl::Status RemoveSegmentsBefore(uint64_t segment) = 0;

  // Index of the segment appends go to now.
  virtual uint64_t CurrentSegment() const = 0;

  virtual WalStats Stats() const = 0;
};

}  // namespace oriel::storage
