#include "api/jaeger/dependencies_from_metrics.h"

#include <stdlib.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "ingest/otlp/metrics_ingester.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "pipeline/spanmetrics/span_metrics_writer.h"
#include "tsdb/db.h"

namespace oriel::api::jaeger {
namespace {

constexpr int64_t kT = 1'700'000'000'000;  // ms
constexpr int64_t kNs = 1'000'000;

model::Labels Edge(std::vector<model::Label> labels, std::string name = kServiceGraphRequestTotal) {
  labels.push_back({"__name__", std::move(name)});
  return model::Labels::FromUnsorted(std::move(labels));
}

class DependenciesFromMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jaeger_deps_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    tsdb::DbOptions options;
    options.registry = &registry_;
    options.background_maintenance = false;
    auto db = tsdb::DB::Open(dir_, options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Write(const model::Labels& labels, std::vector<model::Sample> samples) {
    model::MetricBatch batch;
    batch.series.push_back({.labels = labels, .samples = std::move(samples)});
    auto r = db_->Write(std::move(batch));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->samples_rejected, 0) << r->first_rejection;
  }

  std::string dir_;
  metrics::Registry registry_;
  std::unique_ptr<tsdb::DB> db_;
};

TEST_F(DependenciesFromMetricsTest, CountsRequestsInTheWindowPerClientServerPair) {
  // Window (kT - 15s, kT + 30s].
  // Baseline 10 before the window, 20 at its end: 10 requests.
  Write(Edge({{"client", "frontend"}, {"server", "backend"}, {"failed", "false"}}),
        {{kT - 60'000, 10}, {kT, 12}, {kT + 15'000, 15}, {kT + 30'000, 20}});
  // Created inside the window: counts from zero; same pair, so added: 13.
  Write(Edge({{"client", "frontend"}, {"server", "backend"}, {"failed", "true"}}),
        {{kT + 15'000, 3}});
  // A reset (restart) inside the window: 5 -> 2 counts 2, then 2 -> 4 counts 2.
  Write(Edge({{"client", "frontend"},
              {"server", "orders"},
              {"connection_type", "database"},
              {"failed", "false"}}),
        {{kT - 60'000, 5}, {kT, 2}, {kT + 30'000, 4}});
  // No requests in the window.
  Write(Edge({{"client", "a"}, {"server", "b"}, {"failed", "false"}}),
        {{kT - 60'000, 7}, {kT - 30'000, 7}, {kT, 7}});
  // Only after the window.
  Write(Edge({{"client", "x"}, {"server", "y"}, {"failed", "false"}}), {{kT + 60'000, 5}});
  // Not an edge, or not the request counter.
  Write(Edge({{"client", "lonely"}, {"failed", "false"}}), {{kT, 1}});
  Write(Edge({{"client", "frontend"}, {"server", "backend"}, {"failed", "true"}},
             "traces_service_graph_request_failed_total"),
        {{kT + 15'000, 3}});

  auto links = DependenciesFromServiceGraph(*db_, (kT + 30'000) * kNs, 45'000 * kNs);
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[0].parent, "frontend");
  EXPECT_EQ((*links)[0].child, "backend");
  EXPECT_EQ((*links)[0].call_count, 13);
  EXPECT_EQ((*links)[1].parent, "frontend");
  EXPECT_EQ((*links)[1].child, "orders");
  EXPECT_EQ((*links)[1].call_count, 4);
}

TEST_F(DependenciesFromMetricsTest, StaleMarkersAndEmptyStore) {
  auto none = DependenciesFromServiceGraph(*db_, kT * kNs, 3600'000 * kNs);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());

  Write(Edge({{"client", "a"}, {"server", "b"}, {"failed", "false"}}),
        {{kT - 1000, 1}, {kT, model::StaleNaN()}, {kT + 1000, 3}});
  auto links = DependenciesFromServiceGraph(*db_, (kT + 1000) * kNs, 60'000 * kNs);
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].call_count, 3);
}

TEST_F(DependenciesFromMetricsTest, RejectsNonPositiveLookback) {
  auto links = DependenciesFromServiceGraph(*db_, kT * kNs, 0);
  EXPECT_EQ(links.status().code(), absl::StatusCode::kInvalidArgument);
}

// Spans through the span pipeline into the metrics engine, then back out as Jaeger links.
class AcceptAll : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> rs) override {
    return tracestore::TraceWriteResult{};
  }
};

opentelemetry::proto::trace::v1::ResourceSpans Side(const std::string& service, uint64_t trace,
                                                    bool client) {
  opentelemetry::proto::trace::v1::ResourceSpans rs;
  auto* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  auto* span = rs.add_scope_spans()->add_spans();
  std::string trace_id(16, '\0');
  trace_id[15] = static_cast<char>(trace);
  span->set_trace_id(trace_id);
  span->set_span_id(std::string(7, '\0') + (client ? "\x01" : "\x02"));
  if (!client) span->set_parent_span_id(std::string(7, '\0') + "\x01");
  span->set_name(client ? "GET /api" : "handle");
  span->set_kind(client ? opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT
                        : opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(kT * kNs);
  span->set_end_time_unix_nano(kT * kNs + 3 * kNs);
  return rs;
}

TEST_F(DependenciesFromMetricsTest, EndToEndFromSpans) {
  AcceptAll traces;
  pipeline::spanmetrics::SpanMetricsWriterOptions options;
  options.flush_interval = absl::ZeroDuration();
  metrics::Registry registry;
  // Into the engine through the OTLP metrics ingester, as the server wires it.
  ingest::otlp::OtlpMetricsIngester ingester(*db_);
  auto sink = [&](opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req) {
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse response;
    absl::Status st = ingester.Export(req, response);
    EXPECT_FALSE(response.has_partial_success()) << response.partial_success().error_message();
    return st;
  };
  pipeline::spanmetrics::SpanMetricsWriter writer(traces, sink, options, registry,
                                                  [] { return kT * kNs; });
  for (uint64_t t = 1; t <= 3; ++t) {
    ASSERT_TRUE(writer.Write({Side("frontend", t, true), Side("backend", t, false)}).ok());
  }
  ASSERT_TRUE(writer.Flush(kT).ok());
  for (uint64_t t = 4; t <= 5; ++t) {
    ASSERT_TRUE(writer.Write({Side("frontend", t, true), Side("backend", t, false)}).ok());
  }
  ASSERT_TRUE(writer.Flush(kT + 15'000).ok());

  auto links = DependenciesFromServiceGraph(*db_, (kT + 15'000) * kNs, 3600'000 * kNs);
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].parent, "frontend");
  EXPECT_EQ((*links)[0].child, "backend");
  EXPECT_EQ((*links)[0].call_count, 5);
  // Only the last flush is inside a 10 s window: 3 -> 5.
  links = DependenciesFromServiceGraph(*db_, (kT + 15'000) * kNs, 10'000 * kNs);
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].call_count, 2);

  // The RED metrics landed too, with the connector's names and labels.
  auto name = model::Matcher::Create(model::MatchType::kEqual, "__name__",
                                     "traces_span_metrics_calls_total");
  ASSERT_TRUE(name.ok());
  std::vector<model::Matcher> matchers = {*name};
  auto set = db_->Select(kT, kT + 15'000, matchers, nullptr);
  std::vector<std::string> series;
  while (set->Next()) series.push_back(set->labels().ToString());
  EXPECT_EQ(series,
            (std::vector<std::string>{
                R"(traces_span_metrics_calls_total{job="backend", service_name="backend", )"
                R"(span_kind="SPAN_KIND_SERVER", span_name="handle", )"
                R"(status_code="STATUS_CODE_UNSET"})",
                R"(traces_span_metrics_calls_total{job="frontend", service_name="frontend", )"
                R"(span_kind="SPAN_KIND_CLIENT", span_name="GET /api", )"
                R"(status_code="STATUS_CODE_UNSET"})"}));
  EXPECT_EQ(db_->Metadata("traces_span_metrics_duration_milliseconds", 0).size(), 1u);
  // Only the resource attributes that make job and instance are emitted: no target_info.
  auto target_info = model::Matcher::Create(model::MatchType::kEqual, "__name__", "target_info");
  ASSERT_TRUE(target_info.ok());
  matchers = {*target_info};
  auto info = db_->Select(kT, kT + 15'000, matchers, nullptr);
  EXPECT_FALSE(info->Next()) << info->labels().ToString();
}

}  // namespace
}  // namespace oriel::api::jaeger
