#include "ingest/otlp/otlp_metrics_grpc.h"

#include <grpcpp/grpcpp.h>

#include <string>

#include "ingest/otlp/metrics_ingester.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace collector = opentelemetry::proto::collector::metrics::v1;

class MetricsService final : public collector::MetricsService::Service {
 public:
  explicit MetricsService(OtlpMetricsIngester& ingester) : ingester_(ingester) {}

  grpc::Status Export(grpc::ServerContext* context,
                      const collector::ExportMetricsServiceRequest* request,
                      collector::ExportMetricsServiceResponse* response) override {
    absl::Status st = ingester_.Export(*request, *response);
    if (st.ok()) return grpc::Status::OK;
    // absl and gRPC status codes share their numbering.
    return grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                        std::string(st.message().data(), st.message().size()));
  }

 private:
  OtlpMetricsIngester& ingester_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewOtlpMetricsGrpcService(OtlpMetricsIngester& ingester) {
  return std::make_unique<MetricsService>(ingester);
}

}  // namespace oriel::ingest::otlp
