// The Prometheus remote_write receiver: POST /api/v1/write, protocol 1.0 and 2.0, writing
// through the metrics engine's MetricsWriter.
#pragma once

#include <cstddef>

#include "base/metrics.h"
#include "net/router.h"
#include "tsdb/metrics_store.h"

namespace oriel::ingest {

struct RemoteWriteOptions {
  // Largest body after snappy decompression; beyond it the request is answered 413.
  size_t max_decoded_bytes = 64 << 20;
  // Sent as Retry-After with a 429 (the engine is over its series or memory limit).
  int retry_after_seconds = 5;
};

// Registers POST /api/v1/write. `writer` and `registry` must outlive the router; call once per
// registry (the self-metrics are registered here).
//
// Content negotiation (as Prometheus 3 does):
//   Content-Type application/x-protobuf, optionally with ;proto=prometheus.WriteRequest (1.0)
//   or ;proto=io.prometheus.write.v2.Request (2.0); missing means 1.0; anything else is 415.
//   Content-Encoding snappy (block format); missing is taken as snappy, anything else is 415.
// Answers:
//   204  everything written.
//   400  corrupt snappy or protobuf, an unresolvable 2.0 symbol reference or a malformed
//        histogram (nothing written); series without __name__ or with a repeated label name
//        (the other series are written); samples the engine refused as out of order, too old
//        or duplicate (the rest is written: Prometheus 2.0 partial-write semantics; Prometheus
//        1.0 rolls the whole request back, but either way the sender does not retry a 400).
//        The body names the first problems.
//   413  body larger than max_decoded_bytes once decompressed.
//   429  engine kResourceExhausted, with Retry-After.  503  engine kUnavailable.
//   500  any other engine error.
// For 2.0, every answer after content negotiation carries
// X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written with what was stored.
// Self-metrics: oriel_remote_write_requests_total{version,code},
// oriel_remote_write_{samples,histograms,exemplars}_received_total and
// oriel_remote_write_samples_rejected_total.
void RegisterRemoteWriteRoutes(net::Router& router, tsdb::MetricsWriter& writer,
                               metrics::Registry& registry, RemoteWriteOptions options = {});

}  // namespace oriel::ingest
