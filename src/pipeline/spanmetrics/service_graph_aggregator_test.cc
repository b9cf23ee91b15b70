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

model::Labels Edge(std::string name, std::string client, std::string server,
                   std::string connection_type, bool failed, std::vector<model::Label> extra = {}) {
  extra.push_back({"__name__", std::move(name)});
  extra.push_back({"client", std::move(client)});
  extra.push_back({"server", std::move(server)});
  extra.push_back({"connection_type", std::move(connection_type)});
  extra.push_back({"failed", failed ? "true" : "false"});
  return L(std::move(extra));
}

model::Labels Bucket(const char* name, const std::string& client, const std::string& server,
                     const char* le) {
  return L({{"__name__", std::string(name) + "_bucket"},
            {"client", client},
            {"server", server},
            {"failed", "false"},
            {"le", le}});
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
  model::MetricBatch batch;
  agg.AppendTo(42, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "backend", "", false)), 2);
  EXPECT_EQ(Named(batch, kFailed).size(), 0u);
  // Server latencies 3 ms and 1 ms, client latencies 5 ms twice, in seconds buckets.
  EXPECT_EQ(ValueOf(batch, Bucket(kServer, "frontend", "backend", "0.002")), 1);
  EXPECT_EQ(ValueOf(batch, Bucket(kServer, "frontend", "backend", "0.004")), 2);
  EXPECT_EQ(ValueOf(batch, Bucket(kClient, "frontend", "backend", "0.004")), 0);
  EXPECT_EQ(ValueOf(batch, Bucket(kClient, "frontend", "backend", "0.006")), 2);
  EXPECT_EQ(ValueOf(batch, Bucket(kClient, "frontend", "backend", "15")), 2);
  EXPECT_EQ(ValueOf(batch, Bucket(kClient, "frontend", "backend", "+Inf")), 2);
  EXPECT_DOUBLE_EQ(
      *ValueOf(batch, Edge(std::string(kServer) + "_sum", "frontend", "backend", "", false)),
      0.004);
  EXPECT_EQ(ValueOf(batch, Edge(std::string(kClient) + "_count", "frontend", "backend", "", false)),
            2);
  EXPECT_EQ(Named(batch, std::string(kServer) + "_bucket").size(), 17u);
  EXPECT_EQ(Named(batch, kUnpaired).size(), 0u);
  ASSERT_EQ(batch.metadata.size(), 6u);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "backend", "", true)), 2);
  EXPECT_EQ(ValueOf(batch, Edge(kFailed, "frontend", "backend", "", true)), 2);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "backend", "", false)), 1);
  EXPECT_EQ(ValueOf(batch, Edge(kFailed, "frontend", "backend", "", false)), std::nullopt);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "shop", "mailer", "messaging_system", false)), 1);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "shop", "orders", "database", false)), 1);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "payments-api", "virtual_node", false)), 1);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "unknown", "virtual_node", false)), 1);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "user", "backend", "virtual_node", false)), 1);
  // A server span whose parent never showed up is only unpaired.
  EXPECT_EQ(Named(batch, kTotal).size(), 3u);
  EXPECT_EQ(ValueOf(batch, L({{"__name__", kUnpaired}, {"client", "frontend"}})), 2);
  EXPECT_EQ(ValueOf(batch, L({{"__name__", kUnpaired}, {"server", "backend"}})), 2);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, L({{"__name__", kDropped}, {"client", "frontend"}})), 1);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "frontend", "backend", "", false,
                                {{"client_deployment_environment", "prod"},
                                 {"server_deployment_environment", "staging"},
                                 {"client_http_method", "GET"}})),
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "a", "b", "", false)), 1);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "a", "c", "", false)), std::nullopt);
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
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "a", "b", "", false)), std::nullopt);
  EXPECT_EQ(ValueOf(batch, Edge(kTotal, "a", "c", "", false)), 1);
  EXPECT_EQ(agg.Expire(kT0 + 25 * kMinute).series_removed, 0);
  EXPECT_EQ(agg.Expire(kT0 + 26 * kMinute).series_removed, 2 * 19 + 1);
  EXPECT_EQ(agg.series(), 0u);
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
