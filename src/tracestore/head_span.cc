#include "tracestore/head_span.h"

#include <utility>

#include "tracestore/span_match.h"
#include "tracestore/span_memory.h"
#include "tracestore/span_wire.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::Span;

// ResourceSpans.scope_spans and ScopeSpans.spans are both field 2.
constexpr uint32_t kScopeSpansField = 2;
constexpr uint32_t kSpansField = 2;
constexpr uint32_t kSpanNameField = 5;

// A heap string's buffer, when it does not fit the small-string capacity of libstdc++.
size_t StringHeapBytes(const std::string& s) {
  constexpr size_t kInlineCapacity = 15;
  return s.capacity() > kInlineCapacity ? MallocChunkBytes(s.capacity() + 1) : 0;
}

// Where the name `parsed` (the span's name as parsed) is in a serialized span. Parsing keeps the
// last occurrence of the field, but any occurrence with the same bytes is as good, so the scan
// stops at the first match: the name comes before the attributes in every usual encoding.
std::string_view FindName(std::string_view span, std::string_view parsed) {
  if (parsed.empty()) return {};
  ByteReader reader(span);
  WireField field;
  while (!reader.empty()) {
    if (!ReadWireField(reader, &field)) return {};
    if (field.number == kSpanNameField && field.wire_type == kWireLength && field.bytes == parsed) {
      return field.bytes;
    }
  }
  return {};
}

}  // namespace

HeadSpan MakeHeadSpan(std::shared_ptr<const ResourceEntry> resource,
                      std::shared_ptr<const ScopeEntry> scope, const Span& span,
                      std::string bytes) {
  HeadSpan head{.resource = std::move(resource),
                .scope = std::move(scope),
                .bytes = std::move(bytes),
                .span_id = span.span_id(),
                .parent_span_id = span.parent_span_id(),
                .start = static_cast<int64_t>(span.start_time_unix_nano()),
                .end = static_cast<int64_t>(span.end_time_unix_nano()),
                .kind = static_cast<int32_t>(span.kind())};
  const std::string_view name = FindName(head.bytes, span.name());
  if (!name.empty()) {
    head.name_offset = static_cast<uint32_t>(name.data() - head.bytes.data());
    head.name_size = static_cast<uint32_t>(name.size());
  }
  return head;
}

HeadSpan MakeHeadSpan(const EncodedSpan& span) {
  HeadSpan head{.resource = nullptr,
                .scope = nullptr,
                .bytes = std::string(span.bytes),
                .span_id = std::string(span.span_id),
                .parent_span_id = std::string(span.parent_span_id),
                .start = static_cast<int64_t>(span.start_time_unix_nano),
                .end = static_cast<int64_t>(span.end_time_unix_nano),
                .kind = span.kind};
  if (!span.name.empty()) {
    head.name_offset = static_cast<uint32_t>(span.name.data() - span.bytes.data());
    head.name_size = static_cast<uint32_t>(span.name.size());
  }
  return head;
}

bool ParseHeadSpan(const HeadSpan& head, StoredSpan* out) {
  out->resource = head.resource;
  out->scope = head.scope;
  return out->span.ParseFromString(head.bytes);
}

bool SameHeadSpan(const HeadSpan& a, const HeadSpan& b) {
  return a.span_id == b.span_id && a.name() == b.name() && a.start == b.start && a.end == b.end;
}

bool HeadSpanMatches(const TraceQuery& query, const HeadSpan& span, HeadMatchScratch* scratch) {
  if (!query.operation.empty() && span.name() != query.operation) return false;
  if (query.span_kind.has_value() && span.kind != *query.span_kind) return false;
  if (query.start_unix_nano != 0 && span.start < query.start_unix_nano) return false;
  if (query.end_unix_nano != 0 && span.start > query.end_unix_nano) return false;
  // As SpanMatches computes it: unsigned difference, then signed.
  const auto duration =
      static_cast<int64_t>(static_cast<uint64_t>(span.end) - static_cast<uint64_t>(span.start));
  if (query.min_duration_nano != 0 && duration < query.min_duration_nano) return false;
  if (query.max_duration_nano != 0 && duration > query.max_duration_nano) return false;
  if (query.tags.empty()) return true;
  // Most spans of a tag search hold no match: read in place, they are ruled out for a fraction
  // of a parse. Bytes that do not read in place are parsed.
  if (ReadWireSpan(span.bytes, &scratch->wire) &&
      !WireSpanMayMatchTags(query, scratch->wire, span.resource->resource, span.scope->scope)) {
    return false;
  }
  // Tags read the attributes: SpanMatches is the one definition of them.
  if (!scratch->span.ParseFromString(span.bytes)) return false;
  return SpanMatches(query, scratch->span, span.resource->resource, span.scope->scope);
}

size_t HeadSpanHeapBytes(const HeadSpan& span) {
  return StringHeapBytes(span.bytes) + StringHeapBytes(span.span_id) +
         StringHeapBytes(span.parent_span_id);
}

absl::Status SplitSerializedSpans(std::string_view serialized,
                                  std::vector<std::string_view>* spans) {
  ByteReader resource_spans(serialized);
  WireField scope_spans;
  while (!resource_spans.empty()) {
    if (!ReadWireField(resource_spans, &scope_spans)) {
      return absl::InvalidArgumentError("malformed ResourceSpans encoding");
    }
    if (scope_spans.number != kScopeSpansField || scope_spans.wire_type != kWireLength) continue;
    ByteReader scope(scope_spans.bytes);
    WireField span;
    while (!scope.empty()) {
      if (!ReadWireField(scope, &span)) {
        return absl::InvalidArgumentError("malformed ScopeSpans encoding");
      }
      if (span.number == kSpansField && span.wire_type == kWireLength) spans->push_back(span.bytes);
    }
  }
  return absl::OkStatus();
}

}  // namespace oriel::tracestore
