// The block-only float chunk encoding (kChunkDelta): byte-aligned columns that the block's page
// compression (zstd) squeezes far better than an XOR bit stream. Values that are integer counts
// of a decimal resolution (integer / 10^k, k <= 9: what exporters print for counters and most
// gauges) are stored as integer differences; any other chunk keeps its float bits, XORed with the
// previous value.
//
// Format (the sample count n >= 1 is kept beside the bytes, as for XorChunk):
//   byte    header: 0x20: float mode; otherwise bits 0-3 the scale k (values are
//           integer / 10^k) and bit 4 set when the values are second-order differences (else
//           first-order)
//   varint  t0
//   uvarint D, the grid interval (the median of the chunk's timestamp deltas; 0 when n == 1)
//   n - 1 x varint r: t_i = g_{i-1} + D + r, where g_0 = t0 and g_i = g_{i-1} + D while |r| < D/2
//           (the sample is on the grid, up to jitter: a late scrape costs one residual, not
//           two), else g_i = t_i (a gap or a restart re-anchors the grid)
//   values, integer mode: varint integer value of sample 0; if n > 1, byte w (1..8), then w byte
//           planes of the n - 1 zig-zag differences: plane b holds byte b (least significant
//           first) of each
//   values, float mode: 8 byte planes of the n values' IEEE bits, each XORed with the previous
//           value's (the first with 0)
//   values, packed mode (header bit 0x40, block format 3; bits 0-4 as in integer mode): values
//           not exact at the scale are exceptions, kept whole: uvarint e (< n), then e x
//           (uvarint gap to the previous exception's position + 1, fixed64 IEEE bits); of the
//           m = n - e other values: varint integer value of the first; if m > 1, varint base,
//           byte w (0..64), then the m - 1 differences minus base, w bits each, packed
//           LSB-first into ceil((m - 1) * w / 8) bytes. A counter or gauge thus costs what its
//           increments' range needs, a stale marker or an odd value does not push the chunk into
//           float mode, and a steady rate costs nothing.
// varints are zig-zag LEB128; integer arithmetic wraps (uint64), so hostile input cannot
// overflow. Float mode keeps every bit, NaN payloads (stale markers) included.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/sample.h"

namespace oriel::tsdb {

// How the values of an integer-mode chunk are laid out: byte planes (block format 2) or packed
// (block format 3).
enum class DeltaLayout { kBytePlanes, kPacked };

// REQUIRES: samples non-empty, timestamps strictly increasing.
std::string EncodeDeltaChunk(std::span<const model::Sample> samples, DeltaLayout layout);

// Decodes exactly `num_samples` samples; kDataLoss on malformed, short or trailing input.
[[nodiscard]] absl::StatusOr<std::vector<model::Sample>> DecodeDeltaChunk(std::string_view bytes,
                                                                          int num_samples);

// The same, appending the samples to `out` (what bulk reads decode straight into); on error
// `out` is left as it was.
[[nodiscard]] absl::Status DecodeDeltaChunkInto(std::string_view bytes, int num_samples,
                                                std::vector<model::Sample>* out);
// The same, keeping only the samples within [mint, maxt] (as AppendXorFloats does for XOR).
[[nodiscard]] absl::Status AppendDeltaFloats(std::string_view bytes, int num_samples, int64_t mint,
                                             int64_t maxt, std::vector<model::Sample>* out);

}  // namespace oriel::tsdb
