// Health, readiness, reload and self-metrics endpoints: /-/healthy, /-/ready, /-/reload,
// /api/health (Grafana's shape) and /metrics (Prometheus text format 0.0.4); and the
// Oriel-specific admin endpoint POST|PUT /api/v1/admin/tsdb/compact, which persists the whole
// metrics head into blocks and compacts them now (204 No Content when done), in the shape of
// Prometheus' /api/v1/admin/tsdb/* endpoints.
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "base/build_info.h"
#include "base/metrics.h"
#include "base/readiness.h"
#include "net/router.h"

namespace oriel::api {

struct AdminApi {
  const BuildInfo& build;
  const metrics::Registry& registry;
  const Readiness& readiness;
  // Re-reads the configuration; null when the lifecycle API is disabled (reload answers 403).
  std::function<absl::Status()> reload;
  // Persists the metrics head into blocks and compacts them (e.g. tsdb::DB::CompactHead); null
  // when the admin API is disabled: the endpoint then answers 503 "admin APIs disabled", as
  // Prometheus does without --web.enable-admin-api.
  std::function<absl::Status()> compact_tsdb = nullptr;
  // Cuts the trace engine's head into an on-disk segment now (e.g. tracestore::TraceDB::Flush),
  // for POST|PUT /api/v1/admin/traces/flush (Oriel only); null answers 503 like compact_tsdb.
  std::function<absl::Status()> flush_traces = nullptr;
};

// Registers the routes. Everything referenced by `api` must outlive the router.
void RegisterAdminRoutes(net::Router& router, AdminApi api);

}  // namespace oriel::api
