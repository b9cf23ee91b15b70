// Checks that an OTLP span is storable: the rules of opentelemetry.proto.trace.v1.Span that the
// store relies on (ids, time order, a name).
#pragma once

#include <string>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/encoded_spans.h"

namespace oriel::tracestore {

// "" when `span` is valid, otherwise why not, naming the field, e.g.
// `trace_id must be 16 bytes, got 3`. The rules (OTLP trace.proto): trace_id is 16 bytes and
// not all zero, span_id 8 bytes and not all zero, parent_span_id empty or 8 bytes, name
// non-empty (the spec calls it required), end_time_unix_nano >= start_time_unix_nano.
std::string ValidateSpan(const opentelemetry::proto::trace::v1::Span& span);
// The same of a span read in place (its `valid` is what this says).
std::string ValidateSpan(const EncodedSpan& span);

}  // namespace oriel::tracestore
