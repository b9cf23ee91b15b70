// PromQL over HTTP: /api/v1/query, /api/v1/query_range and /api/v1/format_query, with
// Prometheus' parameters, result JSON, error types and limits.
#pragma once

#include "net/router.h"
#include "promql/engine/engine.h"
#include "tsdb/metrics_store.h"

namespace oriel::api {

// Registers GET and form POST routes. `engine` and `reader` must outlive the router.
void RegisterQueryApiRoutes(net::Router& router, const promql::Engine& engine,
                            tsdb::MetricsReader& reader);

}  // namespace oriel::api
