// A full head float chunk re-packed into the block delta encoding (see delta_chunk.h): closed
// chunks make up most of the head, and exporter-style values pack several times smaller than
// their XOR bit stream, with the slack of the XOR buffer's growth freed as well.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "model/sample.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {

// Immutable. 32 bytes (a head chunk holds the largest of its kinds, 56 bytes).
class PackedFloatChunk {
 public:
  // `chunk` packed, or nullopt when its packed form would not be smaller (values that are
  // neither decimal nor slowly changing) or it does not decode. REQUIRES: chunk non-empty.
  static std::optional<PackedFloatChunk> Pack(const XorChunk& chunk);
  // The same from decoded samples, with no size condition. REQUIRES: samples non-empty,
  // timestamps strictly increasing.
  static PackedFloatChunk FromSamples(std::span<const model::Sample> samples);

  int num_samples() const { return num_samples_; }
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return max_time_; }
  // The delta-encoded bytes (DecodeDeltaChunk reads them).
  std::string_view bytes() const { return {bytes_.get(), size_}; }

  // Appends the samples to `out` (bit-exact, NaN payloads and -0 included).
  [[nodiscard]] absl::Status DecodeInto(std::vector<model::Sample>* out) const;

 private:
  PackedFloatChunk(std::string_view bytes, int num_samples, int64_t min_time, int64_t max_time);

  std::unique_ptr<char[]> bytes_;  // exactly size_ bytes: no slack as in a growing buffer
  uint32_t size_ = 0;
  int32_t num_samples_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
};

}  // namespace oriel::tsdb
