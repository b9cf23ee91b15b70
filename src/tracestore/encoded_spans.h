// A serialized opentelemetry.proto.trace.v1.ResourceSpans read in place: checked as strictly as
// protobuf parses it, with the fields the write path needs (ids, name, kind, times, status code)
// as views into the bytes. Parsing the message instead costs several allocations per attribute,
// the largest single cost of trace ingest, for spans that the head keeps as bytes anyway.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace oriel::tracestore {

struct EncodedSpan {
  std::string_view bytes;  // the serialized Span
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  std::string_view name;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  int32_t kind = 0;
  int32_t status_code = 0;
  // Whether ValidateSpan accepts the span (decided once, when the bytes are read).
  bool valid = false;
};

struct EncodedScopeSpans {
  std::string_view scope;  // the serialized InstrumentationScope ("" when absent)
  std::string_view schema_url;
  std::vector<EncodedSpan> spans;
};

struct EncodedResourceSpans {
  std::string_view bytes;     // the whole serialized ResourceSpans
  std::string_view resource;  // the serialized Resource ("" when absent)
  std::string_view schema_url;
  std::vector<EncodedScopeSpans> scopes;
};

// Reads the serialized ResourceSpans `bytes` into `out` (views into `bytes`). kInvalidArgument
// when protobuf would not parse the bytes as a ResourceSpans (malformed down to the attribute
// values, a string that is not UTF-8, messages nested 99 deep counted from `depth`, the depth of
// the ResourceSpans itself), and for a few encodings protobuf parses but never writes: the
// resource or a scope more than once (parsing merges them), a tag or length in more bytes than
// needed, groups. Parse and re-serialize such bytes to read them here. What this reads, protobuf
// parses (encoded_spans_fuzz checks it).
[[nodiscard]] absl::Status ReadEncodedResourceSpans(std::string_view bytes,
                                                    EncodedResourceSpans* out, int depth = 1);

// Reads a serialized message whose field 1 is its repeated ResourceSpans and that has no other
// fields protobuf would look into (ExportTraceServiceRequest, TracesData): one
// EncodedResourceSpans per resource, in order, as ReadEncodedResourceSpans reads them. Errors as
// ReadEncodedResourceSpans (the message is at depth 0), naming the resource.
[[nodiscard]] absl::Status ReadEncodedTracesData(std::string_view bytes,
                                                 std::vector<EncodedResourceSpans>* out);

// The serialization of `rs` with only its spans that `keep` accepts (scopes left without a span
// and the resource, when none is left, are dropped; "" then). Fields of ResourceSpans and
// ScopeSpans other than the resource, scope, spans and schema urls are not kept.
template <typename Keep>
std::string EncodeKeptSpans(const EncodedResourceSpans& rs, Keep keep);

// Appends the length-delimited field `number` holding `bytes`.
void PutEncodedField(std::string& out, uint32_t number, std::string_view bytes);

template <typename Keep>
std::string EncodeKeptSpans(const EncodedResourceSpans& rs, Keep keep) {
  std::string out;
  std::string scope;
  for (const EncodedScopeSpans& ss : rs.scopes) {
    scope.clear();
    for (const EncodedSpan& span : ss.spans) {
      if (keep(span)) PutEncodedField(scope, 2, span.bytes);
    }
    if (scope.empty()) continue;
    std::string whole;
    if (!ss.scope.empty()) PutEncodedField(whole, 1, ss.scope);
    whole += scope;
    if (!ss.schema_url.empty()) PutEncodedField(whole, 3, ss.schema_url);
    PutEncodedField(out, 2, whole);
  }
  if (out.empty()) return out;
  std::string whole;
  if (!rs.resource.empty()) PutEncodedField(whole, 1, rs.resource);
  whole += out;
  if (!rs.schema_url.empty()) PutEncodedField(whole, 3, rs.schema_url);
  return whole;
}

}  // namespace oriel::tracestore
