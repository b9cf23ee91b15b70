// A bounded sample of the traces the load generator sent, written out (--trace-ids-out) so that a
// harness can look them up and search for them afterwards. Reservoir sampling: while fewer than
// `capacity` traces were offered every one is kept, after that each offered trace replaces a
// random kept one with probability capacity/offered, so early and late traces are equally
// likely to be in the sample. Same seed and traces, same sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "loadgen/rng.h"
#include "loadgen/trace_generator.h"

namespace oriel::loadgen {

struct SampledTrace {
  std::string trace_id;   // 32 lowercase hex digits
  std::string service;    // service.name of the root span's resource
  std::string operation;  // the root span's name
};

class TraceIdSample {
 public:
  TraceIdSample(size_t capacity, uint64_t seed)
      : capacity_(capacity), rng_(seed ^ 0x5a3c'9e17'd2b4'6f81ULL) {}

  // Offers one sent trace; traces without spans are ignored. Not thread-safe.
  void Add(const GeneratedTrace& trace, const TraceGenerator& generator);

  const std::vector<SampledTrace>& traces() const { return traces_; }
  int64_t offered() const { return offered_; }

  // One line per kept trace: "<trace id>\t<service>\t<operation>\n" (tabs: operations such as
  // "GET /api/cart" contain spaces).
  std::string Format() const;

  // Writes Format() to `path`; fails naming the path when it cannot.
  [[nodiscard]] absl::Status WriteFile(const std::string& path) const;

 private:
  size_t capacity_;
  Rng rng_;
  int64_t offered_ = 0;
  std::vector<SampledTrace> traces_;
};

// Lowercase hex of raw bytes (OTLP trace and span ids).
std::string HexId(std::string_view bytes);

}  // namespace oriel::loadgen
