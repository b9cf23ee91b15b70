// Configuration of trace sampling: probabilistic head sampling (the OpenTelemetry Collector's
// `probabilistic_sampler`) and tail sampling with a fixed policy set (its `tail_sampling`
// processor with `status_code`, `latency` and `probabilistic` policies).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace oriel::pipeline::sampling {

// How the head sampler turns a trace id into a decision; both are the collector's modes.
enum class HeadSamplerMode {
  // FNV-1a (32 bits) of the seed and the trace id, 14 bits compared with the percentage.
  kHashSeed,
  // W3C trace-id randomness (the trace id's last 7 bytes) compared with a rejection threshold.
  kProportional,
};

struct HeadSamplingOptions {
  bool enabled = false;
  // Of traces, in [0, 100]; 100 forwards everything untouched. The collector reads it as a
  // float32, and so do we, so that both round the same way.
  double sampling_percentage = 100;
  // All Oriel instances (and collectors) that must agree on decisions need the same seed.
  uint32_t hash_seed = 0;
  // Unset: kHashSeed when hash_seed != 0, else kProportional (the collector's rule).
  std::optional<HeadSamplerMode> mode;
  // kProportional only: hex digits of the rejection threshold, in [1, 14] (collector default 4).
  int sampling_precision = 4;
};

struct TailSamplingOptions {
  bool enabled = false;
  // How long after its first span a trace waits in memory for the rest before it is decided.
  absl::Duration decision_wait = absl::Seconds(30);  // the collector's default
  // Bounds on the traces waiting for a decision; over either, the oldest is decided early.
  int64_t num_traces = 50000;              // the collector's default
  int64_t max_bytes = int64_t{256} << 20;  // serialized size of the waiting spans
  // Policy `status_code: [ERROR]`: keep a trace when any of its spans has status ERROR.
  bool keep_errors = true;
  // Policy `latency`: keep a trace whose duration (latest span end minus earliest span start, in
  // whole milliseconds) is >= this. Zero turns the policy off.
  absl::Duration latency_threshold = absl::ZeroDuration();
  // Policy `probabilistic`: the share of the remaining traces kept, in [0, 100], by a hash of the
  // trace id salted with `hash_salt` ("" = the collector's default salt).
  double sampling_percentage = 100;
  std::string hash_salt;
  // Decided trace ids remembered so that late spans follow their trace's decision.
  int64_t decision_cache_size = 100000;
  // How often the background thread decides the traces whose wait is over; zero starts no thread
  // (tests then call Tick).
  absl::Duration tick_interval = absl::Seconds(1);
};

struct SamplingOptions {
  HeadSamplingOptions head;
  TailSamplingOptions tail;
};

// OK, or kInvalidArgument naming the first bad field, e.g.
// `cannot use head sampling options: sampling_percentage must be in [0, 100], got 120`.
[[nodiscard]] absl::Status ValidateHeadSamplingOptions(const HeadSamplingOptions& options);
[[nodiscard]] absl::Status ValidateTailSamplingOptions(const TailSamplingOptions& options);
// Both of the above.
[[nodiscard]] absl::Status ValidateSamplingOptions(const SamplingOptions& options);

}  // namespace oriel::pipeline::sampling
