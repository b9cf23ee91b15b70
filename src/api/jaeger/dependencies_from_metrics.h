// Jaeger's /api/dependencies answered from the service graph that the span pipeline writes into
// the metrics engine (traces_service_graph_request_total{client, server, ...}, see
// pipeline/spanmetrics/service_graph_aggregator.h), instead of scanning stored spans.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "tracestore/trace_store.h"
#include "tsdb/metrics_store.h"

namespace oriel::api::jaeger {

// The service graph series family the links are read from.
inline constexpr char kServiceGraphRequestTotal[] = "traces_service_graph_request_total";

// One link per (client, server) pair with requests in (end - lookback, end]: parent = client,
// child = server, call_count = the requests counted in the window, summed over the pair's series
// (connection types, failed or not, extra dimensions) and rounded; pairs with none are left out.
// Sorted by parent, then child.
//
// A series' count is its last value in the window minus its last value at or before the window
// start, counter resets (a restart) adding the value after the reset; a series with no sample in
// the 5 minutes before the window start counts from zero (it was created in the window: the
// pipeline writes every series at each flush, every 15 s by default). Unlike PromQL's increase(),
// nothing is extrapolated, so the counts are whole requests.
// Errors: kInvalidArgument when lookback_nano <= 0; the reader's error when it stops early.
[[nodiscard]] absl::StatusOr<std::vector<tracestore::DependencyLink>> DependenciesFromServiceGraph(
    tsdb::MetricsReader& reader, int64_t end_unix_nano, int64_t lookback_nano);

}  // namespace oriel::api::jaeger
