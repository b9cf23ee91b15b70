#include "ingest/otlp/metrics_translator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/status.h"
#include "ingest/otlp/otlp_json.h"
#include "ingest/otlp/prometheus_naming.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kT = 1700000000000;  // ms
std::string Ns(int64_t ms) { return fmt::format("\"{}000000\"", ms); }

std::string Attr(std::string_view k, std::string_view v) {
  return fmt::format(R"({{"key":"{}","value":{{"stringValue":"{}"}}}})", k, v);
}

// One resource with `resource_attrs`, one scope, `metrics` (a JSON array body).
ExportMetricsServiceRequest Request(std::string_view resource_attrs, std::string_view metrics) {
  std::string json = fmt::format(
      R"({{"resourceMetrics":[{{"resource":{{"attributes":[{}]}},"scopeMetrics":[{{
          "scope":{{"name":"lib","version":"1.2"}},"metrics":[{}]}}]}}]}})",
      resource_attrs, metrics);
  ExportMetricsServiceRequest req;
  absl::Status st = ParseOtlpJson(json, OtlpSignal::kMetrics, req);
  EXPECT_TRUE(st.ok()) << st << "\n" << json;
  return req;
}

std::string Value(double v) {
  if (model::IsStaleNaN(v)) return "stale";
  return fmt::format("{}", v);
}

std::string Spans(const std::vector<model::BucketSpan>& spans, const std::vector<double>& counts) {
  std::string out = "[";
  for (const auto& s : spans) out += fmt::format("{}:{} ", s.offset, s.length);
  out += "|";
  for (double c : counts) out += fmt::format(" {}", c);
  return out + "]";
}

// Every sample, histogram and exemplar of `t`, one per line, sorted.
std::vector<std::string> Dump(const Translation& t) {
  std::vector<std::string> lines;
  for (const auto& s : t.batch.series) {
    std::string name = s.labels.ToString();
    for (const auto& p : s.samples) {
      lines.push_back(fmt::format("{} {} {}", name, p.timestamp_ms - kT, Value(p.value)));
    }
    for (const auto& h : s.histograms) {
      lines.push_back(fmt::format("{} {} schema={} zt={} zc={} count={} sum={} pos={} neg={}", name,
                                  h.timestamp_ms - kT, h.schema, h.zero_threshold, h.zero_count,
                                  Value(h.count), Value(h.sum),
                                  Spans(h.positive_spans, h.positive_buckets),
                                  Spans(h.negative_spans, h.negative_buckets)));
    }
    for (const auto& e : s.exemplars) {
      lines.push_back(fmt::format("{} exemplar {} {} {}", name, e.labels.ToString(), e.value,
                                  e.timestamp_ms - kT));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

const model::MetricMetadata* FindMetadata(const Translation& t, std::string_view family) {
  for (const auto& m : t.batch.metadata) {
    if (m.metric_family == family) return &m;
  }
  return nullptr;
}

TEST(PrometheusNaming, MetricNames) {
  struct Case {
    std::string_view name, unit;
    OtlpMetricKind kind;
    std::string_view want;
  } cases[] = {
      {"http.server.duration", "ms", OtlpMetricKind::kHistogram,
       "http_server_duration_milliseconds"},
      {"http.server.request.duration", "s", OtlpMetricKind::kHistogram,
       "http_server_request_duration_seconds"},
      {"system.network.io", "By", OtlpMetricKind::kMonotonicCounter,
       "system_network_io_bytes_total"},
      {"process.memory.usage", "By", OtlpMetricKind::kNonMonotonicCounter,
       "process_memory_usage_bytes"},
      {"system.cpu.utilization", "1", OtlpMetricKind::kGauge, "system_cpu_utilization_ratio"},
      {"requests", "1", OtlpMetricKind::kMonotonicCounter, "requests_total"},
      {"requests", "1", OtlpMetricKind::kNonMonotonicCounter, "requests"},
      {"http.requests.total", "{request}", OtlpMetricKind::kMonotonicCounter,
       "http_requests_total"},
      {"requests.total.served", "", OtlpMetricKind::kMonotonicCounter, "requests_served_total"},
      {"throughput", "By/s", OtlpMetricKind::kGauge, "throughput_bytes_per_second"},
      {"errors", "1/s", OtlpMetricKind::kGauge, "errors_per_second"},
      {"distance", "m/min", OtlpMetricKind::kGauge, "distance_meters_per_min"},
      {"queue.size_bytes", "By", OtlpMetricKind::kGauge, "queue_size_bytes"},
      {"temperature", "Cel", OtlpMetricKind::kGauge, "temperature_celsius"},
      {"load", "km", OtlpMetricKind::kGauge, "load_km"},
      {"2xx.responses", "", OtlpMetricKind::kGauge, "_2xx_responses"},
      {"foo__bar..baz", "", OtlpMetricKind::kGauge, "foo_bar_baz"},
      {"a:b.c", "", OtlpMetricKind::kGauge, "a:b_c"},
      {"ratio.of.x", "1", OtlpMetricKind::kGauge, "of_x_ratio"},
      {"\xc3\xbcmlaut.metric", "s", OtlpMetricKind::kSummary, "mlaut_metric_seconds"},
      {"mem", "{packets}/s", OtlpMetricKind::kGauge, "mem_per_second"},
  };
  for (const auto& c : cases) {
    auto got = BuildMetricName(c.name, c.unit, c.kind);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.name << " " << c.unit;
  }
  EXPECT_FALSE(BuildMetricName("...", "", OtlpMetricKind::kGauge).ok());
  EXPECT_FALSE(BuildMetricName("", "", OtlpMetricKind::kGauge).ok());
}

TEST(PrometheusNaming, LabelNames) {
  EXPECT_EQ(*BuildLabelName("http.method"), "http_method");
  EXPECT_EQ(*BuildLabelName("0abc"), "key_0abc");
  EXPECT_EQ(*BuildLabelName("_abc"), "key_abc");
  EXPECT_EQ(*BuildLabelName("__abc"), "__abc");
  EXPECT_EQ(*BuildLabelName("a-b/c d"), "a_b_c_d");
  EXPECT_EQ(*BuildLabelName("caf\xc3\xa9"), "caf_");
  EXPECT_FALSE(BuildLabelName("").ok());
  EXPECT_FALSE(BuildLabelName("__.").ok());
}

TEST(PrometheusNaming, FormatFloatFixed) {
  EXPECT_EQ(FormatFloatFixed(1), "1");
  EXPECT_EQ(FormatFloatFixed(0.005), "0.005");
  EXPECT_EQ(FormatFloatFixed(2.5e-7), "0.00000025");
  EXPECT_EQ(FormatFloatFixed(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatFloatFixed(INFINITY), "+Inf");
}

TEST(DeltaAccumulator, DownscaleRoundsIndexesDown) {
  ExponentialHistogramPoint p;
  p.scale = 3;
  p.positive = {{-3, 1}, {-2, 1}, {-1, 1}, {0, 1}, {1, 1}, {2, 1}};
  DownscaleExponential(p, 2);
  EXPECT_EQ(p.scale, 2);
  EXPECT_EQ(p.positive, (std::map<int64_t, double>{{-2, 1}, {-1, 2}, {0, 2}, {1, 1}}));
  DownscaleExponential(p, 5);  // never finer
  EXPECT_EQ(p.scale, 2);
}

TEST(DeltaAccumulator, SeriesOfAnotherKindStartsOver) {
  DeltaAccumulator acc(10);
  model::Labels series = model::Labels::FromUnsorted({{"__name__", "x"}});
  EXPECT_EQ(*acc.AddSum(series, 10, 2), 2);
  EXPECT_EQ(*acc.AddSum(series, 20, 3), 5);
  ExplicitHistogramPoint h;
  h.count = 1;
  h.bounds = {1};
  h.bucket_counts = {1, 0};
  EXPECT_EQ(acc.AddHistogram(series, 30, h)->count, 1);
  EXPECT_EQ(*acc.AddSum(series, 40, 1), 1);
  EXPECT_FALSE(acc.AddSum(series, 40, 1).ok());
}

TEST(MetricsTranslator, GaugeWithJobAndNoTargetInfo) {
  MetricsTranslator tr;
  Translation t = tr.Translate(
      Request(Attr("service.name", "my.service"),
              fmt::format(R"({{"name":"my.gauge","unit":"1","description":"I am a Gauge","gauge":{{
          "dataPoints":[{{"asDouble":10,"timeUnixNano":{},"attributes":[{}]}},
                        {{"asInt":"7","timeUnixNano":{},"attributes":[{}]}}]}}}})",
                          Ns(kT + 1000), Attr("my.gauge.attr", "some value"), Ns(kT),
                          Attr("my.gauge.attr", "some value"))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(R"(my_gauge_ratio{job="my.service", my_gauge_attr="some value"} 0 7)",
                  R"(my_gauge_ratio{job="my.service", my_gauge_attr="some value"} 1000 10)"));
  ASSERT_EQ(t.batch.series.size(), 1u);
  EXPECT_EQ(t.batch.series[0].samples[0].timestamp_ms, kT);  // sorted by time
  EXPECT_EQ(t.data_points, 2);
  EXPECT_EQ(t.rejected_data_points, 0);
  EXPECT_EQ(t.error_message, "");
  const auto* md = FindMetadata(t, "my_gauge_ratio");
  ASSERT_NE(md, nullptr);
  EXPECT_EQ(md->type, model::MetricType::kGauge);
  EXPECT_EQ(md->help, "I am a Gauge");
  EXPECT_EQ(md->unit, "1");
}

TEST(MetricsTranslator, JobInstanceAndTargetInfo) {
  MetricsTranslator tr;
  std::string resource = Attr("service.namespace", "shop") + "," + Attr("service.name", "cart") +
                         "," + Attr("service.instance.id", "i-1") + "," + Attr("host.name", "h1") +
                         "," + Attr("deployment.environment", "prod");
  Translation t = tr.Translate(
      Request(resource, fmt::format(R"({{"name":"up.time","unit":"s","gauge":{{"dataPoints":[
          {{"asDouble":1,"timeUnixNano":{},"attributes":[{}]}},
          {{"asDouble":2,"timeUnixNano":{}}}]}}}})",
                                    Ns(kT), Attr("job", "overridden"), Ns(kT + 600000))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(
          R"(target_info{deployment_environment="prod", host_name="h1", instance="i-1", job="shop/cart"} 0 1)",
          R"(target_info{deployment_environment="prod", host_name="h1", instance="i-1", job="shop/cart"} 150000 1)",
          R"(target_info{deployment_environment="prod", host_name="h1", instance="i-1", job="shop/cart"} 300000 1)",
          R"(target_info{deployment_environment="prod", host_name="h1", instance="i-1", job="shop/cart"} 450000 1)",
          R"(target_info{deployment_environment="prod", host_name="h1", instance="i-1", job="shop/cart"} 600000 1)",
          R"(up_time_seconds{instance="i-1", job="shop/cart"} 0 1)",
          R"(up_time_seconds{instance="i-1", job="shop/cart"} 600000 2)"));
}

TEST(MetricsTranslator, NoTargetInfoWithoutJobOrInstance) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      Attr("host.name", "h1"),
      fmt::format(R"({{"name":"g","gauge":{{"dataPoints":[{{"asDouble":1,"timeUnixNano":{}}}]}}}})",
                  Ns(kT))));
  EXPECT_THAT(Dump(t), ElementsAre("g 0 1"));
}

TEST(MetricsTranslator, ScopeLabelsOnlyWhenPromoted) {
  std::string metric = fmt::format(
      R"({{"name":"g","gauge":{{"dataPoints":[{{"asDouble":1,"timeUnixNano":{}}}]}}}})", Ns(kT));
  MetricsTranslator plain;
  EXPECT_THAT(Dump(plain.Translate(Request("", metric))), ElementsAre("g 0 1"));
  TranslatorOptions options;
  options.promote_scope_metadata = true;
  MetricsTranslator promoted(options);
  EXPECT_THAT(Dump(promoted.Translate(Request("", metric))),
              ElementsAre(R"(g{otel_scope_name="lib", otel_scope_version="1.2"} 0 1)"));
}

TEST(MetricsTranslator, PromotedResourceAttributes) {
  MetricsTranslator tr(TranslatorOptions{.promote_resource_attributes = {"k8s.pod.name"}});
  Translation t = tr.Translate(Request(
      Attr("k8s.pod.name", "pod-1"),
      fmt::format(R"({{"name":"g","gauge":{{"dataPoints":[{{"asDouble":1,"timeUnixNano":{}}}]}}}})",
                  Ns(kT))));
  EXPECT_THAT(Dump(t), ElementsAre(R"(g{k8s_pod_name="pod-1"} 0 1)"));
}

TEST(MetricsTranslator, AttributeValuesAndCollisions) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      "", fmt::format(R"({{"name":"g","gauge":{{"dataPoints":[{{"asDouble":1,"timeUnixNano":{},
          "attributes":[{},{},
            {{"key":"b","value":{{"boolValue":true}}}},
            {{"key":"i","value":{{"intValue":"-3"}}}},
            {{"key":"d","value":{{"doubleValue":0.5}}}},
            {{"key":"arr","value":{{"arrayValue":{{"values":[{{"stringValue":"x"}},{{"intValue":1}}]}}}}}},
            {{"key":"map","value":{{"kvlistValue":{{"values":[{{"key":"z","value":{{"stringValue":"1"}}}},
                                                           {{"key":"a","value":{{"boolValue":false}}}}]}}}}}}
          ]}}]}}}})",
                      Ns(kT), Attr("a_b", "2"), Attr("a.b", "1"))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(
          R"(g{a_b="1;2", arr="[\"x\",1]", b="true", d="0.5", i="-3", map="{\"a\":false,\"z\":\"1\"}"} 0 1)"));
}

TEST(MetricsTranslator, CumulativeSumsAndExemplars) {
  MetricsTranslator tr;
  Translation t = tr.Translate(
      Request("", fmt::format(R"({{"name":"http.requests","unit":"{{request}}","description":"reqs",
          "sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{{"asInt":"3",
          "timeUnixNano":{},"exemplars":[{{"asDouble":0.25,"timeUnixNano":{},
          "traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"0102030405060708",
          "filteredAttributes":[{}]}}]}}]}}}},
        {{"name":"queue.depth","unit":"By","sum":{{"aggregationTemporality":2,"isMonotonic":false,
          "dataPoints":[{{"asDouble":-2,"timeUnixNano":{}}}]}}}})",
                              Ns(kT), Ns(kT - 5), Attr("user", "u1"), Ns(kT))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(
          "http_requests_total 0 3",
          R"(http_requests_total exemplar {span_id="0102030405060708", trace_id="0102030405060708090a0b0c0d0e0f10", user="u1"} 0.25 -5)",
          "queue_depth_bytes 0 -2"));
  EXPECT_EQ(FindMetadata(t, "http_requests_total")->type, model::MetricType::kCounter);
  EXPECT_EQ(FindMetadata(t, "http_requests_total")->unit, "{request}");
  EXPECT_EQ(FindMetadata(t, "queue_depth_bytes")->type, model::MetricType::kGauge);
}

TEST(MetricsTranslator, LongExemplarAttributesAreDropped) {
  MetricsTranslator tr;
  Translation t = tr.Translate(
      Request("", fmt::format(R"({{"name":"c","sum":{{"aggregationTemporality":2,"isMonotonic":true,
          "dataPoints":[{{"asInt":"1","timeUnixNano":{},"exemplars":[{{"asInt":"2","timeUnixNano":{},
          "traceId":"0102030405060708090a0b0c0d0e0f10","filteredAttributes":[{}]}}]}}]}}}})",
                              Ns(kT), Ns(kT), Attr("k", std::string(100, 'v')))));
  EXPECT_THAT(Dump(t),
              ElementsAre("c_total 0 1",
                          R"(c_total exemplar {trace_id="0102030405060708090a0b0c0d0e0f10"} 2 0)"));
}

TEST(MetricsTranslator, HistogramBucketsAndExemplars) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      Attr("service.name", "svc"),
      fmt::format(
          R"({{"name":"http.server.duration","unit":"ms","histogram":{{"aggregationTemporality":2,
          "dataPoints":[{{"timeUnixNano":{},"count":"6","sum":20,"bucketCounts":["1","2","3"],
          "explicitBounds":[0.005,5],"exemplars":[{{"asDouble":0.001,"timeUnixNano":{}}},
          {{"asDouble":3,"timeUnixNano":{}}},{{"asDouble":100,"timeUnixNano":{}}}]}}]}}}})",
          Ns(kT), Ns(kT), Ns(kT + 1), Ns(kT + 2))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(
          R"(http_server_duration_milliseconds_bucket{job="svc", le="+Inf"} 0 6)",
          R"(http_server_duration_milliseconds_bucket{job="svc", le="+Inf"} exemplar {} 100 2)",
          R"(http_server_duration_milliseconds_bucket{job="svc", le="0.005"} 0 1)",
          R"(http_server_duration_milliseconds_bucket{job="svc", le="0.005"} exemplar {} 0.001 0)",
          R"(http_server_duration_milliseconds_bucket{job="svc", le="5"} 0 3)",
          R"(http_server_duration_milliseconds_bucket{job="svc", le="5"} exemplar {} 3 1)",
          R"(http_server_duration_milliseconds_count{job="svc"} 0 6)",
          R"(http_server_duration_milliseconds_sum{job="svc"} 0 20)"));
  EXPECT_EQ(FindMetadata(t, "http_server_duration_milliseconds")->type,
            model::MetricType::kHistogram);
}

TEST(MetricsTranslator, HistogramWithoutSumOrBuckets) {
  MetricsTranslator tr;
  Translation t =
      tr.Translate(Request("", fmt::format(R"({{"name":"h","histogram":{{"aggregationTemporality":2,
          "dataPoints":[{{"timeUnixNano":{},"count":"4"}}]}}}})",
                                           Ns(kT))));
  EXPECT_THAT(Dump(t), ElementsAre(R"(h_bucket{le="+Inf"} 0 4)", "h_count 0 4"));
}

TEST(MetricsTranslator, InvalidPointsArePartiallyRejected) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      "",
      fmt::format(R"({{"name":"h","histogram":{{"aggregationTemporality":2,"dataPoints":[
            {{"timeUnixNano":{},"count":"4","bucketCounts":["1","3"],"explicitBounds":[1,2]}},
            {{"timeUnixNano":{},"count":"4","bucketCounts":["1","3","0"],"explicitBounds":[2,1]}},
            {{"timeUnixNano":{},"count":"4","bucketCounts":["1","3"],"explicitBounds":[1]}}]}}}},
          {{"name":"g","gauge":{{"dataPoints":[{{"timeUnixNano":{}}},
            {{"asDouble":1,"timeUnixNano":{},"attributes":[{}]}}]}}}},
          {{"name":"s","summary":{{"dataPoints":[{{"timeUnixNano":{},"quantileValues":[{{"quantile":1.5}}]}}]}}}},
          {{"name":"u","sum":{{"dataPoints":[{{"asInt":"1","timeUnixNano":{}}}]}}}},
          {{"name":"...","gauge":{{"dataPoints":[{{"asDouble":1,"timeUnixNano":{}}}]}}}})",
                  Ns(kT), Ns(kT), Ns(kT), Ns(kT), Ns(kT), Attr("", "x"), Ns(kT), Ns(kT), Ns(kT))));
  EXPECT_EQ(t.rejected_data_points, 7);
  EXPECT_EQ(t.data_points, 1);
  EXPECT_THAT(t.error_message,
              HasSubstr("metric \"h\": 2 bucket counts for 2 explicit bounds (want 3)"));
  EXPECT_THAT(t.error_message, HasSubstr("explicit bounds are not strictly increasing"));
  EXPECT_THAT(t.error_message, HasSubstr("and 2 more"));
  EXPECT_THAT(Dump(t),
              ElementsAre(R"(h_bucket{le="+Inf"} 0 4)", R"(h_bucket{le="1"} 0 1)", "h_count 0 4"));
}

TEST(MetricsTranslator, SummaryQuantiles) {
  MetricsTranslator tr;
  Translation t = tr.Translate(
      Request("", fmt::format(R"({{"name":"rpc.latency","unit":"s","summary":{{"dataPoints":[{{
          "timeUnixNano":{},"count":"10","sum":4.5,"quantileValues":[{{"quantile":0.5,"value":0.3}},
          {{"quantile":0.99,"value":1.2}}]}}]}}}})",
                              Ns(kT))));
  EXPECT_THAT(Dump(t),
              ElementsAre("rpc_latency_seconds_count 0 10", "rpc_latency_seconds_sum 0 4.5",
                          R"(rpc_latency_seconds{quantile="0.5"} 0 0.3)",
                          R"(rpc_latency_seconds{quantile="0.99"} 0 1.2)"));
  EXPECT_EQ(FindMetadata(t, "rpc_latency_seconds")->type, model::MetricType::kSummary);
}

TEST(MetricsTranslator, NoRecordedValueIsStale) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      "", fmt::format(R"({{"name":"g","gauge":{{"dataPoints":[{{"timeUnixNano":{},"flags":1}}]}}}},
          {{"name":"h","histogram":{{"aggregationTemporality":2,"dataPoints":[{{"timeUnixNano":{},
          "flags":1,"count":"2","sum":1,"bucketCounts":["1","1"],"explicitBounds":[1]}}]}}}},
          {{"name":"e","exponentialHistogram":{{"aggregationTemporality":2,"dataPoints":[{{
          "timeUnixNano":{},"flags":1,"count":"2","positive":{{"bucketCounts":["2"]}}}}]}}}})",
                      Ns(kT), Ns(kT), Ns(kT))));
  EXPECT_THAT(Dump(t),
              ElementsAre("e 0 schema=0 zt=1e-128 zc=0 count=0 sum=stale pos=[|] neg=[|]",
                          "g 0 stale", R"(h_bucket{le="+Inf"} 0 stale)",
                          R"(h_bucket{le="1"} 0 stale)", "h_count 0 stale", "h_sum 0 stale"));
}

TEST(MetricsTranslator, ExponentialHistogramScaleMapping) {
  MetricsTranslator tr;
  Translation t = tr.Translate(Request(
      "", fmt::format(
              R"({{"name":"latency","unit":"s","exponentialHistogram":{{"aggregationTemporality":2,
          "dataPoints":[
           {{"timeUnixNano":{},"scale":10,"count":"12","sum":7,"zeroCount":"3","zeroThreshold":0.001,
             "positive":{{"offset":-3,"bucketCounts":["1","1","1","1","1"]}},
             "negative":{{"offset":0,"bucketCounts":["4"]}},
             "exemplars":[{{"asDouble":1.5,"timeUnixNano":{},"spanId":"0102030405060708"}}]}},
           {{"timeUnixNano":{},"scale":3,"count":"2","sum":1,
             "positive":{{"offset":0,"bucketCounts":["1","0","0","0","1"]}}}},
           {{"timeUnixNano":{},"scale":3,"count":"2","sum":1,
             "positive":{{"offset":0,"bucketCounts":["1","0","0","1"]}}}},
           {{"timeUnixNano":{},"scale":-5,"count":"1"}}]}}}})",
              Ns(kT), Ns(kT), Ns(kT + 1), Ns(kT + 2), Ns(kT + 3))));
  EXPECT_THAT(
      Dump(t),
      ElementsAre(
          "latency_seconds 0 schema=8 zt=0.001 zc=3 count=12 sum=7 pos=[0:2 | 3 2] neg=[1:1 | 4]",
          "latency_seconds 1 schema=3 zt=1e-128 zc=0 count=2 sum=1 pos=[1:1 3:1 | 1 1] neg=[|]",
          "latency_seconds 2 schema=3 zt=1e-128 zc=0 count=2 sum=1 pos=[1:4 | 1 0 0 1] neg=[|]",
          R"(latency_seconds exemplar {span_id="0102030405060708"} 1.5 0)"));
  EXPECT_EQ(t.rejected_data_points, 1);
  EXPECT_THAT(t.error_message, HasSubstr("scale -5 is outside [-4, 20]"));
}

TEST(MetricsTranslator, HostileExponentialBucketIndexesAreRejected) {
  MetricsTranslator tr;
  Translation t = tr.Translate(
      Request("", fmt::format(R"({{"name":"e","exponentialHistogram":{{"aggregationTemporality":2,
          "dataPoints":[{{"timeUnixNano":{},"scale":0,"count":"2",
          "positive":{{"offset":-2147483648,"bucketCounts":["1"]}},
          "negative":{{"offset":2147483647,"bucketCounts":["1"]}}}}]}}}})",
                              Ns(kT))));
  EXPECT_THAT(Dump(t), IsEmpty());
  EXPECT_EQ(t.rejected_data_points, 1);
  EXPECT_THAT(t.error_message, HasSubstr("bucket index"));
}

TEST(MetricsTranslator, DeltaExponentialBucketsStayBounded) {
  MetricsTranslator tr;
  // 300 buckets at scale 8, twice, far apart: the held total coarsens its scale to stay small.
  auto point = [](int64_t t, int offset) {
    std::string counts;
    for (int i = 0; i < 300; ++i) counts += i == 0 ? "\"1\"" : ",\"1\"";
    return fmt::format(R"({{"name":"e","exponentialHistogram":{{"aggregationTemporality":1,
        "dataPoints":[{{"timeUnixNano":{},"scale":8,"count":"300",
        "positive":{{"offset":{},"bucketCounts":[{}]}}}}]}}}})",
                       Ns(t), offset, counts);
  };
  tr.Translate(Request("", point(kT, 0)));
  Translation t = tr.Translate(Request("", point(kT + 1, 5000)));
  ASSERT_EQ(t.batch.series.size(), 1u);
  const auto& h = t.batch.series[0].histograms.at(0);
  EXPECT_LT(h.schema, 8);
  EXPECT_EQ(h.count, 600);
  double total = 0;
  for (double c : h.positive_buckets) total += c;
  EXPECT_EQ(total, 600);
  EXPECT_LE(h.positive_buckets.size(), 400u);
}

TEST(MetricsTranslator, DeltaSumsAccumulate) {
  MetricsTranslator tr;
  auto delta = [](int64_t t, int v, std::string_view attr) {
    return fmt::format(R"({{"name":"jobs","sum":{{"aggregationTemporality":1,"isMonotonic":true,
        "dataPoints":[{{"asInt":"{}","startTimeUnixNano":{},"timeUnixNano":{},"attributes":[{}]}}]}}}})",
                       v, Ns(t - 1000), Ns(t), Attr("q", attr));
  };
  EXPECT_THAT(Dump(tr.Translate(Request("", delta(kT, 5, "a")))),
              ElementsAre(R"(jobs_total{q="a"} 0 5)"));
  EXPECT_THAT(
      Dump(tr.Translate(Request("", delta(kT + 1000, 3, "a") + "," + delta(kT + 1000, 1, "b")))),
      ElementsAre(R"(jobs_total{q="a"} 1000 8)", R"(jobs_total{q="b"} 1000 1)"));
  // A retried request must not count twice.
  Translation retry = tr.Translate(Request("", delta(kT + 1000, 3, "a")));
  EXPECT_THAT(Dump(retry), IsEmpty());
  EXPECT_EQ(retry.rejected_data_points, 1);
  EXPECT_THAT(retry.error_message, HasSubstr("not after the previous point"));
  EXPECT_EQ(tr.delta_series(), 2u);
}

TEST(MetricsTranslator, DeltaTableIsBounded) {
  TranslatorOptions options;
  options.max_delta_series = 2;
  MetricsTranslator tr(options);
  auto delta = [](int64_t t, std::string_view name) {
    return fmt::format(R"({{"name":"{}","sum":{{"aggregationTemporality":1,"isMonotonic":false,
        "dataPoints":[{{"asDouble":2,"timeUnixNano":{}}}]}}}})",
                       name, Ns(t));
  };
  tr.Translate(Request("", delta(kT, "a") + "," + delta(kT, "b")));
  tr.Translate(Request("", delta(kT + 1, "b") + "," + delta(kT + 1, "c")));  // evicts a
  EXPECT_EQ(tr.delta_series(), 2u);
  EXPECT_THAT(Dump(tr.Translate(Request("", delta(kT + 2, "a") + "," + delta(kT + 2, "c")))),
              ElementsAre("a 2 2", "c 2 4"));
}

TEST(MetricsTranslator, DeltaHistogramsAccumulate) {
  MetricsTranslator tr;
  auto point = [](int64_t t, std::string_view counts, std::string_view bounds) {
    return fmt::format(R"({{"name":"h","histogram":{{"aggregationTemporality":1,"dataPoints":[
        {{"timeUnixNano":{},"count":"2","sum":3,"bucketCounts":[{}],"explicitBounds":[{}]}}]}}}})",
                       Ns(t), counts, bounds);
  };
  tr.Translate(Request("", point(kT, R"("1","1")", "1")));
  EXPECT_THAT(Dump(tr.Translate(Request("", point(kT + 10, R"("0","2")", "1")))),
              ElementsAre(R"(h_bucket{le="+Inf"} 10 4)", R"(h_bucket{le="1"} 10 1)", "h_count 10 4",
                          "h_sum 10 6"));
  // New bounds start the series over.
  EXPECT_THAT(Dump(tr.Translate(Request("", point(kT + 20, R"("2","0")", "5")))),
              ElementsAre(R"(h_bucket{le="+Inf"} 20 2)", R"(h_bucket{le="5"} 20 2)", "h_count 20 2",
                          "h_sum 20 3"));
}

TEST(MetricsTranslator, DeltaExponentialHistogramsMergeScales) {
  MetricsTranslator tr;
  auto point = [](int64_t t, int scale, int offset, std::string_view counts) {
    return fmt::format(R"({{"name":"e","exponentialHistogram":{{"aggregationTemporality":1,
        "dataPoints":[{{"timeUnixNano":{},"scale":{},"count":"2","sum":1,"zeroCount":"1",
        "positive":{{"offset":{},"bucketCounts":[{}]}}}}]}}}})",
                       Ns(t), scale, offset, counts);
  };
  tr.Translate(Request("", point(kT, 2, 4, R"("1")")));  // index 4 at scale 2 = index 2 at 1
  EXPECT_THAT(Dump(tr.Translate(Request("", point(kT + 1, 1, 2, R"("1","1")")))),
              ElementsAre("e 1 schema=1 zt=1e-128 zc=2 count=4 sum=2 pos=[3:2 | 2 1] neg=[|]"));
}

TEST(MetricsTranslator, DeltaRejectedWhenDisabledAndUnspecifiedTemporality) {
  TranslatorOptions options;
  options.accumulate_delta = false;
  MetricsTranslator tr(options);
  Translation t = tr.Translate(
      Request("", fmt::format(R"({{"name":"d","sum":{{"aggregationTemporality":1,"isMonotonic":true,
          "dataPoints":[{{"asInt":"1","timeUnixNano":{}}},{{"asInt":"1","timeUnixNano":{}}}]}}}},
          {{"name":"x","histogram":{{"dataPoints":[{{"count":"1","timeUnixNano":{}}}]}}}})",
                              Ns(kT), Ns(kT + 1), Ns(kT))));
  EXPECT_THAT(Dump(t), IsEmpty());
  EXPECT_EQ(t.rejected_data_points, 3);
  EXPECT_THAT(t.error_message,
              HasSubstr("cannot translate 2 data points of metric \"d\": delta temporality"));
  EXPECT_THAT(t.error_message, HasSubstr("metric \"x\": invalid aggregation temporality 0"));
}

// The peer example (all delta temporality) as Prometheus would store it with delta accumulation.
TEST(MetricsTranslator, PeerMetricsExample) {
  const char* dir = std::getenv("ORIEL_SHARED_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "ORIEL_SHARED_DIR is not set";
  std::ifstream in(std::filesystem::path(dir) / "peer-tests" / "otlp" / "metrics.json");
  if (!in) GTEST_SKIP() << "peer-tests/otlp/metrics.json is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  ExportMetricsServiceRequest req;
  ASSERT_TRUE(ParseOtlpJson(ss.str(), OtlpSignal::kMetrics, req).ok());
  MetricsTranslator tr;
  Translation t = tr.Translate(req);
  std::vector<std::string> lines;
  for (const auto& s : t.batch.series) {
    for (const auto& p : s.samples) {
      lines.push_back(fmt::format("{} {} {}", s.labels.ToString(), p.timestamp_ms, p.value));
    }
    for (const auto& h : s.histograms) {
      lines.push_back(fmt::format("{} {} schema={} count={} sum={} zc={} pos={}",
                                  s.labels.ToString(), h.timestamp_ms, h.schema, h.count, h.sum,
                                  h.zero_count, Spans(h.positive_spans, h.positive_buckets)));
    }
  }
  std::sort(lines.begin(), lines.end());
  EXPECT_THAT(
      lines,
      ElementsAre(
          R"(my_counter_total{job="my.service", my_counter_attr="some value"} 1544712660300 5)",
          R"(my_exponential_histogram{job="my.service", my_exponential_histogram_attr="some value"} 1544712660300 schema=0 count=3 sum=10 zc=1 pos=[3:1 | 2])",
          R"(my_gauge_ratio{job="my.service", my_gauge_attr="some value"} 1544712660300 10)",
          R"(my_histogram_bucket{job="my.service", le="+Inf", my_histogram_attr="some value"} 1544712660300 2)",
          R"(my_histogram_bucket{job="my.service", le="1", my_histogram_attr="some value"} 1544712660300 1)",
          R"(my_histogram_count{job="my.service", my_histogram_attr="some value"} 1544712660300 2)",
          R"(my_histogram_sum{job="my.service", my_histogram_attr="some value"} 1544712660300 2)"));
  EXPECT_EQ(t.rejected_data_points, 0);
  EXPECT_EQ(t.batch.metadata.size(), 4u);
}

}  // namespace
}  // namespace oriel::ingest::otlp
