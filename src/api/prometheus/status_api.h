// Status endpoints of the Prometheus HTTP API: /api/v1/status/{buildinfo,runtimeinfo,flags,
// config,tsdb}, and /api/v1/targets, /rules, /alerts (empty until scraping and rules exist).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "base/build_info.h"
#include "net/router.h"
#include "tsdb/metrics_store.h"

namespace oriel::api {

struct StatusApi {
  const BuildInfo& build;
  tsdb::MetricsReader& reader;
  absl::Time start_time;
  std::map<std::string, std::string> flags;  // command-line flags as given, by name
  std::string retention;                     // e.g. "15d"
  // The current configuration file's text, whether the last reload worked, and when it happened.
  std::function<std::string()> config_yaml;
  std::function<bool()> last_reload_ok;
  std::function<absl::Time()> last_reload_time;
};

// Registers the routes; what `api` references must outlive the router.
void RegisterStatusApiRoutes(net::Router& router, StatusApi api);

}  // namespace oriel::api
