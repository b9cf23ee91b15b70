// Sends OTLP export requests over gRPC (the collector services TraceService, MetricsService and
// LogsService, plaintext HTTP/2) with the generated stubs: `concurrency` threads, each with its
// own channel and so its own connection. Like Sender, no retries: a non-OK status is counted by
// its gRPC code name, since the point is to measure what the target accepts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "loadgen/send_stats.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::loadgen {

using OtlpRequest =
    std::variant<opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest,
                 opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest,
                 opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest>;

struct GrpcPayload {
  Signal signal;
  OtlpRequest request;
  int64_t items = 0;
};

class GrpcSender {
 public:
  // `target` is "host:port" (gRPC target syntax). `stats` must outlive the Sender.
  // REQUIRES: concurrency >= 1, queue_limit >= 1.
  GrpcSender(std::string target, int concurrency, size_t queue_limit, double timeout_seconds,
             SendStats* stats);
  ~GrpcSender();  // Close()

  // Queues a request, blocking while `queue_limit` are waiting (backpressure, as in Sender).
  // Thread-safe.
  void Submit(GrpcPayload payload);
  // Sends what is queued, then stops the threads. Idempotent.
  void Close();

 private:
  void Run();

  const std::string target_;
  const size_t queue_limit_;
  const double timeout_seconds_;
  SendStats* stats_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<GrpcPayload> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace oriel::loadgen
