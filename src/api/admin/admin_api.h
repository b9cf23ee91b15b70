// Health, readiness, reload and self-metrics endpoints: /-/healthy, /-/ready, /-/reload,
// /api/health (Grafana's shape) and /metrics (Prometheus text format 0.0.4).
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
};

// Registers the routes. Everything referenced by `api` must outlive the router.
void RegisterAdminRoutes(net::Router& router, AdminApi api);

}  // namespace oriel::api
