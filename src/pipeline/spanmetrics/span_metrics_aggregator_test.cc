#include "pipeline/spanmetrics/span_metrics_aggregator.h"

#include "gtest/gtest.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace trace = opentelemetry::proto::trace::v1;

constexpr char kCalls[] = "traces_span_metrics_calls_total";
constexpr char kDuration[] = "traces_span_metrics_duration_milliseconds";

model::Labels Red(std::string name, std::vector<model::Label> extra) {
  extra.push_back({"__name__", std::move(name)});
  return L(std::move(extra));
}

TEST(SpanMetricsAggregatorTest, NamesAndLabelsAsConnectorPlusPrometheus) {
  SpanMetricsAggregator agg({});
  EXPECT_EQ(agg.calls_name(), kCalls);
  EXPECT_EQ(agg.duration_name(), kDuration);
  std::vector<trace::ResourceSpans> in = {
      Resource(
          "frontend", {{"service.instance.id", "fe-1"}},
          {{.span = 1, .name = "GET /cart", .kind = trace::Span::SPAN_KIND_SERVER},
           {.span = 2, .parent = 1, .name = "GET /api", .kind = trace::Span::SPAN_KIND_CLIENT},
           {.span = 3, .parent = 1, .name = "GET /api", .kind = trace::Span::SPAN_KIND_CLIENT}}),
      Resource("backend", {{"service.namespace", "shop"}},
               {{.span = 4,
                 .parent = 2,
                 .name = "GET /api",
                 .kind = trace::Span::SPAN_KIND_SERVER,
                 .status = trace::Status::STATUS_CODE_ERROR},
                {.span = 5,
                 .parent = 3,
                 .name = "GET /api",
                 .kind = trace::Span::SPAN_KIND_SERVER,
                 .status = trace::Status::STATUS_CODE_OK}})};
  EXPECT_EQ(agg.Consume(in), 0);
  model::MetricBatch batch;
  agg.AppendTo(1234, batch);

  std::vector<model::Label> fe = {{"job", "frontend"},
                                  {"instance", "fe-1"},
                                  {"service_name", "frontend"},
                                  {"status_code", "STATUS_CODE_UNSET"}};
  auto with = [](std::vector<model::Label> base, std::vector<model::Label> more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };
  EXPECT_EQ(ValueOf(batch, Red(kCalls, with(fe, {{"span_name", "GET /cart"},
                                                 {"span_kind", "SPAN_KIND_SERVER"}}))),
            1);
  EXPECT_EQ(ValueOf(batch, Red(kCalls, with(fe, {{"span_name", "GET /api"},
                                                 {"span_kind", "SPAN_KIND_CLIENT"}}))),
            2);
  std::vector<model::Label> be = {{"job", "shop/backend"},
                                  {"service_name", "backend"},
                                  {"span_name", "GET /api"},
                                  {"span_kind", "SPAN_KIND_SERVER"}};
  EXPECT_EQ(ValueOf(batch, Red(kCalls, with(be, {{"status_code", "STATUS_CODE_ERROR"}}))), 1);
  EXPECT_EQ(ValueOf(batch, Red(kCalls, with(be, {{"status_code", "STATUS_CODE_OK"}}))), 1);
  EXPECT_EQ(Named(batch, kCalls).size(), 4u);
  // 4 histograms of 16 bounds: 17 buckets + _sum + _count each.
  EXPECT_EQ(Named(batch, std::string(kDuration) + "_bucket").size(), 4u * 17);
  EXPECT_EQ(agg.series(), 4u + 4u * 19);
  for (const auto& s : batch.series) {
    ASSERT_EQ(s.samples.size(), 1u);
    EXPECT_EQ(s.samples[0].timestamp_ms, 1234);
  }
  ASSERT_EQ(batch.metadata.size(), 2u);
  EXPECT_EQ(batch.metadata[0].metric_family, kCalls);
  EXPECT_EQ(batch.metadata[0].type, model::MetricType::kCounter);
  EXPECT_EQ(batch.metadata[1].metric_family, kDuration);
  EXPECT_EQ(batch.metadata[1].type, model::MetricType::kHistogram);
  EXPECT_EQ(batch.metadata[1].unit, "ms");
}

TEST(SpanMetricsAggregatorTest, DefaultBucketsAreInclusiveUpperBounds) {
  SpanMetricsAggregator agg({});
  std::vector<SpanSpec> spans;
  for (int64_t ns : {1 * kMs, 2 * kMs, 3 * kMs, 20'000 * kMs, int64_t{0}}) {
    spans.push_back({.span = spans.size() + 1, .name = "work", .duration_ns = ns});
  }
  agg.Consume({Resource("svc", {}, spans)});
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  std::vector<model::Label> base = {{"job", "svc"},
                                    {"service_name", "svc"},
                                    {"span_name", "work"},
                                    {"span_kind", "SPAN_KIND_INTERNAL"},
                                    {"status_code", "STATUS_CODE_UNSET"}};
  auto bucket = [&](const char* le) {
    auto items = base;
    items.push_back({"le", le});
    return ValueOf(batch, Red(std::string(kDuration) + "_bucket", items));
  };
  // 0 and 1 ms and 2 ms (inclusive) in le=2, 3 ms in le=4, 20 s only in +Inf.
  EXPECT_EQ(bucket("2"), 3);
  EXPECT_EQ(bucket("4"), 4);
  EXPECT_EQ(bucket("6"), 4);
  EXPECT_EQ(bucket("1400"), 4);
  EXPECT_EQ(bucket("15000"), 4);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(bucket("3"), std::nullopt);
  EXPECT_EQ(ValueOf(batch, Red(std::string(kDuration) + "_sum", base)), 20'006);
  EXPECT_EQ(ValueOf(batch, Red(std::string(kDuration) + "_count", base)), 5);
  std::vector<std::string> les;
  for (const auto& s : Named(batch, std::string(kDuration) + "_bucket")) {
    les.emplace_back(s.labels.Get("le"));
  }
  std::sort(les.begin(), les.end());
  std::vector<std::string> want = {"10",   "100", "1000", "10000", "1400", "15000",
                                   "2",    "200", "2000", "4",     "400",  "50",
                                   "5000", "6",   "8",    "800",   "+Inf"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(les, want);
}

TEST(SpanMetricsAggregatorTest, ExtraDimensionsFromSpanThenResourceThenDefault) {
  SpanMetricsOptions options;
  options.dimensions = {{.name = "http.method"},
                        {.name = "deployment.environment"},
                        {.name = "tier", .default_value = "none"},
                        {.name = "absent"}};
  SpanMetricsAggregator agg(options);
  agg.Consume({Resource("svc", {{"deployment.environment", "prod"}, {"http.method", "RES"}},
                        {{.span = 1, .name = "a", .attrs = {{"http.method", "GET"}}}})});
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_EQ(ValueOf(batch, Red(kCalls, {{"job", "svc"},
                                        {"service_name", "svc"},
                                        {"span_name", "a"},
                                        {"span_kind", "SPAN_KIND_INTERNAL"},
                                        {"status_code", "STATUS_CODE_UNSET"},
                                        {"http_method", "GET"},
                                        {"deployment_environment", "prod"},
                                        {"tier", "none"}})),
            1);
}

TEST(SpanMetricsAggregatorTest, SkipsResourcesWithoutServiceNameAndInvalidSpans) {
  SpanMetricsAggregator agg({});
  trace::ResourceSpans bad = Resource("svc", {}, {{.span = 1}, {.span = 2}});
  bad.mutable_scope_spans(0)->mutable_spans(1)->set_trace_id("short");
  agg.Consume({Resource("", {{"host.name", "h"}}, {{.span = 1}}), bad});
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  ASSERT_EQ(Named(batch, kCalls).size(), 1u);
  EXPECT_EQ(Named(batch, kCalls)[0].samples[0].value, 1);
}

TEST(SpanMetricsAggregatorTest, SecondsUnitAndCustomBuckets) {
  SpanMetricsOptions options;
  options.unit = DurationUnit::kSeconds;
  options.metrics_namespace = "";
  SpanMetricsAggregator agg(options);
  EXPECT_EQ(agg.calls_name(), "calls_total");
  EXPECT_EQ(agg.duration_name(), "duration_seconds");
  agg.Consume({Resource("svc", {}, {{.span = 1, .duration_ns = 3 * kMs}})});
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  auto buckets = Named(batch, "duration_seconds_bucket");
  ASSERT_EQ(buckets.size(), 17u);
  bool found = false;
  for (const auto& s : buckets) {
    if (s.labels.Get("le") == "0.004") {
      found = true;
      EXPECT_EQ(s.samples[0].value, 1);
    }
    if (s.labels.Get("le") == "0.002") {
      EXPECT_EQ(s.samples[0].value, 0);
    }
  }
  EXPECT_TRUE(found);

  SpanMetricsOptions custom;
  custom.buckets = {1, 10};
  SpanMetricsAggregator agg2(custom);
  agg2.Consume({Resource("svc", {}, {{.span = 1, .duration_ns = 5 * kMs}})});
  model::MetricBatch batch2;
  agg2.AppendTo(1, batch2);
  EXPECT_EQ(Named(batch2, std::string(kDuration) + "_bucket").size(), 3u);
}

TEST(SpanMetricsAggregatorTest, SeriesBoundDropsNewSeriesOnly) {
  SpanMetricsOptions options;
  options.max_series = 20;  // one operation: 1 counter + 16 + 3 histogram series
  SpanMetricsAggregator agg(options);
  EXPECT_EQ(agg.Consume({Resource("svc", {}, {{.span = 1, .name = "a"}})}), 0);
  EXPECT_EQ(
      agg.Consume({Resource("svc", {}, {{.span = 2, .name = "b"}, {.span = 3, .name = "a"}})}), 1);
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  ASSERT_EQ(Named(batch, kCalls).size(), 1u);
  EXPECT_EQ(Named(batch, kCalls)[0].labels.Get("span_name"), "a");
  EXPECT_EQ(Named(batch, kCalls)[0].samples[0].value, 2);
  EXPECT_EQ(agg.series(), 20u);
}

TEST(SpanMetricsAggregatorTest, OverlongLabelValuesAreNotCounted) {
  SpanMetricsAggregator agg({});
  std::string long_name(4097, 'x');
  EXPECT_EQ(agg.Consume({Resource(
                "svc", {},
                {{.span = 1, .name = long_name}, {.span = 2, .name = std::string(4096, 'y')}})}),
            1);
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  ASSERT_EQ(Named(batch, kCalls).size(), 1u);
  EXPECT_EQ(Named(batch, kCalls)[0].labels.Get("span_name").size(), 4096u);
}

TEST(SpanMetricsAggregatorTest, NothingConsumedWritesNothing) {
  SpanMetricsAggregator agg({});
  model::MetricBatch batch;
  agg.AppendTo(1, batch);
  EXPECT_TRUE(batch.series.empty());
  EXPECT_TRUE(batch.metadata.empty());
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
