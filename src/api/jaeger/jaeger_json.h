// The Jaeger UI JSON trace model (jaeger model/json: traceID, spans, processes, warnings) built
// from OTLP spans the way Jaeger v2's query service converts them (the collector-contrib Jaeger
// translator, then the UI converter): ids as lower-case hex, times in microseconds, span kind,
// status and scope as tags, events as logs, one process per distinct resource.
#pragma once

#include <string>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "tracestore/trace_store.h"

namespace oriel::api::jaeger {

// The trace as one Jaeger UI JSON object:
// {"traceID","spans":[...],"processes":{"p1":{"serviceName","tags"}},"warnings":null}.
// Spans appear in storage order (resource, scope, span); processes are numbered p1, p2, ... in
// the order their first span appears, identical processes sharing one id.
std::string JaegerTraceJson(const tracestore::Trace& trace);

// How Jaeger prints a 16-byte trace id: 32 hex digits, or 16 when the high half is zero (a
// 64-bit id).
std::string FormatTraceId(std::string_view raw);

// The Jaeger tag type and JSON value of an OTLP attribute value: string, bool, int64, float64,
// binary (base64); arrays and maps become a `string` holding their JSON, as the translator does.
struct JaegerTagValue {
  std::string type;
  std::string json;  // the JSON text of the value
};
JaegerTagValue ToJaegerTagValue(const opentelemetry::proto::common::v1::AnyValue& value);

// The Jaeger name of an OTLP span kind ("server", "client", ...), or "" for unspecified and
// unknown kinds.
std::string_view SpanKindName(int32_t kind);

}  // namespace oriel::api::jaeger
