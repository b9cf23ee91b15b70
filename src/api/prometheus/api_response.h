// The Prometheus HTTP API's response envelope, error types and parameter parsing
// (prometheus/prometheus docs/querying/api.md), shared by every /api/v1 handler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/json.h"
#include "model/labels.h"
#include "net/http_message.h"

namespace oriel::api {

// Prometheus' error types and the HTTP status each one maps to.
enum class ErrorType {
  kBadData,
  kExecution,
  kTimeout,
  kCanceled,
  kNotFound,
  kInternal,
  kUnavailable
};

// Writes {"status":"success","data":<data_json>[,"warnings":[...]]}.
void RespondSuccess(net::HttpResponse& res, std::string_view data_json,
                    const std::vector<std::string>& warnings = {},
                    const std::vector<std::string>& infos = {});

// The same in two halves, for large answers written straight into the body: BeginSuccess gives
// the body's start (in a buffer from res.NewBody()), the caller appends the data, FinishSuccess
// closes the envelope and sends it.
std::string BeginSuccess(const net::HttpResponse& res);
void FinishSuccess(net::HttpResponse& res, std::string body,
                   const std::vector<std::string>& warnings = {},
                   const std::vector<std::string>& infos = {});

// Writes {"status":"error","errorType":...,"error":...} with the matching status code.
void RespondError(net::HttpResponse& res, ErrorType type, std::string_view message);
// The same with the status's message.
void RespondError(net::HttpResponse& res, ErrorType type, const absl::Status& status);

using oriel::JsonString;

// A label set as a JSON object, {"name":"value",...}, in label order.
std::string LabelsJson(const model::Labels& labels);
void AppendLabelsJson(std::string& out, const model::Labels& labels);

// Timestamps as the API accepts them: Unix seconds (float) or RFC 3339; in milliseconds.
[[nodiscard]] absl::StatusOr<int64_t> ParseTimeMs(std::string_view text);

// The earliest and latest times the API stands for when start/end are not given.
inline constexpr int64_t kMinTimeMs = INT64_MIN / 2;
inline constexpr int64_t kMaxTimeMs = INT64_MAX / 2;

// The optional time parameter `name`, or `fallback`; a malformed value is a bad_data error
// naming the parameter, e.g. `invalid parameter "start": cannot parse "x" to a valid timestamp`.
[[nodiscard]] absl::StatusOr<int64_t> TimeParam(const net::Params& form, std::string_view name,
                                                int64_t fallback);

// The optional `limit` parameter (0 when absent: no limit).
[[nodiscard]] absl::StatusOr<size_t> LimitParam(const net::Params& form);

// Formats a timestamp the way the API prints them: Unix seconds with up to 3 decimals.
std::string FormatTimestamp(int64_t ms);
void AppendTimestamp(std::string& out, int64_t ms);

// Formats a sample value as the API's string (e.g. "1", "0.5", "NaN", "+Inf"; unquoted).
std::string FormatValue(double v);
void AppendValue(std::string& out, double v);

}  // namespace oriel::api
