// A span as the trace head holds it: serialized (the bytes of the WAL record that made it
// durable), with only the fields the head's indexes and scans need decoded. A parsed OTLP span
// costs ~7x its serialized size in memory (every attribute key and value is an allocation, see
// span_memory.h); this form costs about its serialized size, and is parsed only when a query
// reads the span's attributes (a flush encodes segments from the bytes in place, span_wire.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/encoded_spans.h"
#include "tracestore/span_wire.h"
#include "tracestore/stored_span.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

struct HeadSpan {
  std::shared_ptr<const ResourceEntry> resource;
  std::shared_ptr<const ScopeEntry> scope;
  std::string bytes;  // the serialized opentelemetry.proto.trace.v1.Span
  std::string span_id;
  std::string parent_span_id;
  int64_t start = 0;
  int64_t end = 0;
  int32_t kind = 0;
  // The name as it is in `bytes`, which it would otherwise often take an allocation more for.
  uint32_t name_offset = 0;
  uint32_t name_size = 0;
  // In the trace head's index: the count of its service's spans of this operation, so that the
  // span leaving the head need not look its name up again (in cold bytes, after a flush).
  int64_t* operation_spans = nullptr;

  std::string_view name() const { return std::string_view(bytes).substr(name_offset, name_size); }
};

// The head form of `span`, whose serialization is `bytes`.
HeadSpan MakeHeadSpan(std::shared_ptr<const ResourceEntry> resource,
                      std::shared_ptr<const ScopeEntry> scope,
                      const opentelemetry::proto::trace::v1::Span& span, std::string bytes);

// The head form of a span read in place (its bytes are copied); resource and scope are left
// null for the caller to set.
HeadSpan MakeHeadSpan(const EncodedSpan& span);

// Parses `head` into `out` (whose span is cleared first, so a reused StoredSpan keeps its
// allocations). False when the bytes do not parse, which the head never stores.
bool ParseHeadSpan(const HeadSpan& head, StoredSpan* out);

// Whether two head spans are the same stored span (as SameSpan).
bool SameHeadSpan(const HeadSpan& a, const HeadSpan& b);

// Buffers HeadSpanMatches reuses across calls.
struct HeadMatchScratch {
  opentelemetry::proto::trace::v1::Span span;
  WireSpan wire;
};

// Whether the span satisfies `query` as SpanMatches says. When the query has tags, which the
// decoded fields cannot answer, the span is read in place first (WireSpanMayMatchTags), and
// parsed (into `scratch`) only when that cannot rule it out.
bool HeadSpanMatches(const TraceQuery& query, const HeadSpan& span, HeadMatchScratch* scratch);

// Heap bytes `span` owns beside the HeadSpan object itself (its strings past their inline
// capacity), allocations rounded as MallocChunkBytes says. Resources and scopes are shared.
size_t HeadSpanHeapBytes(const HeadSpan& span);

// The serialized spans of a serialized ResourceSpans, in the order of its scopes and their spans
// (the order of `rs.scope_spans(i).spans(j)` after parsing it), as views into `serialized`.
// kInvalidArgument when the bytes are not a well-formed ResourceSpans encoding.
[[nodiscard]] absl::Status SplitSerializedSpans(std::string_view serialized,
                                                std::vector<std::string_view>* spans);

}  // namespace oriel::tracestore
