#include "api/prometheus/api_response.h"

#include <charconv>
#include <cmath>
#include <iterator>

#include "absl/time/time.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::api {
namespace {

struct ErrorInfo {
  std::string_view name;
  int status;
};

ErrorInfo Info(ErrorType type) {
  switch (type) {
    case ErrorType::kBadData:
      return {"bad_data", 400};
    case ErrorType::kExecution:
      return {"execution", 422};
    case ErrorType::kTimeout:
      return {"timeout", 503};
    case ErrorType::kCanceled:
      return {"canceled", 499};
    case ErrorType::kNotFound:
      return {"not_found", 404};
    case ErrorType::kInternal:
      return {"internal", 500};
    case ErrorType::kUnavailable:
      return {"unavailable", 503};
  }
  return {"internal", 500};
}

void AppendStringArray(std::string& out, const std::vector<std::string>& items) {
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += JsonString(items[i]);
  }
  out.push_back(']');
}

}  // namespace

std::string LabelsJson(const model::Labels& labels) {
  std::string out;
  AppendLabelsJson(out, labels);
  return out;
}

void AppendLabelsJson(std::string& out, const model::Labels& labels) {
  out.push_back('{');
  bool first = true;
  for (const auto& l : labels) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, l.name);
    out.push_back(':');
    AppendJsonString(out, l.value);
  }
  out.push_back('}');
}

std::string BeginSuccess(const net::HttpResponse& res) {
  std::string body = res.NewBody();
  body += "{\"status\":\"success\",\"data\":";
  return body;
}

void FinishSuccess(net::HttpResponse& res, std::string body,
                   const std::vector<std::string>& warnings,
                   const std::vector<std::string>& infos) {
  if (!warnings.empty()) {
    body += ",\"warnings\":";
    AppendStringArray(body, warnings);
  }
  if (!infos.empty()) {
    body += ",\"infos\":";
    AppendStringArray(body, infos);
  }
  body.push_back('}');
  res.SetJson(200, std::move(body));
}

void RespondSuccess(net::HttpResponse& res, std::string_view data_json,
                    const std::vector<std::string>& warnings,
                    const std::vector<std::string>& infos) {
  std::string body = BeginSuccess(res);
  body.append(data_json);
  FinishSuccess(res, std::move(body), warnings, infos);
}

void RespondError(net::HttpResponse& res, ErrorType type, std::string_view message) {
  ErrorInfo info = Info(type);
  res.SetJson(info.status, fmt::format("{{\"status\":\"error\",\"errorType\":\"{}\",\"error\":{}}}",
                                       info.name, JsonString(message)));
}

void RespondError(net::HttpResponse& res, ErrorType type, const absl::Status& status) {
  absl::string_view m = status.message();
  RespondError(res, type, std::string_view(m.data(), m.size()));
}

absl::StatusOr<int64_t> ParseTimeMs(std::string_view text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) {
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(fmt::format("cannot parse \"{}\" to a valid timestamp", text));
}

absl::StatusOr<int64_t> TimeParam(const net::Params& form, std::string_view name,
                                  int64_t fallback) {
  auto v = net::FirstValue(form, name);
  if (!v || v->empty()) return fallback;
  auto t = ParseTimeMs(*v);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid parameter \"{}\": {}", name, t.status().message()));
  }
  return *t;
}

absl::StatusOr<size_t> LimitParam(const net::Params& form) {
  auto v = net::FirstValue(form, "limit");
  if (!v || v->empty()) return size_t{0};
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 0) {
    return absl::InvalidArgumentError(
        fmt::format("limit must be a non-negative number, got \"{}\"", *v));
  }
  return static_cast<size_t>(n);
}

std::string FormatTimestamp(int64_t ms) {
  std::string out;
  AppendTimestamp(out, ms);
  return out;
}

void AppendTimestamp(std::string& out, int64_t ms) {
  char buf[32];
  // Below 2^42 ms (the year 2109) doubles near ms / 1000.0 are far closer than 1/1000 apart, so
  // the shortest decimal that reads back as that double is exactly the seconds with up to 3
  // decimals, trailing zeros dropped: the double's text, without formatting a double per point.
  constexpr int64_t kExactBelowMs = int64_t{1} << 42;
  if (ms >= 0 && ms < kExactBelowMs) {
    char* end = std::to_chars(buf, buf + sizeof(buf), ms / 1000).ptr;
    if (int frac = static_cast<int>(ms % 1000); frac != 0) {
      *end++ = '.';
      *end++ = static_cast<char>('0' + frac / 100);
      *end++ = static_cast<char>('0' + frac / 10 % 10);
      *end++ = static_cast<char>('0' + frac % 10);
      while (end[-1] == '0') --end;
    }
    out.append(buf, end);
    return;
  }
  if (ms % 1000 == 0) {
    fmt::format_to(std::back_inserter(out), "{}", ms / 1000);
  } else {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<double>(ms) / 1000.0);
  }
}

std::string FormatValue(double v) {
  std::string out;
  AppendValue(out, v);
  return out;
}

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round trip, never an exponent.
  char buf[400];
  // Whole numbers (counters, gauges of counts) below 2^53 print as the integer they are; -0
  // keeps its sign through the general path.
  constexpr double kExactIntegers = 9007199254740992.0;
  if (v == std::trunc(v) && std::fabs(v) < kExactIntegers && !(v == 0 && std::signbit(v))) {
    char* end = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v)).ptr;
    out.append(buf, end);
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec == std::errc()) {
    out.append(buf, end);
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

}  // namespace oriel::api
