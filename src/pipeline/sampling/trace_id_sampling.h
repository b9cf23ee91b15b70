// The arithmetic of the OpenTelemetry Collector's trace-id based sampling decisions, so that an
// Oriel instance and a collector configured alike keep the same traces. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace oriel::pipeline::sampling {

// FNV-1a, 32 and 64 bits, over `prefix` then `data` (Go's hash/fnv New32a / New64a).
uint32_t Fnv1a32(std::string_view prefix, std::string_view data);
uint64_t Fnv1a64(std::string_view prefix, std::string_view data);

// probabilistic_sampler, mode hash_seed: keeps the trace when the low 14 bits of
// FNV-1a32(seed as 4 little-endian bytes, trace id) are below float32(percentage) * 163.84
// (computed in float32 and truncated, as the collector does). >= 100 keeps all, <= 0 none.
bool HashSeedSampled(std::string_view trace_id, uint32_t seed, float percentage);

// probabilistic_sampler, mode proportional, for spans without an incoming tracestate threshold:
// the 56-bit rejection threshold for `ratio` (in (0, 1]) rounded to `precision` hex digits
// (pkg/sampling ProbabilityToThresholdWithPrecision). Ratios under 2^-56 are raised to it.
uint64_t ProportionalThreshold(double ratio, int precision);
// The W3C randomness of a 16-byte trace id: its last 7 bytes, big-endian.
uint64_t TraceIdRandomness(std::string_view trace_id);

// The OpenTelemetry values of a W3C tracestate's `ot` member (`ot=th:<hex>;rv:<hex>`), as 56-bit
// numbers: th (1 to 14 hex digits, right-padded with zeros) is the rejection threshold an earlier
// sampler applied, rv (exactly 14 hex digits) replaces the trace id's randomness. A value that is
// absent or malformed is nullopt.
struct OtelTraceState {
  std::optional<uint64_t> threshold;
  std::optional<uint64_t> randomness;
};
OtelTraceState ParseOtelTraceState(std::string_view tracestate);

// tail_sampling's probabilistic policy: keeps the trace when FNV-1a64(salt, trace id) <=
// TailThreshold(percentage / 100). An empty salt means the collector's "default-hash-seed".
uint64_t TailThreshold(double ratio);
bool TailProbabilisticSampled(std::string_view salt, std::string_view trace_id, uint64_t threshold);

}  // namespace oriel::pipeline::sampling
