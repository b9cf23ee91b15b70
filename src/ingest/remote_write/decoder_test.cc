#include "ingest/remote_write/decoder.h"

#include <gtest/gtest.h>

namespace oriel::ingest {
namespace {

namespace v2 = io::prometheus::write::v2;

TEST(DecodeV1Test, SortsLabelsAndConvertsEverything) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("job");
  l->set_value("api");
  l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("up");
  auto* s = ts->add_samples();
  s->set_timestamp(1000);
  s->set_value(1.5);
  auto* e = ts->add_exemplars();
  auto* el = e->add_labels();
  el->set_name("trace_id");
  el->set_value("abc");
  e->set_value(2);
  e->set_timestamp(999);
  auto* md = req.add_metadata();
  md->set_metric_family_name("up");
  md->set_type(prometheus::MetricMetadata::GAUGE);
  md->set_help("Up.");

  auto out = DecodeV1(req);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->batch.series.size(), 1u);
  const auto& series = out->batch.series[0];
  EXPECT_EQ(series.labels.ToString(), R"(up{job="api"})");
  EXPECT_EQ(series.labels[0].name, "__name__");
  ASSERT_EQ(series.samples.size(), 1u);
  EXPECT_EQ(series.samples[0].timestamp_ms, 1000);
  EXPECT_EQ(series.samples[0].value, 1.5);
  ASSERT_EQ(series.exemplars.size(), 1u);
  EXPECT_EQ(series.exemplars[0].labels.Get("trace_id"), "abc");
  EXPECT_EQ(series.exemplars[0].timestamp_ms, 999);
  ASSERT_EQ(out->batch.metadata.size(), 1u);
  EXPECT_EQ(out->batch.metadata[0].type, model::MetricType::kGauge);
  EXPECT_EQ(out->batch.metadata[0].help, "Up.");
  EXPECT_EQ(out->samples, 1);
  EXPECT_EQ(out->exemplars, 1);
}

TEST(DecodeV1Test, IntegerHistogramDeltasBecomeAbsoluteCounts) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("h");
  auto* h = ts->add_histograms();
  h->set_count_int(12);
  h->set_zero_count_int(2);
  h->set_sum(3.5);
  h->set_schema(1);
  h->set_zero_threshold(0.001);
  h->set_timestamp(5);
  h->set_reset_hint(prometheus::Histogram::NO);
  auto* span = h->add_positive_spans();
  span->set_offset(-1);
  span->set_length(2);
  span = h->add_positive_spans();
  span->set_offset(3);
  span->set_length(1);
  h->add_positive_deltas(4);   // 4
  h->add_positive_deltas(-1);  // 3
  h->add_positive_deltas(0);   // 3
  auto out = DecodeV1(req);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& hs = out->batch.series[0].histograms.at(0);
  EXPECT_EQ(hs.count, 12);
  EXPECT_EQ(hs.zero_count, 2);
  EXPECT_EQ(hs.schema, 1);
  EXPECT_EQ(hs.timestamp_ms, 5);
  EXPECT_EQ(hs.counter_reset, model::HistogramSample::Reset::kNo);
  EXPECT_EQ(hs.positive_buckets, (std::vector<double>{4, 3, 3}));
  EXPECT_EQ(hs.positive_spans, (std::vector<model::BucketSpan>{{-1, 2}, {3, 1}}));
}

TEST(DecodeV1Test, FloatHistogramKeepsCountsAndRejectsBadSpans) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("h");
  auto* h = ts->add_histograms();
  h->set_count_float(2.5);
  h->set_zero_count_float(0.5);
  h->set_schema(-53);
  h->add_custom_values(0.1);
  auto* span = h->add_negative_spans();
  span->set_length(2);
  h->add_negative_counts(1.25);
  h->add_negative_counts(0.75);
  auto out = DecodeV1(req);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& hs = out->batch.series[0].histograms.at(0);
  EXPECT_EQ(hs.count, 2.5);
  EXPECT_EQ(hs.zero_count, 0.5);
  EXPECT_EQ(hs.negative_buckets, (std::vector<double>{1.25, 0.75}));
  EXPECT_EQ(hs.custom_values, (std::vector<double>{0.1}));

  h->add_negative_counts(9);  // three counts for two span slots
  auto bad = DecodeV1(req);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(bad.status().message().find("series 0"), std::string::npos) << bad.status();
  h->mutable_negative_counts()->RemoveLast();
  h->set_schema(9);
  EXPECT_FALSE(DecodeV1(req).ok());
}

TEST(DecodeV1Test, InvalidSeriesAreSetAsideNotFatal) {
  prometheus::WriteRequest req;
  auto add = [&](std::vector<std::pair<std::string, std::string>> labels) {
    auto* ts = req.add_timeseries();
    for (auto& [n, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    ts->add_samples()->set_value(1);
  };
  add({{"job", "a"}});
  add({{"__name__", ""}, {"job", "a"}});
  add({{"__name__", "ok"}});
  add({{"__name__", "dup"}, {"a", "1"}, {"a", "2"}});
  auto out = DecodeV1(req);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->batch.series.size(), 1u);
  EXPECT_EQ(out->batch.series[0].labels.MetricName(), "ok");
  ASSERT_EQ(out->invalid_series.size(), 3u);
  EXPECT_NE(out->invalid_series[0].find("series 0: missing or empty __name__"), std::string::npos);
  EXPECT_NE(out->invalid_series[1].find("series 1"), std::string::npos);
  EXPECT_NE(out->invalid_series[2].find("repeated label name \"a\""), std::string::npos);
  EXPECT_EQ(out->invalid_samples, 3);
}

v2::Request V2Base() {
  v2::Request req;
  for (const char* s : {"", "__name__", "http_requests_total", "job", "api", "trace_id", "t1",
                        "Requests.", "requests"}) {
    req.add_symbols(s);
  }
  return req;
}

TEST(DecodeV2Test, ResolvesSymbolsExemplarsAndMetadata) {
  v2::Request req = V2Base();
  auto* ts = req.add_timeseries();
  for (uint32_t r : {3u, 4u, 1u, 2u}) ts->add_labels_refs(r);
  auto* s = ts->add_samples();
  s->set_value(7);
  s->set_timestamp(100);
  auto* e = ts->add_exemplars();
  e->add_labels_refs(5);
  e->add_labels_refs(6);
  e->set_value(1);
  ts->mutable_metadata()->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
  ts->mutable_metadata()->set_help_ref(7);
  ts->mutable_metadata()->set_unit_ref(8);
  ts->set_created_timestamp(50);
  auto out = DecodeV2(req);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->batch.series.size(), 1u);
  EXPECT_EQ(out->batch.series[0].labels.ToString(), R"(http_requests_total{job="api"})");
  EXPECT_EQ(out->batch.series[0].exemplars.at(0).labels.Get("trace_id"), "t1");
  ASSERT_EQ(out->batch.metadata.size(), 1u);
  EXPECT_EQ(out->batch.metadata[0].metric_family, "http_requests_total");
  EXPECT_EQ(out->batch.metadata[0].type, model::MetricType::kCounter);
  EXPECT_EQ(out->batch.metadata[0].help, "Requests.");
  EXPECT_EQ(out->batch.metadata[0].unit, "requests");
}

TEST(DecodeV2Test, OutOfRangeAndOddRefsNameTheSeries) {
  v2::Request req = V2Base();
  auto* ok = req.add_timeseries();
  ok->add_labels_refs(1);
  ok->add_labels_refs(2);
  auto* bad = req.add_timeseries();
  bad->add_labels_refs(1);
  bad->add_labels_refs(99);
  auto out = DecodeV2(req);
  ASSERT_TRUE(absl::IsInvalidArgument(out.status()));
  EXPECT_NE(out.status().message().find("series 1"), std::string::npos) << out.status();
  EXPECT_NE(out.status().message().find("99"), std::string::npos) << out.status();

  bad->mutable_labels_refs()->RemoveLast();
  out = DecodeV2(req);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("odd number"), std::string::npos) << out.status();

  bad->add_labels_refs(2);
  bad->mutable_metadata()->set_help_ref(1000);
  out = DecodeV2(req);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("help of series 1"), std::string::npos) << out.status();
}

TEST(DecodeV2Test, IntegerAndFloatHistograms) {
  v2::Request req = V2Base();
  auto* ts = req.add_timeseries();
  ts->add_labels_refs(1);
  ts->add_labels_refs(2);
  auto* h = ts->add_histograms();
  h->set_count_int(5);
  auto* span = h->add_negative_spans();
  span->set_offset(0);
  span->set_length(3);
  for (int64_t d : {1, 1, -2}) h->add_negative_deltas(d);
  auto* f = ts->add_histograms();
  f->set_count_float(1.5);
  f->set_reset_hint(v2::Histogram::RESET_HINT_GAUGE);
  auto out = DecodeV2(req);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& hs = out->batch.series[0].histograms;
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].negative_buckets, (std::vector<double>{1, 2, 0}));
  EXPECT_EQ(hs[1].count, 1.5);
  EXPECT_EQ(hs[1].counter_reset, model::HistogramSample::Reset::kGauge);
  EXPECT_EQ(out->histograms, 2);
}

}  // namespace
}  // namespace oriel::ingest
