// The Pushgateway HTTP API (prometheus/pushgateway README, "API"), served on Oriel's router.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "ingest/pushgateway/pushgateway_store.h"
#include "net/router.h"

namespace oriel::ingest {

struct PushgatewayApiOptions {
  // Shown by GET /api/v1/status ("version", "revision", "branch", ...; "flags" as strings).
  std::map<std::string, std::string> build_information;
  std::map<std::string, std::string> flags;
  absl::Time start_time = absl::Now();
  // The clock for push_time_seconds; a seam for tests.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Called after every successful change (push, delete, wipe), e.g. to flush the new state to
  // the metrics engine at once instead of at the next periodic flush. May be empty.
  std::function<void()> on_change;
};

// Registers, with `store` (which must outlive the router):
//   PUT|POST|DELETE /metrics/job/<job>{/<label>/<value>}  and the job@base64 form
//     PUT replaces the group, POST the pushed families, both answer 200 with an empty body;
//     DELETE removes the group, 202. Bodies: delimited protobuf MetricFamily when the
//     Content-Type says so (application/vnd.google.protobuf;
//     proto=io.prometheus.client.MetricFamily; encoding=delimited), else text format 0.0.4
//     (gzip already undone by the server). Errors are 400 with the Pushgateway's message
//     (bad grouping key, unparsable body, timestamps, inconsistency), 500 when the state cannot
//     be persisted.
//   GET /api/v1/status   build information, flags and start time (pushgateway JSON envelope)
//   GET /api/v1/metrics  every group with its families (see pushgateway_json.h)
//   PUT /api/v1/admin/wipe  removes every group, 202
void RegisterPushgatewayRoutes(net::Router& router, PushgatewayStore& store,
                               PushgatewayApiOptions options = {});

}  // namespace oriel::ingest
