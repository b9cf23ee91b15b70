// The Jaeger query HTTP APIs on the trace engine: v1 (/api/..., what Grafana's Jaeger data
// source and the classic Jaeger UI call; jaeger cmd/query/app/http_handler.go) and v3
// (/api/v3/..., OTLP JSON; jaeger cmd/query/app/apiv3/http_gateway.go).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "tracestore/trace_store.h"

namespace oriel::net {
class Router;
}  // namespace oriel::net

namespace oriel::api::jaeger {

// Registers the GET routes:
//   v1: /api/services, /api/services/{service}/operations, /api/operations, /api/traces,
//       /api/traces/{traceID}, /api/dependencies — answered in Jaeger's envelope
//       {"data","total","limit","offset","errors"}; bad parameters are 400 with
//       errors [{"code":400,"msg":...}], a missing trace 404.
//   v3: /api/v3/services, /api/v3/operations, /api/v3/traces, /api/v3/traces/{trace_id} —
//       {"services":[...]}, {"operations":[...]}, {"result":{"resourceSpans":[...]}}; errors are
//       {"error":{"httpCode","message"}}.
// `reader` must outlive the router. `now_unix_nano` (default: the wall clock) fills missing
// end times. `dependencies` (default: reader.Dependencies) answers /api/dependencies, e.g. from
// the service graph metrics; its errors are 500s.
using DependencySource = std::function<absl::StatusOr<std::vector<tracestore::DependencyLink>>(
    int64_t end_unix_nano, int64_t lookback_nano)>;
void RegisterJaegerRoutes(net::Router& router, tracestore::TraceReader& reader,
                          std::function<int64_t()> now_unix_nano = {},
                          DependencySource dependencies = {});

}  // namespace oriel::api::jaeger
