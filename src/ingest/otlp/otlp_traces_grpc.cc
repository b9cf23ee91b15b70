#include "ingest/otlp/otlp_traces_grpc.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>

#include <string>
#include <string_view>
#include <vector>

#include "ingest/otlp/traces_ingester.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// TraceService/Export registered with the request and response as bytes (the generated service
// would decode the request itself): its bytes go to the ingester, which reads them in place and
// hands them on to the engine, which stores them as received (see
// OtlpTracesIngester::ExportEncoded).
class TraceService final : public grpc::Service {
 public:
  explicit TraceService(OtlpTracesIngester& ingester) : ingester_(ingester) {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kExportMethod, grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<TraceService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](TraceService* service, grpc::ServerContext*, const grpc::ByteBuffer* request,
               grpc::ByteBuffer* response) { return service->Export(*request, *response); },
            this)));
  }

 private:
  grpc::Status Export(const grpc::ByteBuffer& request, grpc::ByteBuffer& response) {
    std::vector<grpc::Slice> slices;
    if (grpc::Status st = request.Dump(&slices); !st.ok()) return st;
    collector::ExportTraceServiceResponse export_response;
    absl::Status st = ingester_.ExportEncoded(Contiguous(slices), "message", export_response);
    ReleaseLargeBuffer();
    if (!st.ok()) {
      // absl and gRPC status codes share their numbering.
      return grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                          std::string(st.message().data(), st.message().size()));
    }
    const std::string body = export_response.SerializeAsString();
    grpc::Slice out(body);
    response = grpc::ByteBuffer(&out, 1);
    return grpc::Status::OK;
  }

  // The message in one piece: gRPC's slice when it holds the message in one, else a copy into
  // this thread's buffer. The buffer is reused across calls: a fresh copy of a batch (hundreds of
  // KiB) per call spent ~2% of ingest CPU in page faults. The ingester keeps no view of the bytes
  // past the call (it copies what it stores).
  static std::string_view Contiguous(const std::vector<grpc::Slice>& slices) {
    if (slices.size() == 1) {
      return {reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()};
    }
    std::string& buffer = ThreadBuffer();
    buffer.clear();
    for (const grpc::Slice& slice : slices) {
      buffer.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return buffer;
  }
  // A rare huge message would otherwise pin its buffer for the thread's life.
  static void ReleaseLargeBuffer() {
    constexpr size_t kKeptBufferBytes = 4 << 20;
    if (ThreadBuffer().capacity() > kKeptBufferBytes) std::string().swap(ThreadBuffer());
  }
  static std::string& ThreadBuffer() {
    thread_local std::string buffer;
    return buffer;
  }

  OtlpTracesIngester& ingester_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewOtlpTracesGrpcService(OtlpTracesIngester& ingester) {
  return std::make_unique<TraceService>(ingester);
}

}  // namespace oriel::ingest::otlp
