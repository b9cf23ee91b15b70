// OTLP/HTTP JSON bodies (the OTLP specification's JSON encoding, "JSON Protobuf Encoding"): the
// proto3 JSON mapping with lowerCamelCase keys and int64 values as strings, except that enum
// values are integers and traceId/spanId/parentSpanId are hex strings, not base64.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace oriel::loadgen {

// `message` (an OTLP export request) as an OTLP/JSON body.
absl::StatusOr<std::string> ToOtlpJson(const google::protobuf::Message& message);

// Rewrites the values of the keys traceId, spanId and parentSpanId in compact proto3 JSON from
// `from_base64` to hex, or back. Such a key cannot occur inside a JSON string value (its quotes
// would be escaped), so the scan needs no parser. Fails on a value that is not valid input.
absl::StatusOr<std::string> RewriteOtlpIds(std::string_view json, bool from_base64);

// Headers for an OTLP/HTTP JSON POST ("Name: value").
std::vector<std::string> OtlpJsonHeaders();

}  // namespace oriel::loadgen
