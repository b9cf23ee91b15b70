// Parameter parsing of the Jaeger query APIs (jaeger cmd/query/app/query_parser.go): Go duration
// strings, Jaeger trace ids, and the v1 trace search and dependencies parameters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http_message.h"
#include "tracestore/trace_store.h"

namespace oriel::api::jaeger {

// Go's time.ParseDuration: a signed sequence of decimal numbers with optional fractions and a
// unit each ("ns", "us", "µs", "μs", "ms", "s", "m", "h"), e.g. "1.5ms", "2h45m", "-100us"; "0"
// needs no unit. Returns nanoseconds; fails with kInvalidArgument on bad syntax or overflow.
[[nodiscard]] absl::StatusOr<int64_t> ParseGoDuration(std::string_view text);

// A Jaeger trace id: 1 to 32 hex digits, shorter ids left-padded with zeros (64-bit ids).
// Returns the 16 raw bytes.
[[nodiscard]] absl::StatusOr<std::string> ParseTraceId(std::string_view hex);

// The Jaeger OTLP span kind names ("server", "client", "producer", "consumer", "internal",
// "unspecified") as OTLP SpanKind values; kInvalidArgument naming `param` for others.
[[nodiscard]] absl::StatusOr<int32_t> ParseSpanKind(std::string_view name, std::string_view param);

// GET /api/traces parameters (service, operation, tag, tags, start, end, lookback, minDuration,
// maxDuration, limit, traceID). `now_unix_nano` fills a missing end; a missing start is end minus
// `lookback` when it is a Go duration, else end minus two days (Jaeger's default).
struct SearchParams {
  tracestore::TraceQuery query;
  std::vector<std::string> trace_ids;  // raw 16-byte ids of traceID=; when set, a lookup
};
// Errors (kInvalidArgument) read like Jaeger's and name the parameter, e.g.
// `unable to parse param 'minDuration': ...` or `parameter 'service' is required`.
[[nodiscard]] absl::StatusOr<SearchParams> ParseSearchParams(const net::Params& form,
                                                             int64_t now_unix_nano);

// GET /api/dependencies parameters: endTs (ms, default now) and lookback (ms, default 24h).
struct DependenciesParams {
  int64_t end_unix_nano = 0;
  int64_t lookback_nano = 0;
};
[[nodiscard]] absl::StatusOr<DependenciesParams> ParseDependenciesParams(const net::Params& form,
                                                                         int64_t now_unix_nano);

}  // namespace oriel::api::jaeger
