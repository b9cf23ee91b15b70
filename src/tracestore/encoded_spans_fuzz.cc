// Fuzzes the in-place reading of a serialized ResourceSpans against protobuf's parser: what
// ReadEncodedResourceSpans reads must parse, with the same spans (ids, name, kind, times, status
// code, validity) in the same order, and reading never crashes on any input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/encoded_spans.h"
#include "tracestore/span_validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace oriel::tracestore;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  EncodedResourceSpans read;
  if (!ReadEncodedResourceSpans(bytes, &read).ok()) return 0;
  opentelemetry::proto::trace::v1::ResourceSpans rs;
  if (!rs.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    std::fprintf(stderr, "read in place but protobuf does not parse it\n");
    std::abort();
  }
  if (static_cast<size_t>(rs.scope_spans_size()) != read.scopes.size()) std::abort();
  for (size_t s = 0; s < read.scopes.size(); ++s) {
    const auto& ss = rs.scope_spans(static_cast<int>(s));
    if (static_cast<size_t>(ss.spans_size()) != read.scopes[s].spans.size()) std::abort();
    for (size_t i = 0; i < read.scopes[s].spans.size(); ++i) {
      const auto& span = ss.spans(static_cast<int>(i));
      const EncodedSpan& e = read.scopes[s].spans[i];
      if (span.trace_id() != e.trace_id || span.span_id() != e.span_id ||
          span.parent_span_id() != e.parent_span_id || span.name() != e.name ||
          span.kind() != e.kind || span.status().code() != e.status_code ||
          span.start_time_unix_nano() != e.start_time_unix_nano ||
          span.end_time_unix_nano() != e.end_time_unix_nano ||
          ValidateSpan(span).empty() != e.valid) {
        std::fprintf(stderr, "span %zu of scope %zu read differently\n", i, s);
        std::abort();
      }
    }
  }
  return 0;
}
