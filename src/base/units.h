// Durations and byte sizes in the notation of Prometheus configs and queries ("1h30m", "512MiB").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace oriel {

// Parses a Prometheus duration: one or more of <int>y, w, d, h, m, s, ms in that order
// (1y = 365d), or "0". Fails with a message that names the input.
[[nodiscard]] absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);

// Formats the way Prometheus prints durations ("1h30m", "15s", "0s").
std::string DurationString(absl::Duration d);

// Parses a byte size: a plain number of bytes, or a number with B, KB, MB, GB, TB (powers of
// 1024, as Prometheus' units do) or KiB, MiB, GiB, TiB.
[[nodiscard]] absl::StatusOr<int64_t> ParseByteSize(std::string_view text);

}  // namespace oriel
