#include "api/prometheus/query_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/time/clock.h"
#include "api/prometheus/api_response.h"
#include "api/prometheus/ast_json.h"
#include "api/prometheus/result_json.h"
#include "base/status.h"
#include "base/units.h"
#include "fmt/format.h"
#include "promql/parser/number_format.h"
#include "promql/parser/parser.h"
#include "promql/parser/prettier.h"

namespace oriel::api {
namespace {

// Prometheus refuses range queries that would return more points than this per series.
constexpr int64_t kMaxPointsPerSeries = 11000;

// A duration parameter: float seconds ("30", "1.5") or a Prometheus duration ("5m").
absl::StatusOr<int64_t> DurationMs(std::string_view name, std::string_view text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (!std::isfinite(seconds) || seconds * 1000 > 9.2e15) {
      return absl::InvalidArgumentError(fmt::format(
          "invalid parameter \"{}\": cannot parse \"{}\" to a valid duration. It overflows int64",
          name, text));
    }
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  auto d = ParseDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid parameter \"{}\": cannot parse \"{}\" to a valid duration", name, text));
  }
  return absl::ToInt64Milliseconds(*d);
}

ErrorType EngineErrorType(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case absl::StatusCode::kCancelled:
      return ErrorType::kCanceled;
    default:
      return ErrorType::kExecution;
  }
}

// The per-query options shared by both endpoints (timeout, lookback_delta).
absl::StatusOr<promql::QueryOptions> Options(const net::Params& form) {
  promql::QueryOptions options;
  if (auto t = net::FirstValue(form, "timeout"); t && !t->empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t ms, DurationMs("timeout", *t));
    options.timeout = absl::Milliseconds(ms);
  }
  if (auto l = net::FirstValue(form, "lookback_delta"); l && !l->empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t ms, DurationMs("lookback_delta", *l));
    if (ms < 0) return absl::InvalidArgumentError("invalid parameter \"lookback_delta\": negative");
    options.lookback_delta_ms = ms;
  }
  return options;
}

void Respond(net::HttpResponse& res, absl::StatusOr<promql::QueryResult> result, size_t limit) {
  if (!result.ok()) return RespondError(res, EngineErrorType(result.status()), result.status());
  std::vector<std::string> warnings = result->warnings;
  std::string body = BeginSuccess(res);
  AppendResultJson(body, *result, limit, warnings);
  FinishSuccess(res, std::move(body), warnings, result->infos);
}

// Bounds how many queries run at once; the rest wait in line, as in Prometheus.
class QuerySlots {
 public:
  explicit QuerySlots(int n) : free_(n) {}
  // Takes a slot, waiting up to `timeout`; false when none came free.
  bool Acquire(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    bool ok = cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return free_ > 0; });
    if (ok) --free_;
    return ok;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

// Runs `query` in a slot; answers 503 (timeout) when no slot frees up within the timeout.
template <typename Query>
void InSlot(QuerySlots& slots, const promql::Engine& engine, const promql::QueryOptions& options,
            net::HttpResponse& res, Query query) {
  absl::Duration timeout =
      options.timeout > absl::ZeroDuration() ? options.timeout : engine.options().timeout;
  if (!slots.Acquire(timeout)) {
    return RespondError(res, ErrorType::kTimeout,
                        "query timed out while waiting for a free query slot");
  }
  query();
  slots.Release();
}

void HandleInstant(const promql::Engine& engine, tsdb::MetricsReader& reader, QuerySlots& slots,
                   net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  std::string query(net::FirstValue(form, "query").value_or(""));
  auto time = TimeParam(form, "time", absl::ToUnixMillis(absl::Now()));
  if (!time.ok()) return RespondError(res, ErrorType::kBadData, time.status());
  auto options = Options(form);
  if (!options.ok()) return RespondError(res, ErrorType::kBadData, options.status());
  auto limit = LimitParam(form);
  if (!limit.ok()) return RespondError(res, ErrorType::kBadData, limit.status());
  InSlot(slots, engine, *options, res,
         [&] { Respond(res, engine.InstantQuery(reader, query, *time, *options), *limit); });
}

void HandleRange(const promql::Engine& engine, tsdb::MetricsReader& reader, QuerySlots& slots,
                 net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  std::string query(net::FirstValue(form, "query").value_or(""));
  auto missing = [&](std::string_view name) {
    RespondError(res, ErrorType::kBadData,
                 fmt::format("invalid parameter \"{}\": cannot parse \"\" to a valid {}", name,
                             name == "step" ? "duration" : "timestamp"));
  };
  if (!net::FirstValue(form, "start")) return missing("start");
  if (!net::FirstValue(form, "end")) return missing("end");
  if (!net::FirstValue(form, "step")) return missing("step");
  auto start = TimeParam(form, "start", 0);
  if (!start.ok()) return RespondError(res, ErrorType::kBadData, start.status());
  auto end = TimeParam(form, "end", 0);
  if (!end.ok()) return RespondError(res, ErrorType::kBadData, end.status());
  if (*end < *start) {
    return RespondError(res, ErrorType::kBadData,
                        "invalid parameter \"end\": end timestamp must not be before start time");
  }
  auto step = DurationMs("step", *net::FirstValue(form, "step"));
  if (!step.ok()) return RespondError(res, ErrorType::kBadData, step.status());
  if (*step <= 0) {
    return RespondError(res, ErrorType::kBadData,
                        "invalid parameter \"step\": zero or negative query resolution step "
                        "widths are not accepted. Try a positive integer");
  }
  if ((*end - *start) / *step > kMaxPointsPerSeries) {
    return RespondError(res, ErrorType::kBadData,
                        "exceeded maximum resolution of 11,000 points per timeseries. Try "
                        "decreasing the query resolution (?step=XX)");
  }
  auto options = Options(form);
  if (!options.ok()) return RespondError(res, ErrorType::kBadData, options.status());
  auto limit = LimitParam(form);
  if (!limit.ok()) return RespondError(res, ErrorType::kBadData, limit.status());
  InSlot(slots, engine, *options, res, [&] {
    Respond(res, engine.RangeQuery(reader, query, *start, *end, *step, *options), *limit);
  });
}

// Go's encoding/json (and so Prometheus) writes <, > and & inside strings as \u003c, \u003e and
// \u0026, U+2028/U+2029 as escapes, and each byte of invalid UTF-8 as \ufffd; byte-identical
// (and valid) answers need the same. Outside strings JSON text is plain ASCII, so the whole
// document can be rewritten.
std::string GoJsonEscapes(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size();) {
    char c = json[i];
    if (c == '<' || c == '>' || c == '&') {
      out += c == '<' ? "\\u003c" : c == '>' ? "\\u003e" : "\\u0026";
      ++i;
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out.push_back(c);
      ++i;
    } else {
      uint32_t cp = 0;
      size_t n = promql::DecodeUtf8(json, i, cp);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else if (cp == 0x2028 || cp == 0x2029) {
        out += cp == 0x2028 ? "\\u2028" : "\\u2029";
        i += n;
      } else {
        out.append(json.substr(i, n));
        i += n;
      }
    }
  }
  return out;
}

// The `query` parameter parsed as Prometheus' parse_query and format_query do; the error names
// the parameter.
absl::StatusOr<promql::ExprPtr> ParseQueryParam(const promql::Engine& engine,
                                                net::HttpRequest& req) {
  net::Params form = req.Form();
  std::string query(net::FirstValue(form, "query").value_or(""));
  auto expr = promql::ParseExpr(query, engine.options().parse_options);
  if (!expr.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid parameter \"query\": {}", expr.status().message()));
  }
  return expr;
}

void HandleFormat(const promql::Engine& engine, net::HttpRequest& req, net::HttpResponse& res) {
  absl::StatusOr<promql::ExprPtr> expr = ParseQueryParam(engine, req);
  if (expr.ok()) {
    RespondSuccess(res, JsonString(promql::Prettify(**expr)));
  } else {
    RespondError(res, ErrorType::kBadData, expr.status());
  }
  res.body = GoJsonEscapes(res.body);
}

void HandleParse(const promql::Engine& engine, net::HttpRequest& req, net::HttpResponse& res) {
  absl::StatusOr<promql::ExprPtr> expr = ParseQueryParam(engine, req);
  absl::StatusOr<std::string> json =
      expr.ok() ? AstJson(**expr) : absl::StatusOr<std::string>(expr.status());
  if (json.ok()) {
    RespondSuccess(res, *json);
  } else {
    RespondError(res, expr.ok() ? ErrorType::kInternal : ErrorType::kBadData, json.status());
  }
  res.body = GoJsonEscapes(res.body);
}

}  // namespace

void RegisterQueryApiRoutes(net::Router& router, const promql::Engine& engine,
                            tsdb::MetricsReader& reader, QueryApiOptions options) {
  auto slots = std::make_shared<QuerySlots>(std::max(1, options.max_concurrent_queries));
  for (const char* method : {"GET", "POST"}) {
    router.Handle(method, "/api/v1/query",
                  [&engine, &reader, slots](net::HttpRequest& req, net::HttpResponse& res) {
                    HandleInstant(engine, reader, *slots, req, res);
                  });
    router.Handle(method, "/api/v1/query_range",
                  [&engine, &reader, slots](net::HttpRequest& req, net::HttpResponse& res) {
                    HandleRange(engine, reader, *slots, req, res);
                  });
    router.Handle(method, "/api/v1/format_query",
                  [&engine](net::HttpRequest& req, net::HttpResponse& res) {
                    HandleFormat(engine, req, res);
                  });
    router.Handle(method, "/api/v1/parse_query",
                  [&engine](net::HttpRequest& req, net::HttpResponse& res) {
                    HandleParse(engine, req, res);
                  });
  }
}

}  // namespace oriel::api
