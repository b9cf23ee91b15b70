// Estimates of what parsed OTLP spans cost in memory (heap allocations included), so that the
// trace head is bounded by what it really holds rather than by the spans' serialized size, which
// is several times smaller (every attribute key and value is its own allocation).
#pragma once

#include <cstddef>

#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::tracestore {

// Bytes of heap `span` owns (its message, strings, attributes, events, links, status), each
// allocation rounded up as MallocChunkBytes says. Not counted: the Span object itself when it is
// embedded in another object, shared resources and scopes. Cheap: no reflection, one pass over
// the attributes.
size_t EstimatedSpanHeapBytes(const opentelemetry::proto::trace::v1::Span& span);

// What one allocation of `n` bytes takes from glibc's malloc: an 8-byte header, 16-byte
// alignment, 32 bytes at least. jemalloc (which the server links) has no header and finer size
// classes, so for it this errs a little high, which is the safe side for a bound.
constexpr size_t MallocChunkBytes(size_t n) {
  const size_t chunk = (n + 8 + 15) & ~size_t{15};
  return chunk < 32 ? 32 : chunk;
}

}  // namespace oriel::tracestore
