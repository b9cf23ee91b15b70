#include "loadgen/grpc_sender.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <vector>

#include "gtest/gtest.h"
#include "loadgen/otlp_encoder.h"
#include "loadgen/otlp_metrics_generator.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace oriel::loadgen {
namespace {

namespace ocoll_trace = opentelemetry::proto::collector::trace::v1;
namespace ocoll_logs = opentelemetry::proto::collector::logs::v1;

constexpr int64_t kStart = 1'700'000'000'000'000'000;

// Accepts traces and counts their spans; with `drop_per_call`, refuses that many spans of each
// request through OTLP partial_success.
class FakeTraceService final : public ocoll_trace::TraceService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const ocoll_trace::ExportTraceServiceRequest* request,
                      ocoll_trace::ExportTraceServiceResponse* response) override {
    spans += CountSpans(*request);
    ++calls;
    if (drop_per_call > 0) {
      response->mutable_partial_success()->set_rejected_spans(drop_per_call);
      response->mutable_partial_success()->set_error_message("span too old");
    }
    return grpc::Status::OK;
  }
  int64_t drop_per_call = 0;
  std::atomic<int64_t> spans{0};
  std::atomic<int> calls{0};
};

// Refuses every logs request, as an overloaded receiver does.
class FakeLogsService final : public ocoll_logs::LogsService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const ocoll_logs::ExportLogsServiceRequest*,
                      ocoll_logs::ExportLogsServiceResponse*) override {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "logs quota exceeded");
  }
};

TEST(GrpcSenderTest, CountsAcknowledgedAndRejectedByStatusCode) {
  FakeTraceService traces;
  FakeLogsService logs;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&traces);
  builder.RegisterService(&logs);  // no MetricsService: its calls are UNIMPLEMENTED
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  TraceGenerator gen({.services = 4, .seed = 3});
  OtlpMetricsGenerator metrics(gen, 3, kStart);
  SendStats stats;
  int64_t spans_sent = 0, records_sent = 0, points_sent = 0;
  {
    GrpcSender sender("127.0.0.1:" + std::to_string(port), 2, 4, 10, &stats);
    for (int i = 0; i < 6; ++i) {
      std::vector<GeneratedTrace> batch = {gen.Next(kStart + i), gen.Next(kStart + i)};
      auto trace_request = BuildTraceRequest(gen, batch);
      const int64_t spans = CountSpans(trace_request);
      spans_sent += spans;
      sender.Submit({Signal::kTraces, std::move(trace_request), spans});
      auto logs_request = BuildLogsRequest(gen, batch);
      const int64_t records = CountLogRecords(logs_request);
      records_sent += records;
      sender.Submit({Signal::kLogs, std::move(logs_request), records});
    }
    auto m = metrics.Next(kStart + 15'000'000'000);
    points_sent = OtlpMetricsGenerator::CountPoints(m);
    sender.Submit({Signal::kOtlpMetrics, std::move(m), points_sent});
    sender.Close();
  }
  server->Shutdown();

  const StatsSnapshot s = stats.Snapshot();
  const SignalTotals& t = s[static_cast<int>(Signal::kTraces)];
  EXPECT_EQ(t.requests_sent, 6);
  EXPECT_EQ(t.requests_acked, 6);
  EXPECT_EQ(t.items_acked, spans_sent);
  EXPECT_GT(t.bytes_sent, 0);
  EXPECT_EQ(traces.spans.load(), spans_sent) << "the server got every span";
  EXPECT_EQ(traces.calls.load(), 6);

  const SignalTotals& l = s[static_cast<int>(Signal::kLogs)];
  EXPECT_EQ(l.requests_acked, 0);
  EXPECT_EQ(l.rejected_requests.at("RESOURCE_EXHAUSTED"), 6);
  EXPECT_EQ(l.rejected_items.at("RESOURCE_EXHAUSTED"), records_sent);
  EXPECT_EQ(l.last_error, "gRPC RESOURCE_EXHAUSTED: logs quota exceeded");

  const SignalTotals& m = s[static_cast<int>(Signal::kOtlpMetrics)];
  EXPECT_EQ(m.rejected_items.at("UNIMPLEMENTED"), points_sent);
}

TEST(GrpcSenderTest, PartialSuccessCountsTheRejectedSpans) {
  FakeTraceService traces;
  traces.drop_per_call = 3;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&traces);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  TraceGenerator gen({.services = 3, .seed = 5});
  SendStats stats;
  int64_t sent = 0;
  {
    GrpcSender sender("127.0.0.1:" + std::to_string(port), 1, 2, 10, &stats);
    for (int i = 0; i < 2; ++i) {
      std::vector<GeneratedTrace> batch = {gen.Next(kStart + i)};
      auto request = BuildTraceRequest(gen, batch);
      const int64_t spans = CountSpans(request);
      sent += spans;
      sender.Submit({Signal::kTraces, std::move(request), spans});
    }
  }
  server->Shutdown();
  const StatsSnapshot snapshot = stats.Snapshot();
  const SignalTotals& t = snapshot[static_cast<int>(Signal::kTraces)];
  EXPECT_EQ(t.requests_acked, 2);
  EXPECT_EQ(t.items_acked, sent - 6);
  EXPECT_EQ(t.rejected_items.at("partial_success"), 6);
  EXPECT_EQ(t.last_error, "gRPC OK with partial_success: 3 rejected: span too old");
}

TEST(GrpcSenderTest, NoServerIsUnavailable) {
  // Find a port nobody listens on: bind, note it, release it.
  int port = 0;
  {
    FakeTraceService unused;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&unused);
    auto server = builder.BuildAndStart();
    server->Shutdown();
  }
  TraceGenerator gen({.services = 2, .seed = 1});
  SendStats stats;
  {
    GrpcSender sender("127.0.0.1:" + std::to_string(port), 1, 1, 5, &stats);
    std::vector<GeneratedTrace> batch = {gen.Next(kStart)};
    auto request = BuildTraceRequest(gen, batch);
    sender.Submit({Signal::kTraces, std::move(request), 1});
  }
  const StatsSnapshot snapshot = stats.Snapshot();
  const SignalTotals& t = snapshot[static_cast<int>(Signal::kTraces)];
  EXPECT_EQ(t.requests_sent, 1);
  EXPECT_EQ(t.requests_acked, 0);
  EXPECT_EQ(t.rejected_requests.at("UNAVAILABLE"), 1);
}

}  // namespace
}  // namespace oriel::loadgen
