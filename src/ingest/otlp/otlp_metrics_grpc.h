// The OTLP/gRPC metrics service (opentelemetry.proto.collector.metrics.v1.MetricsService/Export)
// for net::GrpcServer. gRPC's headers stay in the .cc: callers see only grpc::Service.
#pragma once

#include <memory>

namespace grpc {
class Service;
}  // namespace grpc

namespace oriel::ingest::otlp {

class OtlpMetricsIngester;

// A MetricsService answering Export through `ingester` (not owned; must outlive the service).
// Writer errors map to the gRPC code of the same number (INVALID_ARGUMENT, RESOURCE_EXHAUSTED,
// UNAVAILABLE, ...); refused points are reported in the response's partial_success.
std::unique_ptr<grpc::Service> NewOtlpMetricsGrpcService(OtlpMetricsIngester& ingester);

}  // namespace oriel::ingest::otlp
