#include "ingest/otlp/otlp_traces_grpc.h"

#include <grpcpp/grpcpp.h>

#include <string>

#include "ingest/otlp/traces_ingester.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

class TraceService final : public collector::TraceService::Service {
 public:
  explicit TraceService(OtlpTracesIngester& ingester) : ingester_(ingester) {}

  grpc::Status Export(grpc::ServerContext* context,
                      const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse* response) override {
    // gRPC owns the request and is done with it once Export returns; the engine may remove
    // refused spans from it in place instead of copying the rest.
    absl::Status st =
        ingester_.Export(const_cast<collector::ExportTraceServiceRequest&>(*request), *response);
    if (st.ok()) return grpc::Status::OK;
    // absl and gRPC status codes share their numbering.
    return grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                        std::string(st.message().data(), st.message().size()));
  }

 private:
  OtlpTracesIngester& ingester_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewOtlpTracesGrpcService(OtlpTracesIngester& ingester) {
  return std::make_unique<TraceService>(ingester);
}

}  // namespace oriel::ingest::otlp
