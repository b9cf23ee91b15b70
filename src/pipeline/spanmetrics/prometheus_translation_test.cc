#include "pipeline/spanmetrics/prometheus_translation.h"

#include "gtest/gtest.h"

namespace oriel::pipeline::spanmetrics {
namespace {

TEST(PrometheusTranslationTest, MetricNames) {
  EXPECT_EQ(PrometheusMetricName("traces.span.metrics.calls", "", true),
            "traces_span_metrics_calls_total");
  EXPECT_EQ(PrometheusMetricName("traces.span.metrics.duration", "milliseconds", false),
            "traces_span_metrics_duration_milliseconds");
  // Names that already carry the suffixes keep them once, with total last.
  EXPECT_EQ(PrometheusMetricName("traces_service_graph_request_total", "", true),
            "traces_service_graph_request_total");
  EXPECT_EQ(PrometheusMetricName("traces_service_graph_request_failed_total", "", true),
            "traces_service_graph_request_failed_total");
  EXPECT_EQ(PrometheusMetricName("a.total.b", "", true), "a_b_total");
  EXPECT_EQ(PrometheusMetricName("latency_seconds", "seconds", false), "latency_seconds");
  EXPECT_EQ(PrometheusMetricName("calls", "", true), "calls_total");
  EXPECT_EQ(PrometheusMetricName("2xx..rate", "", false), "_2xx_rate");
}

TEST(PrometheusTranslationTest, LabelNames) {
  EXPECT_EQ(PrometheusLabelName("service.name"), "service_name");
  EXPECT_EQ(PrometheusLabelName("http.request.method"), "http_request_method");
  EXPECT_EQ(PrometheusLabelName("0x"), "key_0x");
  EXPECT_EQ(PrometheusLabelName("_a"), "key_a");
  EXPECT_EQ(PrometheusLabelName("__a"), "__a");
  EXPECT_EQ(PrometheusLabelName("client_db.name"), "client_db_name");
}

TEST(PrometheusTranslationTest, AttributeValues) {
  opentelemetry::proto::common::v1::AnyValue v;
  v.set_int_value(-42);
  EXPECT_EQ(AttributeValueString(v), "-42");
  v.set_bool_value(true);
  EXPECT_EQ(AttributeValueString(v), "true");
  v.set_double_value(1.5);
  EXPECT_EQ(AttributeValueString(v), "1.5");
  v.set_double_value(200);
  EXPECT_EQ(AttributeValueString(v), "200");
  v.mutable_array_value()->add_values()->set_string_value("a\"b");
  v.mutable_array_value()->add_values()->set_int_value(3);
  EXPECT_EQ(AttributeValueString(v), R"(["a\"b",3])");
}

TEST(PrometheusTranslationTest, JobAndInstance) {
  opentelemetry::proto::resource::v1::Resource r;
  auto add = [&](const char* k, const char* v) {
    auto* kv = r.add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  };
  std::vector<model::Label> labels;
  AppendJobAndInstance(r, labels);
  EXPECT_TRUE(labels.empty());
  add("service.name", "api");
  add("service.namespace", "shop");
  add("service.instance.id", "pod-1");
  AppendJobAndInstance(r, labels);
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0], (model::Label{"job", "shop/api"}));
  EXPECT_EQ(labels[1], (model::Label{"instance", "pod-1"}));
}

TEST(PrometheusTranslationTest, Bounds) {
  EXPECT_EQ(FormatBound(2), "2");
  EXPECT_EQ(FormatBound(15000), "15000");
  EXPECT_EQ(FormatBound(0.002), "0.002");
  EXPECT_EQ(FormatBound(1.4), "1.4");
  EXPECT_EQ(FormatBound(1e-7), "0.0000001");
  EXPECT_EQ(FormatBound(std::numeric_limits<double>::infinity()), "+Inf");
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
