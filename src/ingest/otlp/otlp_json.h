// The OTLP/JSON codec shared by the three signals: OTLP requests are proto3 JSON with the
// exceptions of the OTLP specification (trace and span ids are hex strings, not base64; enums
// are integers; 64-bit integers may be numbers or strings; unknown fields are ignored).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace oriel::ingest::otlp {

// Which Export*ServiceRequest a JSON body holds; it decides where hex ids are expected.
enum class OtlpSignal { kTraces, kMetrics, kLogs };

// Parses an OTLP/JSON `Export{Trace,Metrics,Logs}ServiceRequest` for `signal` into `out`
// (cleared first). Keys may be lowerCamelCase or the proto's snake_case. Hex ids
// (`traceId`, `spanId`, `parentSpanId` of spans, span links, log records and exemplars) are
// accepted in either case and must decode to exactly 16 (trace) or 8 (span) bytes, or be empty.
// Fails with kInvalidArgument naming the offending field, e.g.
// `cannot parse OTLP JSON: resourceSpans[0].scopeSpans[0].spans[1].traceId: ...`.
// REQUIRES: `out` is the request message type of `signal`.
[[nodiscard]] absl::Status ParseOtlpJson(std::string_view json, OtlpSignal signal,
                                         google::protobuf::Message& out);

// Serializes a response message (e.g. ExportMetricsServiceResponse) as OTLP/JSON: lowerCamelCase
// keys, 64-bit integers as decimal strings, default values omitted. Bytes fields are base64:
// use this for responses only, which carry no trace or span ids.
std::string ToOtlpJson(const google::protobuf::Message& message);

// Lower-case hex of `bytes` (how OTLP/JSON and Prometheus exemplars spell trace and span ids).
std::string HexEncode(std::string_view bytes);

}  // namespace oriel::ingest::otlp
