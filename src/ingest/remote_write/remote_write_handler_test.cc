#include "ingest/remote_write/remote_write_handler.h"

#include <gtest/gtest.h>

#include "io/prometheus/write/v2/types.pb.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace oriel::ingest {
namespace {

namespace v2 = io::prometheus::write::v2;

constexpr char kV2ContentType[] = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

// Records every batch; answers with `next_status` or a result built from the batch.
class FakeWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    if (!next_status.ok()) return next_status;
    tsdb::WriteResult r;
    for (const auto& s : batch.series) {
      r.samples_written += static_cast<int64_t>(s.samples.size());
      r.histograms_written += static_cast<int64_t>(s.histograms.size());
      r.exemplars_written += static_cast<int64_t>(s.exemplars.size());
    }
    if (reject > 0) {
      r.samples_written -= reject;
      r.samples_rejected = reject;
      r.first_rejection = "out of order sample for series up{job=\"a\"} at 1000";
    }
    batches.push_back(std::move(batch));
    return r;
  }
  // Hands out `engine_labels` for the label sets equal to one of them.
  void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) override {
    for (size_t i = 0; i < sets.size(); ++i) {
      for (const model::Labels& mine : engine_labels) {
        if (mine.Equals(sets[i].labels) && mine.Hash() == sets[i].hash) out[i] = mine;
      }
    }
  }
  std::vector<model::MetricBatch> batches;
  std::vector<model::Labels> engine_labels;
  absl::Status next_status;
  int64_t reject = 0;
};

class RemoteWriteHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterRemoteWriteRoutes(router_, writer_, registry_, options_); }

  net::HttpResponse Post(const std::string& body, std::string content_type,
                         std::string encoding = "snappy") {
    net::HttpRequest req;
    req.method = "POST";
    req.path = "/api/v1/write";
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    if (!encoding.empty()) req.headers.Add("Content-Encoding", encoding);
    req.body = body;
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }

  static std::string V1Body(int series, bool with_name = true) {
    prometheus::WriteRequest req;
    for (int i = 0; i < series; ++i) {
      auto* ts = req.add_timeseries();
      auto* l = ts->add_labels();
      l->set_name(with_name ? "__name__" : "job");
      l->set_value("up");
      l = ts->add_labels();
      l->set_name("instance");
      l->set_value("host" + std::to_string(i));
      auto* s = ts->add_samples();
      s->set_timestamp(1000);
      s->set_value(1);
    }
    return net::SnappyEncode(req.SerializeAsString());
  }

  static v2::Request V2Request() {
    v2::Request req;
    for (const char* s : {"", "__name__", "up", "job", "a", "trace_id", "t"}) req.add_symbols(s);
    auto* ts = req.add_timeseries();
    for (uint32_t r : {1u, 2u, 3u, 4u}) ts->add_labels_refs(r);
    for (int i = 0; i < 3; ++i) {
      auto* s = ts->add_samples();
      s->set_timestamp(1000 + i);
      s->set_value(i);
    }
    auto* e = ts->add_exemplars();
    e->add_labels_refs(5);
    e->add_labels_refs(6);
    auto* hs = req.add_timeseries();
    for (uint32_t r : {1u, 2u, 3u, 4u}) hs->add_labels_refs(r);
    hs->add_histograms()->set_count_int(0);
    return req;
  }

  std::string Header(const net::HttpResponse& res, std::string_view name) {
    return std::string(res.headers.Get(name).value_or("<absent>"));
  }

  FakeWriter writer_;
  metrics::Registry registry_;
  RemoteWriteOptions options_{.max_decoded_bytes = 1 << 16, .retry_after_seconds = 7};
  net::Router router_;
};

TEST_F(RemoteWriteHandlerTest, V1SeriesTheEngineHoldsGetItsLabelSets) {
  // The engine holds host0; host1 is new to it.
  writer_.engine_labels.push_back(
      model::Labels::FromSorted({{"__name__", "up"}, {"instance", "host0"}}));
  ASSERT_EQ(Post(V1Body(2), "").status, 204);
  ASSERT_EQ(writer_.batches.size(), 1u);
  const model::MetricBatch& batch = writer_.batches[0];
  EXPECT_EQ(batch.series[0].labels.ToString(), R"(up{instance="host0"})");
  EXPECT_EQ(batch.series[1].labels.ToString(), R"(up{instance="host1"})");
  // The engine's very set for host0, not an equal copy; a new one for host1.
  EXPECT_TRUE(batch.series[0].labels.SharesBufferWith(writer_.engine_labels[0]));
  EXPECT_FALSE(batch.series[1].labels.empty());
}

TEST_F(RemoteWriteHandlerTest, V1HappyPathWithAndWithoutContentType) {
  auto res = Post(V1Body(2), "application/x-protobuf");
  EXPECT_EQ(res.status, 204) << res.body;
  ASSERT_EQ(writer_.batches.size(), 1u);
  EXPECT_EQ(writer_.batches[0].series.size(), 2u);
  EXPECT_EQ(writer_.batches[0].series[1].labels.ToString(), R"(up{instance="host1"})");
  EXPECT_FALSE(res.headers.Has("X-Prometheus-Remote-Write-Samples-Written"));

  EXPECT_EQ(Post(V1Body(1), "").status, 204);
  EXPECT_EQ(Post(V1Body(1), "application/x-protobuf; proto=prometheus.WriteRequest").status, 204);
  EXPECT_EQ(writer_.batches.size(), 3u);
  std::string exposed = registry_.Expose();
  EXPECT_NE(exposed.find(R"(oriel_remote_write_requests_total{version="1.0",code="204"} 3)"),
            std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("oriel_remote_write_samples_received_total 4"), std::string::npos);
}

TEST_F(RemoteWriteHandlerTest, V2HappyPathSetsWrittenHeaders) {
  auto res = Post(net::SnappyEncode(V2Request().SerializeAsString()), kV2ContentType);
  EXPECT_EQ(res.status, 204) << res.body;
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "3");
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Histograms-Written"), "1");
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Exemplars-Written"), "1");
  ASSERT_EQ(writer_.batches.size(), 1u);
  EXPECT_EQ(writer_.batches[0].series[0].labels.ToString(), R"(up{job="a"})");
}

TEST_F(RemoteWriteHandlerTest, UnsupportedContentTypeOrEncodingIs415) {
  auto res = Post(V1Body(1), "text/plain");
  EXPECT_EQ(res.status, 415);
  EXPECT_NE(res.body.find("text/plain"), std::string::npos) << res.body;
  res = Post(V1Body(1), "application/x-protobuf;proto=io.prometheus.write.v3.Request");
  EXPECT_EQ(res.status, 415);
  EXPECT_NE(res.body.find("v3"), std::string::npos) << res.body;
  EXPECT_EQ(Post(V1Body(1), "application/x-protobuf;garbage").status, 415);
  res = Post(V1Body(1), "application/x-protobuf", "zstd");
  EXPECT_EQ(res.status, 415);
  EXPECT_NE(res.body.find("zstd"), std::string::npos);
  res = Post(V1Body(1), kV2ContentType, "zstd");
  EXPECT_EQ(res.status, 415);
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "0");
  EXPECT_TRUE(writer_.batches.empty());
  EXPECT_NE(registry_.Expose().find(R"(version="unknown",code="415"} 3)"), std::string::npos);
}

TEST_F(RemoteWriteHandlerTest, CorruptBodiesAre400AndTooLargeIs413) {
  EXPECT_EQ(Post("definitely not snappy", "application/x-protobuf").status, 400);
  auto res = Post(net::SnappyEncode("\xff\xff\xff garbage protobuf"), "application/x-protobuf");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("prometheus.WriteRequest"), std::string::npos) << res.body;
  res = Post(net::SnappyEncode("\xff\xff\xff garbage protobuf"), kV2ContentType);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "0");
  EXPECT_EQ(Post(net::SnappyEncode(std::string(1 << 17, '\0')), "").status, 413);
  // Without Content-Encoding the body is still taken as snappy, as Prometheus does.
  EXPECT_EQ(Post(V1Body(1), "", "").status, 204);
  EXPECT_EQ(writer_.batches.size(), 1u);
}

TEST_F(RemoteWriteHandlerTest, BadSymbolRefIs400NamingSeries) {
  v2::Request req = V2Request();
  req.mutable_timeseries(1)->set_labels_refs(1, 42);
  auto res = Post(net::SnappyEncode(req.SerializeAsString()), kV2ContentType);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("series 1"), std::string::npos) << res.body;
  EXPECT_TRUE(writer_.batches.empty());
}

TEST_F(RemoteWriteHandlerTest, MissingMetricNameIs400ButRestIsWritten) {
  prometheus::WriteRequest req;
  req.ParseFromString(*net::SnappyDecode(V1Body(1), 1 << 20));
  req.MergeFromString(*net::SnappyDecode(V1Body(1, /*with_name=*/false), 1 << 20));
  auto res = Post(net::SnappyEncode(req.SerializeAsString()), "application/x-protobuf");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("series 1: missing or empty __name__"), std::string::npos) << res.body;
  ASSERT_EQ(writer_.batches.size(), 1u);
  EXPECT_EQ(writer_.batches[0].series.size(), 1u);

  v2::Request v2req = V2Request();
  v2req.mutable_timeseries(0)->set_labels_refs(2, 0);  // __name__ -> ""
  v2req.mutable_timeseries(0)->set_labels_refs(0, 3);  // job=up, job=a: repeated
  res = Post(net::SnappyEncode(v2req.SerializeAsString()), kV2ContentType);
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "0");
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Histograms-Written"), "1");
  EXPECT_NE(registry_.Expose().find("oriel_remote_write_samples_rejected_total 4"),
            std::string::npos)
      << registry_.Expose();
}

TEST_F(RemoteWriteHandlerTest, WriterErrorsMapToStatusCodes) {
  writer_.next_status = absl::InvalidArgumentError("too many labels in series up{}");
  auto res = Post(V1Body(1), "application/x-protobuf");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("too many labels"), std::string::npos);

  writer_.next_status = absl::ResourceExhaustedError("active series limit reached");
  res = Post(net::SnappyEncode(V2Request().SerializeAsString()), kV2ContentType);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(Header(res, "Retry-After"), "7");
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "0");

  writer_.next_status = absl::UnavailableError("disk full");
  EXPECT_EQ(Post(V1Body(1), "application/x-protobuf").status, 503);
  writer_.next_status = absl::InternalError("bug");
  EXPECT_EQ(Post(V1Body(1), "application/x-protobuf").status, 500);
}

TEST_F(RemoteWriteHandlerTest, RejectedSamplesAre400WithFirstRejectionAndCounts) {
  writer_.reject = 1;
  auto res = Post(net::SnappyEncode(V2Request().SerializeAsString()), kV2ContentType);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("out of order sample for series up{job=\"a\"}"), std::string::npos)
      << res.body;
  EXPECT_EQ(Header(res, "X-Prometheus-Remote-Write-Samples-Written"), "2");
  res = Post(V1Body(2), "application/x-protobuf");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("1 samples rejected"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace oriel::ingest
