#include "api/jaeger/jaeger_api.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/jaeger/jaeger_json.h"
#include "api/jaeger/jaeger_params.h"
#include "api/jaeger/otlp_traces_json.h"
#include "base/json.h"
#include "base/status.h"
#include "net/router.h"

namespace oriel::api::jaeger {
namespace {

using tracestore::Trace;
using tracestore::TraceReader;
using Clock = std::function<int64_t()>;

// Jaeger v1's envelope. `total` is set only where Jaeger sets it (services and operations).
std::string Envelope(std::string_view data_json, size_t total, std::string_view errors_json) {
  return fmt::format(R"({{"data":{},"total":{},"limit":0,"offset":0,"errors":{}}})", data_json,
                     total, errors_json);
}

void RespondV1(net::HttpResponse& res, std::string_view data_json, size_t total = 0,
               std::string_view errors_json = "null") {
  res.SetJson(200, Envelope(data_json, total, errors_json));
}

void RespondV1Error(net::HttpResponse& res, int code, std::string_view msg) {
  res.SetJson(
      code, Envelope("null", 0, fmt::format(R"([{{"code":{},"msg":{}}}])", code, JsonString(msg))));
}

// Engine errors: bad queries are the client's, the rest are the server's.
int HttpCodeFor(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string_view Message(const absl::Status& st) {
  return std::string_view(st.message().data(), st.message().size());
}

std::string StringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, values[i]);
  }
  return out + "]";
}

std::string TracesArray(const std::vector<Trace>& traces) {
  std::string out = "[";
  for (size_t i = 0; i < traces.size(); ++i) {
    if (i > 0) out += ',';
    out += JaegerTraceJson(traces[i]);
  }
  return out + "]";
}

void Services(TraceReader& reader, net::HttpResponse& res) {
  std::vector<std::string> services = reader.Services();
  RespondV1(res, StringArray(services), services.size());
}

void ServiceOperations(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  std::vector<std::string> names;
  for (const auto& op : reader.Operations(req.PathParam("service"), std::nullopt)) {
    names.push_back(op.name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  RespondV1(res, StringArray(names), names.size());
}

void Operations(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  std::string_view service = net::FirstValue(form, "service").value_or("");
  if (service.empty()) return RespondV1Error(res, 400, "parameter 'service' is required");
  std::optional<int32_t> kind;
  if (std::string_view name = net::FirstValue(form, "spanKind").value_or(""); !name.empty()) {
    absl::StatusOr<int32_t> parsed = ParseSpanKind(name, "spanKind");
    if (!parsed.ok()) return RespondV1Error(res, 400, Message(parsed.status()));
    kind = *parsed;
  }
  std::vector<tracestore::Operation> ops = reader.Operations(service, kind);
  std::string data = "[";
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) data += ',';
    data += fmt::format(R"({{"name":{},"spanKind":{}}})", JsonString(ops[i].name),
                        JsonString(SpanKindName(ops[i].span_kind)));
  }
  data += "]";
  RespondV1(res, data, ops.size());
}

void Search(TraceReader& reader, const Clock& now, net::HttpRequest& req, net::HttpResponse& res) {
  absl::StatusOr<SearchParams> params = ParseSearchParams(req.Form(), now());
  if (!params.ok()) return RespondV1Error(res, 400, Message(params.status()));
  if (!params->trace_ids.empty()) {
    // A lookup by id: missing traces are reported per id, like Jaeger does.
    std::vector<Trace> traces;
    std::string errors;
    for (const std::string& id : params->trace_ids) {
      if (std::optional<Trace> t = reader.GetTrace(id)) {
        traces.push_back(*std::move(t));
      } else {
        errors += errors.empty() ? "[" : ",";
        errors += fmt::format(R"({{"msg":"trace not found","traceID":{}}})",
                              JsonString(FormatTraceId(id)));
      }
    }
    return RespondV1(res, TracesArray(traces), 0, errors.empty() ? "null" : errors + "]");
  }
  absl::StatusOr<std::vector<Trace>> traces = reader.FindTraces(params->query);
  if (!traces.ok())
    return RespondV1Error(res, HttpCodeFor(traces.status()), Message(traces.status()));
  RespondV1(res, TracesArray(*traces));
}

void GetTrace(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  absl::StatusOr<std::string> id = ParseTraceId(req.PathParam("traceID"));
  if (!id.ok()) return RespondV1Error(res, 400, Message(id.status()));
  std::optional<Trace> trace = reader.GetTrace(*id);
  if (!trace) return RespondV1Error(res, 404, "trace not found");
  RespondV1(res, "[" + JaegerTraceJson(*trace) + "]");
}

void Dependencies(const DependencySource& source, const Clock& now, net::HttpRequest& req,
                  net::HttpResponse& res) {
  net::Params form = req.Form();
  absl::StatusOr<DependenciesParams> params = ParseDependenciesParams(form, now());
  if (!params.ok()) return RespondV1Error(res, 400, Message(params.status()));
  std::string_view service = net::FirstValue(form, "service").value_or("");
  std::map<std::pair<std::string, std::string>, int64_t> calls;
  absl::StatusOr<std::vector<tracestore::DependencyLink>> links =
      source(params->end_unix_nano, params->lookback_nano);
  if (!links.ok()) return RespondV1Error(res, 500, Message(links.status()));
  for (auto& link : *links) {
    if (!service.empty() && link.parent != service && link.child != service) continue;
    calls[{std::move(link.parent), std::move(link.child)}] += link.call_count;
  }
  std::string data = "[";
  for (const auto& [key, count] : calls) {
    if (data.size() > 1) data += ',';
    data += fmt::format(R"({{"parent":{},"child":{},"callCount":{}}})", JsonString(key.first),
                        JsonString(key.second), count);
  }
  data += "]";
  RespondV1(res, data);
}

// v3 answers in the grpc-gateway shapes of Jaeger's api_v3.

void RespondV3Error(net::HttpResponse& res, int code, std::string_view msg) {
  res.SetJson(code,
              fmt::format(R"({{"error":{{"httpCode":{},"message":{}}}}})", code, JsonString(msg)));
}

void RespondV3Traces(net::HttpResponse& res, const std::vector<Trace>& traces) {
  std::vector<opentelemetry::proto::trace::v1::ResourceSpans> all;
  for (const Trace& t : traces)
    all.insert(all.end(), t.resource_spans.begin(), t.resource_spans.end());
  res.SetJson(200, fmt::format(R"({{"result":{}}})", OtlpTracesJson(all)));
}

void V3Services(TraceReader& reader, net::HttpResponse& res) {
  res.SetJson(200, fmt::format(R"({{"services":{}}})", StringArray(reader.Services())));
}

void V3Operations(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  std::optional<int32_t> kind;
  if (std::string_view name = net::FirstValue(form, "span_kind").value_or(""); !name.empty()) {
    absl::StatusOr<int32_t> parsed = ParseSpanKind(name, "span_kind");
    if (!parsed.ok()) return RespondV3Error(res, 400, Message(parsed.status()));
    kind = *parsed;
  }
  std::string data = "[";
  for (const auto& op : reader.Operations(net::FirstValue(form, "service").value_or(""), kind)) {
    if (data.size() > 1) data += ',';
    data += fmt::format(R"({{"name":{},"spanKind":{}}})", JsonString(op.name),
                        JsonString(SpanKindName(op.span_kind)));
  }
  data += "]";
  res.SetJson(200, fmt::format(R"({{"operations":{}}})", data));
}

absl::StatusOr<int64_t> ParseRfc3339(std::string_view text, std::string_view param) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(fmt::format(
        "malformed parameter {}: cannot parse \"{}\" as RFC3339: {}", param, text, err));
  }
  return absl::ToUnixNanos(t);
}

void V3FindTraces(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  auto value = [&form](std::string_view name) { return net::FirstValue(form, name).value_or(""); };
  tracestore::TraceQuery q;
  q.service = std::string(value("query.service_name"));
  q.operation = std::string(value("query.operation_name"));
  std::string_view min = value("query.start_time_min");
  std::string_view max = value("query.start_time_max");
  if (min.empty() || max.empty()) {
    return RespondV3Error(res, 400, "query.start_time_min and query.start_time_max are required");
  }
  if (q.service.empty()) return RespondV3Error(res, 400, "query.service_name is required");
  absl::StatusOr<int64_t> start = ParseRfc3339(min, "query.start_time_min");
  if (!start.ok()) return RespondV3Error(res, 400, Message(start.status()));
  absl::StatusOr<int64_t> end = ParseRfc3339(max, "query.start_time_max");
  if (!end.ok()) return RespondV3Error(res, 400, Message(end.status()));
  q.start_unix_nano = *start;
  q.end_unix_nano = *end;
  if (std::string_view n = value("query.num_traces"); !n.empty()) {
    int64_t limit = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), limit);
    if (ec != std::errc() || ptr != n.data() + n.size() || limit < 0) {
      return RespondV3Error(
          res, 400, fmt::format("malformed parameter query.num_traces: invalid number \"{}\"", n));
    }
    if (limit > 0) q.limit = static_cast<size_t>(limit);
  }
  for (auto [name, field] : {std::pair{"query.duration_min", &q.min_duration_nano},
                             std::pair{"query.duration_max", &q.max_duration_nano}}) {
    std::string_view text = value(name);
    if (text.empty()) continue;
    absl::StatusOr<int64_t> d = ParseGoDuration(text);
    if (!d.ok()) {
      return RespondV3Error(res, 400,
                            fmt::format("malformed parameter {}: {}", name, Message(d.status())));
    }
    *field = *d;
  }
  absl::StatusOr<std::vector<Trace>> traces = reader.FindTraces(q);
  if (!traces.ok()) {
    return RespondV3Error(res, HttpCodeFor(traces.status()), Message(traces.status()));
  }
  RespondV3Traces(res, *traces);
}

void V3GetTrace(TraceReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  absl::StatusOr<std::string> id = ParseTraceId(req.PathParam("trace_id"));
  if (!id.ok()) {
    return RespondV3Error(res, 400,
                          fmt::format("malformed parameter trace_id: {}", Message(id.status())));
  }
  std::optional<Trace> trace = reader.GetTrace(*id);
  if (!trace) return RespondV3Error(res, 404, "trace not found");
  RespondV3Traces(res, {*std::move(trace)});
}

}  // namespace

void RegisterJaegerRoutes(net::Router& router, TraceReader& reader, Clock now_unix_nano,
                          DependencySource dependencies) {
  if (!now_unix_nano) now_unix_nano = [] { return absl::ToUnixNanos(absl::Now()); };
  TraceReader* r = &reader;
  if (!dependencies) {
    dependencies = [r](int64_t end, int64_t lookback) {
      return absl::StatusOr<std::vector<tracestore::DependencyLink>>(
          r->Dependencies(end, lookback));
    };
  }
  router.Handle("GET", "/api/services",
                [r](net::HttpRequest&, net::HttpResponse& res) { Services(*r, res); });
  router.Handle(
      "GET", "/api/services/{service}/operations",
      [r](net::HttpRequest& req, net::HttpResponse& res) { ServiceOperations(*r, req, res); });
  router.Handle("GET", "/api/operations",
                [r](net::HttpRequest& req, net::HttpResponse& res) { Operations(*r, req, res); });
  router.Handle("GET", "/api/traces",
                [r, now_unix_nano](net::HttpRequest& req, net::HttpResponse& res) {
                  Search(*r, now_unix_nano, req, res);
                });
  router.Handle("GET", "/api/traces/{traceID}",
                [r](net::HttpRequest& req, net::HttpResponse& res) { GetTrace(*r, req, res); });
  router.Handle("GET", "/api/dependencies",
                [dependencies, now_unix_nano](net::HttpRequest& req, net::HttpResponse& res) {
                  Dependencies(dependencies, now_unix_nano, req, res);
                });
  router.Handle("GET", "/api/v3/services",
                [r](net::HttpRequest&, net::HttpResponse& res) { V3Services(*r, res); });
  router.Handle("GET", "/api/v3/operations",
                [r](net::HttpRequest& req, net::HttpResponse& res) { V3Operations(*r, req, res); });
  router.Handle("GET", "/api/v3/traces",
                [r](net::HttpRequest& req, net::HttpResponse& res) { V3FindTraces(*r, req, res); });
  router.Handle("GET", "/api/v3/traces/{trace_id}",
                [r](net::HttpRequest& req, net::HttpResponse& res) { V3GetTrace(*r, req, res); });
}

}  // namespace oriel::api::jaeger
