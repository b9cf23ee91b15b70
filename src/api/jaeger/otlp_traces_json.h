// OTLP/JSON of stored spans, as Jaeger's api_v3 answers them (ptrace's JSON marshaler):
// lowerCamelCase keys, trace and span ids as lower-case hex, enums as integers, 64-bit integers
// as decimal strings, default values omitted.
#pragma once

#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::api::jaeger {

// {"resourceSpans":[...]} of `resource_spans` (a TracesData message).
std::string OtlpTracesJson(
    const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans);

}  // namespace oriel::api::jaeger
