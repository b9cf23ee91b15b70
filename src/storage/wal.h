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

class Wal {
 public:
  // Opens (creating if needed) the log in `dir`. New appends go to a fresh segment after the
  // existing ones, so replay and append never touch the same file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Wal>> Open(const std::string& dir,
                                                                 WalOptions options = {});
  virtual ~Wal() = default;

  // Appends the records as one unit (all or none survive a crash) and waits until they are
  // fsync'd. Thread-safe; concurrent calls are batched into one write and one fsync.
  [[nodiscard]] virtual absl::Status Append(std::span<const std::string_view> records) = 0;

  // Calls `fn` with every record of segments >= `first_segment`, oldest first. Stops at `fn`'s
  // first error. Call before the first Append.
  [[nodiscard]] virtual absl::Status Replay(
      uint64_t first_segment, const std::function<absl::Status(std::string_view)>& fn) = 0;

  // Closes the current segment and starts a new one; returns the new segment's index. Records
  // appended before the call are in segments below it (for checkpoints and truncation).
  [[nodiscard]] virtual absl::StatusOr<uint64_t> Cut() = 0;

  // Deletes every segment with index < `segment` (after their data is safe elsewhere).
  [[nodiscard]] virtual absl::Status RemoveSegmentsBefore(uint64_t segment) = 0;

  // Index of the segment appends go to now.
  virtual uint64_t CurrentSegment() const = 0;
};

}  // namespace oriel::storage
