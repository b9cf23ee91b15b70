#include "pipeline/spanmetrics/span_metrics_aggregator.h"

#include "gtest/gtest.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace trace = opentelemetry::proto::trace::v1;

constexpr char kCalls[] = "traces.span.metrics.calls";
constexpr char kDuration[] = "traces.span.metrics.duration";
constexpr int64_t kFlushNs = kT0 + 5'000 * kMs;

TEST(SpanMetricsAggregatorTest, EmitsConnectorMetricsPerService) {
  SpanMetricsAggregator agg({});
  EXPECT_EQ(agg.calls_name(), kCalls);
  EXPECT_EQ(agg.duration_name(), kDuration);
  std::vector<trace::ResourceSpans> in = {
      Resource(
          "frontend", {{"service.instance.id", "fe-1"}, {"host.name", "h1"}},
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
  EXPECT_EQ(agg.Consume(in, kT0), 0);
  Request req;
  agg.AppendTo(kFlushNs, req);

  // One resource per service, with only the attributes that make job and instance (host.name
  // would make Prometheus add a target_info series).
  ASSERT_EQ(req.resource_metrics_size(), 2);
  std::vector<AttrMap> resources;
  for (const auto& rm : req.resource_metrics()) {
    resources.push_back(ToMap(rm.resource().attributes()));
    ASSERT_EQ(rm.scope_metrics_size(), 1);
    EXPECT_EQ(rm.scope_metrics(0).scope().name(), "spanmetricsconnector");
  }
  EXPECT_TRUE(
      (resources ==
       std::vector<AttrMap>{{{"service.name", "backend"}, {"service.namespace", "shop"}},
                            {{"service.name", "frontend"}, {"service.instance.id", "fe-1"}}}) ||
      (resources ==
       std::vector<AttrMap>{{{"service.name", "frontend"}, {"service.instance.id", "fe-1"}},
                            {{"service.name", "backend"}, {"service.namespace", "shop"}}}));

  AttrMap fe = {{"service.name", "frontend"}, {"status.code", "STATUS_CODE_UNSET"}};
  auto with = [](AttrMap base, AttrMap more) {
    base.insert(more.begin(), more.end());
    return base;
  };
  EXPECT_EQ(CounterOf(req, kCalls,
                      with(fe, {{"span.name", "GET /cart"}, {"span.kind", "SPAN_KIND_SERVER"}})),
            1);
  EXPECT_EQ(CounterOf(req, kCalls,
                      with(fe, {{"span.name", "GET /api"}, {"span.kind", "SPAN_KIND_CLIENT"}})),
            2);
  AttrMap be = {
      {"service.name", "backend"}, {"span.name", "GET /api"}, {"span.kind", "SPAN_KIND_SERVER"}};
  EXPECT_EQ(CounterOf(req, kCalls, with(be, {{"status.code", "STATUS_CODE_ERROR"}})), 1);
  EXPECT_EQ(CounterOf(req, kCalls, with(be, {{"status.code", "STATUS_CODE_OK"}})), 1);
  auto calls = Points(req, kCalls);
  ASSERT_EQ(calls.size(), 4u);
  auto durations = Points(req, kDuration);
  ASSERT_EQ(durations.size(), 4u);
  EXPECT_EQ(agg.series(), 4u + 4u * 19);
  for (const Point& p : calls) {
    ASSERT_NE(p.sum, nullptr);
    EXPECT_TRUE(p.metric->sum().is_monotonic());
    EXPECT_EQ(p.metric->sum().aggregation_temporality(),
              otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    EXPECT_EQ(p.metric->unit(), "");
    EXPECT_EQ(p.sum->start_time_unix_nano(), static_cast<uint64_t>(kT0));
    EXPECT_EQ(p.sum->time_unix_nano(), static_cast<uint64_t>(kFlushNs));
  }
  for (const Point& p : durations) {
    ASSERT_NE(p.histogram, nullptr);
    EXPECT_EQ(p.metric->histogram().aggregation_temporality(),
              otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
    EXPECT_EQ(p.metric->unit(), "ms");
    EXPECT_EQ(p.histogram->start_time_unix_nano(), static_cast<uint64_t>(kT0));
    EXPECT_EQ(p.histogram->time_unix_nano(), static_cast<uint64_t>(kFlushNs));
    EXPECT_EQ(p.histogram->bucket_counts_size(), 17);
  }
}

TEST(SpanMetricsAggregatorTest, DefaultBucketsAreInclusiveUpperBounds) {
  SpanMetricsAggregator agg({});
  std::vector<SpanSpec> spans;
  for (int64_t ns : {1 * kMs, 2 * kMs, 3 * kMs, 20'000 * kMs, int64_t{0}}) {
    spans.push_back({.span = spans.size() + 1, .name = "work", .duration_ns = ns});
  }
  agg.Consume({Resource("svc", {}, spans)}, kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  const auto* h = HistogramOf(req, kDuration,
                              {{"service.name", "svc"},
                               {"span.name", "work"},
                               {"span.kind", "SPAN_KIND_INTERNAL"},
                               {"status.code", "STATUS_CODE_UNSET"}});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(std::vector<double>(h->explicit_bounds().begin(), h->explicit_bounds().end()),
            DefaultSpanMetricsBucketsMs());
  // 0 and 1 ms and 2 ms (inclusive) in the first bucket, 3 ms in (2, 4], 20 s in the overflow.
  std::vector<uint64_t> want(17, 0);
  want[0] = 3;
  want[1] = 1;
  want[16] = 1;
  EXPECT_EQ(Buckets(*h), want);
  EXPECT_EQ(h->sum(), 20'006);
  EXPECT_EQ(h->count(), 5u);
}

TEST(SpanMetricsAggregatorTest, ExtraDimensionsFromSpanThenResourceThenDefault) {
  SpanMetricsOptions options;
  options.dimensions = {{.name = "http.method"},
                        {.name = "deployment.environment"},
                        {.name = "tier", .default_value = "none"},
                        {.name = "absent"}};
  SpanMetricsAggregator agg(options);
  agg.Consume({Resource("svc", {{"deployment.environment", "prod"}, {"http.method", "RES"}},
                        {{.span = 1, .name = "a", .attrs = {{"http.method", "GET"}}}})},
              kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  EXPECT_EQ(CounterOf(req, kCalls,
                      {{"service.name", "svc"},
                       {"span.name", "a"},
                       {"span.kind", "SPAN_KIND_INTERNAL"},
                       {"status.code", "STATUS_CODE_UNSET"},
                       {"http.method", "GET"},
                       {"deployment.environment", "prod"},
                       {"tier", "none"}}),
            1);
}

// Spans are grouped, and series keys cached across requests, by a memo of their parts: parts
// that would read alike run together (name and dimension, kind and status) stay apart.
TEST(SpanMetricsAggregatorTest, SeriesWhosePartsRunTogetherStayApartAcrossRequests) {
  SpanMetricsOptions options;
  options.dimensions = {{.name = "d"}};
  SpanMetricsAggregator agg(options);
  const auto server = trace::Span::SPAN_KIND_SERVER;    // 2
  const auto client = trace::Span::SPAN_KIND_CLIENT;    // 3
  const auto error = trace::Status::STATUS_CODE_ERROR;  // 2
  const auto ok = trace::Status::STATUS_CODE_OK;        // 1
  std::vector<trace::ResourceSpans> in = {
      Resource("svc", {},
               {{.span = 1, .name = "ab", .kind = server, .status = error, .attrs = {{"d", "c"}}},
                {.span = 2, .name = "a", .kind = server, .status = error, .attrs = {{"d", "bc"}}},
                {.span = 3, .name = "a", .kind = client, .status = ok, .attrs = {{"d", "bc"}}},
                {.span = 4, .name = "a", .kind = server, .status = ok, .attrs = {{"d", "bc"}}}})};
  EXPECT_EQ(agg.Consume(in, kT0), 0);
  EXPECT_EQ(agg.Consume(in, kT0), 0);  // every key from the cache
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto series = [](std::string name, std::string kind, std::string status, std::string d) {
    return AttrMap{{"service.name", "svc"},
                   {"span.name", name},
                   {"span.kind", kind},
                   {"status.code", status},
                   {"d", d}};
  };
  EXPECT_EQ(CounterOf(req, kCalls, series("ab", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "c")), 2);
  EXPECT_EQ(CounterOf(req, kCalls, series("a", "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "bc")), 2);
  EXPECT_EQ(CounterOf(req, kCalls, series("a", "SPAN_KIND_CLIENT", "STATUS_CODE_OK", "bc")), 2);
  EXPECT_EQ(CounterOf(req, kCalls, series("a", "SPAN_KIND_SERVER", "STATUS_CODE_OK", "bc")), 2);
  EXPECT_EQ(Points(req, kCalls).size(), 4u);
}

TEST(SpanMetricsAggregatorTest, DimensionValuesKeepTheirType) {
  SpanMetricsOptions options;
  options.dimensions = {{.name = "http.status_code"}};
  SpanMetricsAggregator agg(options);
  trace::ResourceSpans rs = Resource("svc", {}, {{.span = 1, .name = "a"}});
  auto* kv = rs.mutable_scope_spans(0)->mutable_spans(0)->add_attributes();
  kv->set_key("http.status_code");
  kv->mutable_value()->set_int_value(503);
  agg.Consume({rs}, kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto calls = Points(req, kCalls);
  ASSERT_EQ(calls.size(), 1u);
  bool found = false;
  for (const auto& a : calls[0].sum->attributes()) {
    if (a.key() != "http.status_code") continue;
    found = true;
    EXPECT_EQ(a.value().int_value(), 503);
  }
  EXPECT_TRUE(found);
}

TEST(SpanMetricsAggregatorTest, SkipsResourcesWithoutServiceNameAndInvalidSpans) {
  SpanMetricsAggregator agg({});
  trace::ResourceSpans bad = Resource("svc", {}, {{.span = 1}, {.span = 2}});
  bad.mutable_scope_spans(0)->mutable_spans(1)->set_trace_id("short");
  agg.Consume({Resource("", {{"host.name", "h"}}, {{.span = 1}}), bad}, kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  ASSERT_EQ(req.resource_metrics_size(), 1);
  auto calls = Points(req, kCalls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].sum->as_int(), 1);
}

TEST(SpanMetricsAggregatorTest, InterleavedSeriesGetTheirOwnDurations) {
  SpanMetricsAggregator agg({});
  // "a" takes 1, 3, 5 ms, "b" 60, 70 ms, "c" 20 s, interleaved.
  std::vector<SpanSpec> spans = {{.span = 1, .name = "a", .duration_ns = 1 * kMs},
                                 {.span = 2, .name = "b", .duration_ns = 60 * kMs},
                                 {.span = 3, .name = "a", .duration_ns = 3 * kMs},
                                 {.span = 4, .name = "c", .duration_ns = 20'000 * kMs},
                                 {.span = 5, .name = "b", .duration_ns = 70 * kMs},
                                 {.span = 6, .name = "a", .duration_ns = 5 * kMs}};
  agg.Consume({Resource("svc", {}, spans), Resource("other", {}, {spans[1]})}, kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto labels = [](const std::string& service, const std::string& name) {
    return AttrMap{{"service.name", service},
                   {"span.name", name},
                   {"span.kind", "SPAN_KIND_INTERNAL"},
                   {"status.code", "STATUS_CODE_UNSET"}};
  };
  const auto* a = HistogramOf(req, kDuration, labels("svc", "a"));
  const auto* b = HistogramOf(req, kDuration, labels("svc", "b"));
  const auto* c = HistogramOf(req, kDuration, labels("svc", "c"));
  const auto* other = HistogramOf(req, kDuration, labels("other", "b"));
  ASSERT_TRUE(a != nullptr && b != nullptr && c != nullptr && other != nullptr);
  EXPECT_EQ(a->count(), 3u);
  EXPECT_EQ(a->sum(), 9);
  EXPECT_EQ(b->count(), 2u);
  EXPECT_EQ(b->sum(), 130);
  EXPECT_EQ(c->count(), 1u);
  EXPECT_EQ(c->sum(), 20'000);
  EXPECT_EQ(other->count(), 1u);
  EXPECT_EQ(other->sum(), 60);
  std::vector<uint64_t> want(17, 0);
  want[0] = 1;  // 1 ms
  want[1] = 1;  // 3 ms
  want[2] = 1;  // 5 ms
  EXPECT_EQ(Buckets(*a), want);
  EXPECT_EQ(CounterOf(req, kCalls, labels("svc", "b")), 2);
}

TEST(SpanMetricsAggregatorTest, SecondsUnitAndCustomBuckets) {
  SpanMetricsOptions options;
  options.unit = DurationUnit::kSeconds;
  options.metrics_namespace = "";
  SpanMetricsAggregator agg(options);
  EXPECT_EQ(agg.calls_name(), "calls");
  EXPECT_EQ(agg.duration_name(), "duration");
  agg.Consume({Resource("svc", {}, {{.span = 1, .duration_ns = 3 * kMs}})}, kT0);
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto durations = Points(req, "duration");
  ASSERT_EQ(durations.size(), 1u);
  EXPECT_EQ(durations[0].metric->unit(), "s");
  const auto& h = *durations[0].histogram;
  ASSERT_EQ(h.explicit_bounds_size(), 16);
  EXPECT_DOUBLE_EQ(h.explicit_bounds(0), 0.002);
  EXPECT_DOUBLE_EQ(h.explicit_bounds(1), 0.004);
  EXPECT_EQ(h.bucket_counts(0), 0u);
  EXPECT_EQ(h.bucket_counts(1), 1u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.003);

  SpanMetricsOptions custom;
  custom.buckets = {1, 10};
  SpanMetricsAggregator agg2(custom);
  agg2.Consume({Resource("svc", {}, {{.span = 1, .duration_ns = 5 * kMs}})}, kT0);
  Request req2;
  agg2.AppendTo(kFlushNs, req2);
  auto d2 = Points(req2, kDuration);
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(Buckets(*d2[0].histogram), (std::vector<uint64_t>{0, 1, 0}));
}

TEST(SpanMetricsAggregatorTest, SeriesBoundDropsNewSeriesOnly) {
  SpanMetricsOptions options;
  options.max_series = 20;  // one operation: 1 counter + 16 + 3 histogram series
  SpanMetricsAggregator agg(options);
  EXPECT_EQ(agg.Consume({Resource("svc", {}, {{.span = 1, .name = "a"}})}, kT0), 0);
  EXPECT_EQ(
      agg.Consume({Resource("svc", {}, {{.span = 2, .name = "b"}, {.span = 3, .name = "a"}})}, kT0),
      1);
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto calls = Points(req, kCalls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].attrs["span.name"], "a");
  EXPECT_EQ(calls[0].sum->as_int(), 2);
  EXPECT_EQ(agg.series(), 20u);
}

TEST(SpanMetricsAggregatorTest, OverlongLabelValuesAreNotCounted) {
  SpanMetricsAggregator agg({});
  std::string long_name(4097, 'x');
  EXPECT_EQ(
      agg.Consume(
          {Resource("svc", {},
                    {{.span = 1, .name = long_name}, {.span = 2, .name = std::string(4096, 'y')}})},
          kT0),
      1);
  Request req;
  agg.AppendTo(kFlushNs, req);
  auto calls = Points(req, kCalls);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].attrs["span.name"].size(), 4096u);
}

TEST(SpanMetricsAggregatorTest, NothingConsumedWritesNothing) {
  SpanMetricsAggregator agg({});
  Request req;
  agg.AppendTo(kFlushNs, req);
  EXPECT_EQ(req.resource_metrics_size(), 0);
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
