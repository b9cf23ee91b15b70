// zstd for the block files, as Status-returning calls that treat compressed input as hostile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::tsdb {

// One zstd frame holding `data` (with its content size in the frame header).
[[nodiscard]] absl::StatusOr<std::string> ZstdCompress(std::string_view data, int level);

// Decompresses one frame that must hold exactly `size` bytes (the size the container
// recorded); `size` must be at most `max_size`. kDataLoss on any mismatch or corruption.
[[nodiscard]] absl::StatusOr<std::string> ZstdDecompress(std::string_view frame, uint64_t size,
                                                         uint64_t max_size);

}  // namespace oriel::tsdb
