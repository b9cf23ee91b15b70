// Matching one span against the conditions of a TraceQuery, the way Jaeger's trace search does:
// a tag matches an attribute of the span, its events, its resource or its scope, compared as
// Jaeger's string form of the value.
#pragma once

#include <string>
#include <string_view>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/segment_block.h"
#include "tracestore/span_wire.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

// Jaeger's string form of an attribute value: strings as they are, bools "true"/"false", ints in
// decimal, doubles as Go's FormatFloat(v, 'g', 10) ("1.5", "123"), bytes in lower-case hex.
// Arrays, key-value lists and unset values have no string form (nullopt-like "" + false).
bool AttributeValueString(const opentelemetry::proto::common::v1::AnyValue& value,
                          std::string* out);

// The Jaeger tags the OTLP-to-Jaeger translation adds to a span besides its attributes, so that
// searches like `error=true` or `span.kind=server` work: `span.kind` (client, server, producer,
// consumer, internal; absent when unspecified), `otel.status_code` (OK, ERROR; absent when
// unset), `otel.status_description`, `error` ("true" when the status is ERROR). Returns whether
// `key` is one of them with a value, setting `out`.
bool SyntheticTag(const opentelemetry::proto::trace::v1::Span& span, std::string_view key,
                  std::string* out);

// Whether the span (with its resource and scope) satisfies every condition of `query` except
// `service` and `limit`, which the caller handles.
bool SpanMatches(const TraceQuery& query, const opentelemetry::proto::trace::v1::Span& span,
                 const opentelemetry::proto::resource::v1::Resource& resource,
                 const opentelemetry::proto::common::v1::InstrumentationScope& scope);

// Whether a segment block span may satisfy the tags of `query`, from its columns alone: false
// only when SpanMatches is false for it, so that a search need not materialize it. Attribute
// values the columns type (strings, bools, numbers), the resource, the scope, the kind and the
// status code are compared; a span with events or a status message (has_rest) or a value of
// another type may match.
bool SpanColumnsMayMatchTags(const TraceQuery& query, const SpanColumns& span);

// Whether a span read in place (span_wire.h) may satisfy the tags of `query`, with its resource
// and scope: false only when SpanMatches is false for it, so that the head need not parse it.
// Attribute values with a string form here (strings, bools, ints, doubles), the resource, the
// scope, the kind and the status are compared; a span with events or a value of another type
// may match.
bool WireSpanMayMatchTags(const TraceQuery& query, const WireSpan& span,
                          const opentelemetry::proto::resource::v1::Resource& resource,
                          const opentelemetry::proto::common::v1::InstrumentationScope& scope);

}  // namespace oriel::tracestore
