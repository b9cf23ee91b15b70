// Service graph edges from spans, as the OpenTelemetry Collector's servicegraph connector
// (contrib connector/servicegraphconnector) computes and emits them with its defaults, as OTLP
// metrics (scope "traces_service_graph", an empty resource, monotonic cumulative int sums and
// cumulative explicit histograms, no units: the names carry them). Prometheus 3's OTLP
// translation (ingest/otlp) turns them into
//
//   traces_service_graph_request_total{client, server, connection_type, failed}
//   traces_service_graph_request_failed_total{...}
//   traces_service_graph_request_server_seconds_bucket{..., le} / _sum / _count
//   traces_service_graph_request_client_seconds_bucket{..., le} / _sum / _count
//   traces_service_graph_unpaired_spans_total{client | server, connection_type}
//   traces_service_graph_dropped_spans_total{client | server, connection_type}
//
// Facts checked against the connector's source (connector.go, config.go, internal/store,
// internal/metadata/generated_feature_gates.go) and README:
// - a CLIENT (or PRODUCER: connection_type "messaging_system") span with key trace id + span id
//   is paired with the SERVER (or CONSUMER) span whose key is trace id + parent span id; a pair
//   is recorded when both sides are known, and waits at most store.ttl (default 2s) in a store
//   of at most store.max_items (default 1000) edges; a span that does not fit is dropped;
// - a client span with a database name attribute (default ["db.name"], resource then span) is
//   a complete edge at once: server = the name, connection_type "database";
// - virtual nodes (feature gate stable, so always on): an expiring edge without client whose
//   server span has no parent becomes client "user"; one without server gets the first of the
//   client span's virtual_node_peer_attributes (default peer.service, db.name, db.system) or
//   "unknown"; both with connection_type "virtual_node";
// - attributes client, server, connection_type (empty for plain requests, so absent in
//   Prometheus), failed (bool: error status on either side), and per extra dimension
//   client_<dim> / server_<dim> (resource attribute, then span attribute);
// - the resource is empty, so there is no job or instance;
// - latency in seconds (unit "s" -> suffix `_seconds`), default buckets 0.002, 0.004, 0.006,
//   0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15; both histograms get an
//   observation per edge (0 for a side that was not seen);
// - unpaired and dropped spans: the README lists these counters; the connector itself counts
//   them only in its own telemetry. Here they are series like the others (as Tempo's service
//   graph processor, which the connector is based on, counts them): unpaired = every edge that
//   expired before both sides were seen (virtual-node edges included), dropped = spans refused
//   because the store was full; the side that was seen names its label.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pipeline/spanmetrics/series_table.h"
#include "pipeline/spanmetrics/span_input.h"
#include "tracestore/encoded_spans.h"

namespace oriel::pipeline::spanmetrics {

struct ServiceGraphOptions {
  std::vector<double> buckets;          // latency bounds in seconds; empty: connector defaults
  std::vector<std::string> dimensions;  // attribute keys -> client_<key> / server_<key> labels
  int64_t wait_ns = 2'000'000'000;      // store.ttl: how long an edge waits for its other side
  size_t max_items = 1000;              // store.max_items: edges waiting at once
  std::vector<std::string> virtual_node_peer_attributes = {"peer.service", "db.name", "db.system"};
  std::vector<std::string> database_name_attributes = {"db.name"};
  size_t max_series = 10000;  // Prometheus series (see SeriesTable)
  // Edges with a longer service name or dimension value are not recorded (see SeriesTable).
  size_t max_label_value_length = 4096;
  // An edge's series are dropped after this long without a request (the connector's cache
  // loop: 15 minutes, checked every minute); <= 0: never.
  int64_t series_idle_ns = 15 * 60 * 1'000'000'000LL;
};

// The connector's default latency buckets, in seconds.
const std::vector<double>& DefaultServiceGraphBucketsSeconds();

// What a call did besides recording edges, for self-metrics.
struct ServiceGraphStats {
  int64_t dropped_spans = 0;   // store full
  int64_t expired_edges = 0;   // waited past wait_ns
  int64_t series_dropped = 0;  // edges not recorded: over max_series or max_label_value_length
  int64_t series_removed = 0;  // idle series dropped (series_idle_ns)
};

// Not thread-safe: the owner serialises calls. Times are unix nanoseconds from the owner's
// clock (a seam for tests).
class ServiceGraphAggregator {
 public:
  explicit ServiceGraphAggregator(ServiceGraphOptions options);

  // Expires edges older than wait_ns, then pairs the CLIENT/PRODUCER and SERVER/CONSUMER spans
  // of `resource_spans` that the trace store accepts (tracestore::ValidateSpan).
  ServiceGraphStats Consume(
      const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans,
      int64_t now_ns);
  // The same over resources held elsewhere (e.g. on an arena). REQUIRES: no null pointer.
  ServiceGraphStats Consume(
      std::span<const opentelemetry::proto::trace::v1::ResourceSpans* const> resource_spans,
      int64_t now_ns);

  // The same over views of resources (span_input.h); values read in place go on `arena`.
  ServiceGraphStats ConsumeInputs(std::span<const ResourceInput> inputs, int64_t now_ns,
                                  google::protobuf::Arena& arena);
  // The same over resources read in place (whose `valid` spans are paired).
  ServiceGraphStats ConsumeEncoded(std::span<const tracestore::EncodedResourceSpans> read,
                                   int64_t now_ns);

  // Expires the edges that have waited past wait_ns at `now_ns` (turning them into
  // virtual-node edges where the connector does), and at most once a minute drops the series
  // idle for series_idle_ns.
  ServiceGraphStats Expire(int64_t now_ns);

  // Appends the cumulative values at `time_ns`, under one ResourceMetrics with an empty
  // resource (none when there are no values).
  void AppendTo(
      int64_t time_ns,
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const;

  size_t pending_edges() const { return edges_.size(); }
  size_t series() const { return table_.series(); }

 private:
  // Trace id + span id of the client side: fixed size, as the trace store accepts only 16-byte
  // trace ids and 8-byte (or, for a parent, empty) span ids.
  struct EdgeKey {
    std::array<char, 24> bytes{};
    bool has_span_id = false;

    bool operator==(const EdgeKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const EdgeKey& k) {
      // As three words: a std::string_view would be hashed with std::hash (Debian's absl).
      uint64_t words[3];
      static_assert(sizeof(words) == sizeof(k.bytes));
      std::memcpy(words, k.bytes.data(), sizeof(words));
      return H::combine(std::move(h), words[0], words[1], words[2], k.has_span_id);
    }
  };

  struct Edge {
    uint64_t seq = 0;  // tells this edge from an earlier one with the same key in order_
    int64_t expire_at_ns = 0;
    // Service names as the spans' attributes hold them; unset until that side is seen.
    opentelemetry::proto::common::v1::AnyValue client;
    opentelemetry::proto::common::v1::AnyValue server;
    std::string_view connection_type;  // a literal
    double client_seconds = 0;
    double server_seconds = 0;
    bool failed = false;
    // client_<dim> / server_<dim> -> value
    std::map<std::string, opentelemetry::proto::common::v1::AnyValue> dimensions;
    // The client span's first virtual_node_peer_attributes value (by index there; -1: none).
    int peer_index = -1;
    opentelemetry::proto::common::v1::AnyValue peer;
  };

  // An edge in the order it was stored; stale once its edge completed (seq no longer matches).
  struct Pending {
    EdgeKey key;
    uint64_t seq;
  };

  // Records a complete edge, whose service names are `client` and `server` (the edge's own or
  // the current span's). False when its series would go over the bound.
  bool Complete(const Edge& e, const opentelemetry::proto::common::v1::AnyValue& client,
                const opentelemetry::proto::common::v1::AnyValue& server);
  void CountSide(const std::string& metric, const Edge& e);
  // `root`: the edge was keyed by a server span without parent.
  void ExpireOne(Edge& e, ServiceGraphStats& stats, bool root);

  ServiceGraphOptions options_;
  std::vector<double> bounds_;
  absl::flat_hash_map<EdgeKey, Edge> edges_;
  std::deque<Pending> order_;  // every stored edge, oldest first, plus stale entries
  uint64_t next_seq_ = 0;
  SeriesTable table_;
  // Series keys of Complete() and CountSide(), by a memo of the parts of the edge they hold.
  SeriesKeyCache series_keys_;
  std::string memo_;  // kept for its capacity
  int64_t last_idle_sweep_ns_ = 0;
};

}  // namespace oriel::pipeline::spanmetrics
