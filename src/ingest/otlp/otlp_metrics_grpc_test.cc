#include "ingest/otlp/otlp_metrics_grpc.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "ingest/otlp/fake_metrics_writer.h"
#include "ingest/otlp/metrics_ingester.h"
#include "ingest/otlp/otlp_json.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace collector = opentelemetry::proto::collector::metrics::v1;

class OtlpGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = NewOtlpMetricsGrpcService(ingester_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    stub_ = collector::MetricsService::NewStub(channel);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status Export(std::string_view json, collector::ExportMetricsServiceResponse* resp) {
    collector::ExportMetricsServiceRequest req;
    EXPECT_TRUE(ParseOtlpJson(json, OtlpSignal::kMetrics, req).ok());
    grpc::ClientContext ctx;
    ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    return stub_->Export(&ctx, req, resp);
  }

  FakeMetricsWriter writer_;
  OtlpMetricsIngester ingester_{writer_};
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<collector::MetricsService::Stub> stub_;
};

constexpr std::string_view kCounter = R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"net.io","unit":"By","sum":{"aggregationTemporality":2,"isMonotonic":true,
     "dataPoints":[{"asInt":"42","timeUnixNano":"1700000000000000000"}]}}]}]}]})";

TEST_F(OtlpGrpcTest, ExportWrites) {
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(kCounter, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(resp.has_partial_success());
  auto batches = writer_.batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].series.size(), 1u);
  EXPECT_EQ(batches[0].series[0].labels.ToString(), "net_io_bytes_total");
  EXPECT_EQ(batches[0].series[0].samples[0].value, 42);
}

TEST_F(OtlpGrpcTest, PartialSuccess) {
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
      {"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1"}]}}]}]}]})",
                           &resp);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(resp.partial_success().rejected_data_points(), 1);
  EXPECT_NE(resp.partial_success().error_message(), "");
}

TEST_F(OtlpGrpcTest, WriterErrorsBecomeGrpcCodes) {
  collector::ExportMetricsServiceResponse resp;
  writer_.SetResult(absl::ResourceExhaustedError("over the memory limit"));
  grpc::Status st = Export(kCounter, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(st.error_message(), "over the memory limit");
  writer_.SetResult(absl::UnavailableError("shutting down"));
  EXPECT_EQ(Export(kCounter, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  writer_.SetResult(absl::InvalidArgumentError("bad series"));
  EXPECT_EQ(Export(kCounter, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace oriel::ingest::otlp
