#include "tsdb/packed_chunk.h"

#include <cstring>

#include "base/check.h"
#include "base/status.h"
#include "tsdb/delta_chunk.h"

namespace oriel::tsdb {

PackedFloatChunk::PackedFloatChunk(std::string_view bytes, int num_samples, int64_t min_time,
                                   int64_t max_time)
    : bytes_(std::make_unique_for_overwrite<char[]>(bytes.size())),
      size_(static_cast<uint32_t>(bytes.size())),
      num_samples_(num_samples),
      min_time_(min_time),
      max_time_(max_time) {
  ORIEL_CHECK(bytes.size() <= UINT32_MAX);
  std::memcpy(bytes_.get(), bytes.data(), bytes.size());
}

std::optional<PackedFloatChunk> PackedFloatChunk::Pack(const XorChunk& chunk) {
  ORIEL_CHECK(chunk.num_samples() > 0);
  std::vector<model::Sample> samples;
  samples.reserve(static_cast<size_t>(chunk.num_samples()));
  if (!AppendXorFloats(chunk.bytes(), chunk.num_samples(), INT64_MIN, INT64_MAX, &samples).ok() ||
      samples.size() != static_cast<size_t>(chunk.num_samples())) {
    return std::nullopt;
  }
  std::string packed = EncodeDeltaChunk(samples, DeltaLayout::kPacked);
  if (packed.size() >= chunk.bytes().size()) return std::nullopt;
  return PackedFloatChunk(packed, chunk.num_samples(), chunk.min_time(), chunk.max_time());
}

PackedFloatChunk PackedFloatChunk::FromSamples(std::span<const model::Sample> samples) {
  ORIEL_CHECK(!samples.empty() && samples.size() <= INT32_MAX);
  return PackedFloatChunk(EncodeDeltaChunk(samples, DeltaLayout::kPacked),
                          static_cast<int>(samples.size()), samples.front().timestamp_ms,
                          samples.back().timestamp_ms);
}

absl::Status PackedFloatChunk::DecodeInto(std::vector<model::Sample>* out) const {
  return DecodeDeltaChunkInto(bytes(), num_samples_, out);
}

}  // namespace oriel::tsdb
