// What the trace head's allocations cost, so that the head is bounded by the memory it really
// holds (head_span.h, trace_db.cc's index estimates).
#pragma once

#include <cstddef>

namespace oriel::tracestore {

// What one allocation of `n` bytes takes from glibc's malloc: an 8-byte header, 16-byte
// alignment, 32 bytes at least. jemalloc (which the server links) has no header and finer size
// classes, so for it this errs a little high, which is the safe side for a bound.
constexpr size_t MallocChunkBytes(size_t n) {
  const size_t chunk = (n + 8 + 15) & ~size_t{15};
  return chunk < 32 ? 32 : chunk;
}

}  // namespace oriel::tracestore
