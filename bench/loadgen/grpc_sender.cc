#include "loadgen/grpc_sender.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "base/check.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace oriel::loadgen {
namespace {

namespace ocoll_trace = opentelemetry::proto::collector::trace::v1;
namespace ocoll_metrics = opentelemetry::proto::collector::metrics::v1;
namespace ocoll_logs = opentelemetry::proto::collector::logs::v1;

}  // namespace

GrpcSender::GrpcSender(std::string target, int concurrency, size_t queue_limit,
                       double timeout_seconds, SendStats* stats)
    : target_(std::move(target)),
      queue_limit_(queue_limit),
      timeout_seconds_(timeout_seconds),
      stats_(stats) {
  ORIEL_CHECK(concurrency >= 1 && queue_limit >= 1);
  for (int i = 0; i < concurrency; ++i) threads_.emplace_back([this] { Run(); });
}

GrpcSender::~GrpcSender() { Close(); }

void GrpcSender::Submit(GrpcPayload payload) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return queue_.size() < queue_limit_ || closing_; });
  if (closing_) return;
  queue_.push_back(std::move(payload));
  changed_.notify_all();
}

void GrpcSender::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ && threads_.empty()) return;
    closing_ = true;
    changed_.notify_all();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void GrpcSender::Run() {
  // Channels with equal arguments share their connection; a local subchannel pool gives each
  // thread its own, as `concurrency` HTTP connections do on the HTTP path.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(-1);
  args.SetUserAgentPrefix("oriel-loadgen");
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args);
  const auto traces = ocoll_trace::TraceService::NewStub(channel);
  const auto metrics = ocoll_metrics::MetricsService::NewStub(channel);
  const auto logs = ocoll_logs::LogsService::NewStub(channel);
  while (true) {
    GrpcPayload p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;
      p = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::duration<double>(timeout_seconds_)));
    const auto start = std::chrono::steady_clock::now();
    grpc::Status status;
    int64_t bytes = 0;
    int64_t partially_rejected = 0;  // OTLP partial_success: accepted, but not all of it
    std::string partial_message;
    if (auto* r = std::get_if<ocoll_trace::ExportTraceServiceRequest>(&p.request)) {
      bytes = static_cast<int64_t>(r->ByteSizeLong());
      ocoll_trace::ExportTraceServiceResponse response;
      status = traces->Export(&context, *r, &response);
      partially_rejected = response.partial_success().rejected_spans();
      partial_message = response.partial_success().error_message();
    } else if (auto* r = std::get_if<ocoll_metrics::ExportMetricsServiceRequest>(&p.request)) {
      bytes = static_cast<int64_t>(r->ByteSizeLong());
      ocoll_metrics::ExportMetricsServiceResponse response;
      status = metrics->Export(&context, *r, &response);
      partially_rejected = response.partial_success().rejected_data_points();
      partial_message = response.partial_success().error_message();
    } else if (auto* r = std::get_if<ocoll_logs::ExportLogsServiceRequest>(&p.request)) {
      bytes = static_cast<int64_t>(r->ByteSizeLong());
      ocoll_logs::ExportLogsServiceResponse response;
      status = logs->Export(&context, *r, &response);
      partially_rejected = response.partial_success().rejected_log_records();
      partial_message = response.partial_success().error_message();
    }
    const double latency =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool ok = status.ok();
    stats_->RecordGrpc(p.signal, p.items, bytes, static_cast<int>(status.error_code()),
                       ok ? partial_message : status.error_message(), latency,
                       ok ? partially_rejected : 0);
  }
}

}  // namespace oriel::loadgen
