#include "pipeline/spanmetrics/service_graph_aggregator.h"

#include "gtest/gtest.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace trace = opentelemetry::proto::trace::v1;

constexpr char kTotal[] = "traces_service_graph_request_total";
constexpr char kFailed[] = "traces_service_graph_request_failed_total";
constexpr char kServer[] = "traces_service_graph_request_server_seconds";
constexpr char kClient[] = "traces_service_graph_request_client_seconds";
constexpr char kUnpaired[] = "traces_service_graph_unpaired_spans_total";
constexpr char kDropped[] = "traces_service_graph_dropped_spans_total";

// The attributes of an edge's data points.
AttrMap Edge(std::string client, std::string server, std::string connection_type, bool failed,
             AttrMap extra = {}) {
  extra["client"] = std::move(client);
  extra["server"] = std::move(server);
  extra["connection_type"] = std::move(connection_type);
  extra["failed"] = failed ? "true" : "false";
  return extra;
}

SpanSpec Client(uint64_t trace, uint64_t span, int64_t duration_ns,
                trace::Status::StatusCode status = trace::Status::STATUS_CODE_UNSET) {
  return {.trace = trace,
          .span = span,
          .parent = 100,
          .name = "call",
          .kind = trace::Span::SPAN_KIND_CLIENT,
          .status = status,
          .duration_ns = duration_ns};
}

SpanSpec Server(uint64_t trace, uint64_t parent, int64_t duration_ns,
                trace::Status::StatusCode status = trace::Status::STATUS_CODE_UNSET) {
  return {.trace = trace,
          .span = 1000 + parent,
          .parent = parent,
          .name = "handle",
          .kind = trace::Span::SPAN_KIND_SERVER,
          .status = status,
          .duration_ns = duration_ns};
}

TEST(ServiceGraphAggregatorTest, PairsClientAndServerAcrossBatches) {
  ServiceGraphAggregator agg({});
  // The client side of two calls comes first, the server side in a later request.
  agg.Consume({Resource("frontend", {}, {Client(1, 2, 5 * kMs), Client(7, 2, 5 * kMs)})}, kT0);
  EXPECT_EQ(agg.pending_edges(), 2u);
  agg.Consume({Resource("backend", {}, {Server(1, 2, 3 * kMs), Server(7, 2, 1 * kMs)}),
               // An internal span is not part of any edge.
               Resource("backend", {}, {{.trace = 1, .span = 9, .parent = 1002}})},
              kT0 + 500 * kMs);
  EXPECT_EQ(agg.pending_edges(), 0u);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  AttrMap edge = Edge("frontend", "backend", "", false);
  EXPECT_EQ(CounterOf(req, kTotal, edge), 2);
  EXPECT_EQ(Points(req, kFailed).size(), 0u);
  // Server latencies 3 ms and 1 ms, client latencies 5 ms twice, in seconds buckets.
  const auto* server = HistogramOf(req, kServer, edge);
  const auto* client = HistogramOf(req, kClient, edge);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(client, nullptr);
  std::vector<uint64_t> want(17, 0);
  want[0] = 1;
  want[1] = 1;
  EXPECT_EQ(Buckets(*server), want);
  want.assign(17, 0);
  want[2] = 2;
  EXPECT_EQ(Buckets(*client), want);
  EXPECT_EQ(std::vector<double>(client->explicit_bounds().begin(), client->explicit_bounds().end()),
            DefaultServiceGraphBucketsSeconds());
  EXPECT_DOUBLE_EQ(server->sum(), 0.004);
  EXPECT_EQ(client->count(), 2u);
  EXPECT_EQ(Points(req, kUnpaired).size(), 0u);
  // As the connector emits them: one empty resource, scope traces_service_graph, no units,
  // cumulative; `failed` a bool attribute.
  ASSERT_EQ(req.resource_metrics_size(), 1);
  EXPECT_EQ(req.resource_metrics(0).resource().attributes_size(), 0);
  ASSERT_EQ(req.resource_metrics(0).scope_metrics_size(), 1);
  EXPECT_EQ(req.resource_metrics(0).scope_metrics(0).scope().name(), "traces_service_graph");
  for (const char* name : {kTotal, kServer, kClient}) {
    auto points = Points(req, name);
    ASSERT_EQ(points.size(), 1u) << name;
    EXPECT_EQ(points[0].metric->unit(), "");
  }
  auto total = Points(req, kTotal)[0];
  EXPECT_TRUE(total.metric->sum().is_monotonic());
  EXPECT_EQ(total.metric->sum().aggregation_temporality(),
            otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  EXPECT_EQ(total.sum->start_time_unix_nano(), static_cast<uint64_t>(kT0 + 500 * kMs));
  EXPECT_EQ(total.sum->time_unix_nano(), static_cast<uint64_t>(kT0 + 600 * kMs));
  bool failed_is_bool = false;
  for (const auto& kv : total.sum->attributes()) {
    if (kv.key() == "failed") failed_is_bool = kv.value().has_bool_value();
  }
  EXPECT_TRUE(failed_is_bool);
  EXPECT_EQ(Points(req, kServer)[0].metric->histogram().aggregation_temporality(),
            otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
}

TEST(ServiceGraphAggregatorTest, ErrorOnEitherSideFailsTheRequest) {
  ServiceGraphAggregator agg({});
  agg.Consume(
      {Resource("backend", {}, {Server(1, 2, kMs, trace::Status::STATUS_CODE_ERROR)}),
       Resource("frontend", {}, {Client(1, 2, kMs)}),
       Resource("frontend", {}, {Client(3, 2, kMs, trace::Status::STATUS_CODE_ERROR)}),
       Resource("backend", {}, {Server(3, 2, kMs)}), Resource("frontend", {}, {Client(4, 2, kMs)}),
       Resource("backend", {}, {Server(4, 2, kMs)})},
      kT0);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "backend", "", true)), 2);
  EXPECT_EQ(CounterOf(req, kFailed, Edge("frontend", "backend", "", true)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "backend", "", false)), 1);
  EXPECT_EQ(CounterOf(req, kFailed, Edge("frontend", "backend", "", false)), std::nullopt);
}

// Series keys are cached by what the edge is made of: edges whose parts would read the same
// once concatenated stay apart, and a repeated edge counts into its own series.
TEST(ServiceGraphAggregatorTest, EdgesThatLookAlikeStayApart) {
  ServiceGraphAggregator agg({.dimensions = {"region"}});
  SpanSpec dim_a = Client(5, 2, kMs);
  dim_a.attrs = {{"region", "1:b"}};
  SpanSpec dim_b = Client(6, 2, kMs);
  dim_b.attrs = {{"region", "1"}};
  for (int round = 0; round < 2; ++round) {
    const uint64_t t = 100 * static_cast<uint64_t>(round);
    dim_a.trace = 5 + t;
    dim_b.trace = 6 + t;
    agg.Consume(
        {Resource("ab", {}, {Client(1 + t, 2, kMs)}), Resource("c", {}, {Server(1 + t, 2, kMs)}),
         Resource("a", {}, {Client(2 + t, 2, kMs)}), Resource("bc", {}, {Server(2 + t, 2, kMs)}),
         Resource("1:a", {}, {Client(3 + t, 2, kMs)}), Resource("b", {}, {Server(3 + t, 2, kMs)}),
         Resource("1", {}, {Client(4 + t, 2, kMs)}), Resource("a1:b", {}, {Server(4 + t, 2, kMs)}),
         Resource("x", {}, {dim_a}), Resource("y", {}, {Server(5 + t, 2, kMs)}),
         Resource("x", {}, {dim_b}), Resource("y", {}, {Server(6 + t, 2, kMs)})},
        kT0 + round * kMs);
  }
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(Points(req, kTotal).size(), 6u);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("ab", "c", "", false)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("a", "bc", "", false)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("1:a", "b", "", false)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("1", "a1:b", "", false)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("x", "y", "", false, {{"client_region", "1:b"}})), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("x", "y", "", false, {{"client_region", "1"}})), 2);
}

TEST(ServiceGraphAggregatorTest, MessagingAndDatabaseConnections) {
  ServiceGraphAggregator agg({});
  SpanSpec producer = Client(1, 2, kMs);
  producer.kind = trace::Span::SPAN_KIND_PRODUCER;
  SpanSpec consumer = Server(1, 2, kMs);
  consumer.kind = trace::Span::SPAN_KIND_CONSUMER;
  SpanSpec db = Client(5, 6, 2 * kMs);
  db.attrs = {{"db.name", "orders"}, {"db.system", "postgresql"}};
  agg.Consume({Resource("shop", {}, {producer, db}), Resource("mailer", {}, {consumer})}, kT0);
  EXPECT_EQ(agg.pending_edges(), 0u);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("shop", "mailer", "messaging_system", false)), 1);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("shop", "orders", "database", false)), 1);
}

TEST(ServiceGraphAggregatorTest, UnpairedSpansBecomeVirtualNodesAfterTheWait) {
  ServiceGraphAggregator agg({});
  SpanSpec to_peer = Client(1, 2, kMs);
  to_peer.attrs = {{"peer.service", "payments-api"}};
  SpanSpec root = Server(3, 0, kMs);  // no parent: a request from outside
  root.span = 77;
  agg.Consume({Resource("frontend", {}, {to_peer, Client(2, 2, kMs)}),
               Resource("backend", {}, {root, Server(4, 9, kMs)})},
              kT0);
  EXPECT_EQ(agg.pending_edges(), 4u);
  // Not yet: the wait is 2 s.
  EXPECT_EQ(agg.Expire(kT0 + 1999 * kMs).expired_edges, 0);
  ServiceGraphStats stats = agg.Expire(kT0 + 2000 * kMs);
  EXPECT_EQ(stats.expired_edges, 4);
  EXPECT_EQ(agg.pending_edges(), 0u);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "payments-api", "virtual_node", false)), 1);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "unknown", "virtual_node", false)), 1);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("user", "backend", "virtual_node", false)), 1);
  // A server span whose parent never showed up is only unpaired.
  EXPECT_EQ(Points(req, kTotal).size(), 3u);
  EXPECT_EQ(CounterOf(req, kUnpaired, {{"client", "frontend"}, {"connection_type", ""}}), 2);
  EXPECT_EQ(CounterOf(req, kUnpaired, {{"server", "backend"}, {"connection_type", ""}}), 2);
}

TEST(ServiceGraphAggregatorTest, FullStoreDropsSpans) {
  ServiceGraphOptions options;
  options.max_items = 1;
  ServiceGraphAggregator agg(options);
  ServiceGraphStats stats =
      agg.Consume({Resource("frontend", {}, {Client(1, 2, kMs), Client(2, 2, kMs)})}, kT0);
  EXPECT_EQ(stats.dropped_spans, 1);
  EXPECT_EQ(agg.pending_edges(), 1u);
  // The next batch after the wait first expires the old edge, so it has room again.
  stats = agg.Consume({Resource("frontend", {}, {Client(3, 2, kMs)})}, kT0 + 3000 * kMs);
  EXPECT_EQ(stats.dropped_spans, 0);
  EXPECT_EQ(stats.expired_edges, 1);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kDropped, {{"client", "frontend"}, {"connection_type", ""}}), 1);
}

TEST(ServiceGraphAggregatorTest, PairedEdgesFreeTheirPlaceInEitherOrder) {
  ServiceGraphOptions options;
  options.max_items = 2;
  ServiceGraphAggregator agg(options);
  // Server first for trace 1, client first for trace 2: both pair, and leave the store empty.
  agg.Consume(
      {Resource("backend", {}, {Server(1, 2, kMs)}), Resource("frontend", {}, {Client(2, 2, kMs)})},
      kT0);
  ServiceGraphStats stats = agg.Consume(
      {Resource("frontend", {}, {Client(1, 2, kMs)}), Resource("backend", {}, {Server(2, 2, kMs)})},
      kT0 + 100 * kMs);
  EXPECT_EQ(agg.pending_edges(), 0u);
  // The same call seen again waits anew, and the store has room for two edges again.
  stats = agg.Consume(
      {Resource("frontend", {}, {Client(1, 2, kMs), Client(3, 2, kMs), Client(4, 2, kMs)})},
      kT0 + 1000 * kMs);
  EXPECT_EQ(stats.dropped_spans, 1);
  EXPECT_EQ(agg.pending_edges(), 2u);
  // They expire 2 s after they were stored, not after the first edge of that key.
  EXPECT_EQ(agg.Expire(kT0 + 2500 * kMs).expired_edges, 0);
  EXPECT_EQ(agg.Expire(kT0 + 3000 * kMs).expired_edges, 2);
  Request req;
  agg.AppendTo(kT0 + 3000 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "backend", "", false)), 2);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "unknown", "virtual_node", false)), 2);
  EXPECT_EQ(CounterOf(req, kDropped, {{"client", "frontend"}, {"connection_type", ""}}), 1);
}

TEST(ServiceGraphAggregatorTest, VirtualNodeTakesTheFirstPeerAttributeOfAnyClientSpan) {
  ServiceGraphAggregator agg({});
  SpanSpec first = Client(1, 2, kMs);
  first.attrs = {{"db.system", "redis"}};
  SpanSpec second = Client(1, 2, kMs);  // a duplicate of the same call
  second.attrs = {{"peer.service", "cache"}};
  SpanSpec third = Client(1, 2, kMs);
  third.attrs = {{"db.system", "memcached"}};
  agg.Consume({Resource("frontend", {}, {first, second, third})}, kT0);
  EXPECT_EQ(agg.Expire(kT0 + 2000 * kMs).expired_edges, 1);
  Request req;
  agg.AppendTo(kT0 + 2000 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("frontend", "cache", "virtual_node", false)), 1);
}

TEST(ServiceGraphAggregatorTest, DimensionsArePrefixedBySide) {
  ServiceGraphOptions options;
  options.dimensions = {"deployment.environment", "http.method"};
  ServiceGraphAggregator agg(options);
  SpanSpec client = Client(1, 2, kMs);
  client.attrs = {{"http.method", "GET"}};
  agg.Consume({Resource("frontend", {{"deployment.environment", "prod"}}, {client}),
               Resource("backend", {{"deployment.environment", "staging"}}, {Server(1, 2, kMs)})},
              kT0);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal,
                      Edge("frontend", "backend", "", false,
                           {{"client_deployment.environment", "prod"},
                            {"server_deployment.environment", "staging"},
                            {"client_http.method", "GET"}})),
            1);
}

TEST(ServiceGraphAggregatorTest, SeriesBoundRefusesNewEdges) {
  ServiceGraphOptions options;
  options.max_series = 2 * 19 + 2;  // room for exactly one edge
  ServiceGraphAggregator agg(options);
  ServiceGraphStats stats =
      agg.Consume({Resource("a", {}, {Client(1, 2, kMs), Client(2, 2, kMs)}),
                   Resource("b", {}, {Server(1, 2, kMs)}), Resource("c", {}, {Server(2, 2, kMs)})},
                  kT0);
  EXPECT_EQ(stats.series_dropped, 1);
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("a", "b", "", false)), 1);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("a", "c", "", false)), std::nullopt);
}

TEST(ServiceGraphAggregatorTest, OverlongServiceNamesAreNotRecorded) {
  ServiceGraphAggregator agg({});
  std::string long_name(5000, 'b');
  ServiceGraphStats stats = agg.Consume(
      {Resource("a", {}, {Client(1, 2, kMs)}), Resource(long_name, {}, {Server(1, 2, kMs)})}, kT0);
  EXPECT_EQ(stats.series_dropped, 1);
  EXPECT_EQ(agg.series(), 0u);
}

TEST(ServiceGraphAggregatorTest, IdleSeriesAreDroppedAfterFifteenMinutes) {
  constexpr int64_t kMinute = 60'000 * kMs;
  ServiceGraphAggregator agg({});
  agg.Consume({Resource("a", {}, {Client(1, 2, kMs)}), Resource("b", {}, {Server(1, 2, kMs)})},
              kT0);
  agg.Consume({Resource("a", {}, {Client(2, 2, kMs)}), Resource("c", {}, {Server(2, 2, kMs)})},
              kT0 + 10 * kMinute);
  constexpr int64_t kSecond = 1000 * kMs;
  EXPECT_EQ(agg.Expire(kT0 + 14 * kMinute + 30 * kSecond).series_removed, 0);
  // a->b is idle now, but the last sweep was less than a minute ago.
  EXPECT_EQ(agg.Expire(kT0 + 15 * kMinute + 10 * kSecond).series_removed, 0);
  EXPECT_EQ(agg.Expire(kT0 + 15 * kMinute + 31 * kSecond).series_removed,
            2 * 19 + 1);  // a->b: two histograms and request_total
  Request req;
  agg.AppendTo(kT0 + 600 * kMs, req);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("a", "b", "", false)), std::nullopt);
  EXPECT_EQ(CounterOf(req, kTotal, Edge("a", "c", "", false)), 1);
  EXPECT_EQ(agg.Expire(kT0 + 25 * kMinute).series_removed, 0);
  EXPECT_EQ(agg.Expire(kT0 + 26 * kMinute).series_removed, 2 * 19 + 1);
  EXPECT_EQ(agg.series(), 0u);
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
