// Series metadata endpoints of the Prometheus HTTP API, answered from the metrics engine's
// read interface: /api/v1/series, /labels, /label/<name>/values, /metadata, /query_exemplars.
#pragma once

#include "net/router.h"
#include "tsdb/metrics_store.h"

namespace oriel::api {

// Registers GET and form POST routes. `reader` must outlive the router.
void RegisterSeriesApiRoutes(net::Router& router, tsdb::MetricsReader& reader);

}  // namespace oriel::api
