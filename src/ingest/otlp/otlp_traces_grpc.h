// The OTLP/gRPC trace service (opentelemetry.proto.collector.trace.v1.TraceService/Export) for
// net::GrpcServer. gRPC's headers stay in the .cc: callers see only grpc::Service.
#pragma once

#include <memory>

namespace grpc {
class Service;
}  // namespace grpc

namespace oriel::ingest::otlp {

class OtlpTracesIngester;

// A TraceService answering Export through `ingester` (not owned; must outlive the service).
// Writer errors map to the gRPC code of the same number (RESOURCE_EXHAUSTED, UNAVAILABLE, ...);
// refused spans are reported in the response's partial_success.
std::unique_ptr<grpc::Service> NewOtlpTracesGrpcService(OtlpTracesIngester& ingester);

}  // namespace oriel::ingest::otlp
