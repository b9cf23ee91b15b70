// PromQL over HTTP: /api/v1/query, /api/v1/query_range, /api/v1/format_query (pretty-printed
// query text) and /api/v1/parse_query (the syntax tree as JSON), with Prometheus' parameters,
// result JSON, error types and limits.
#pragma once

#include "net/router.h"
#include "promql/engine/engine.h"
#include "tsdb/metrics_store.h"

namespace oriel::api {

struct QueryApiOptions {
  // Queries evaluated at once; more wait for a slot up to their timeout, then get a 503
  // (Prometheus' --query.max-concurrency).
  int max_concurrent_queries = 20;
};

// Registers GET and form POST routes. `engine` and `reader` must outlive the router.
void RegisterQueryApiRoutes(net::Router& router, const promql::Engine& engine,
                            tsdb::MetricsReader& reader, QueryApiOptions options = {});

}  // namespace oriel::api
