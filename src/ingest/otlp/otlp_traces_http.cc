#include "ingest/otlp/otlp_traces_http.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "google/protobuf/arena.h"
#include "ingest/otlp/otlp_http.h"
#include "ingest/otlp/traces_ingester.h"
#include "net/router.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {

namespace collector = opentelemetry::proto::collector::trace::v1;

void HandleOtlpTraces(OtlpTracesIngester& ingester, net::HttpRequest& request,
                      net::HttpResponse& response) {
  std::optional<OtlpEncoding> encoding = AcceptOtlpRequest(request, response);
  if (!encoding) return;
  if (*encoding == OtlpEncoding::kProtobuf) {
    collector::ExportTraceServiceResponse export_response;
    if (absl::Status st = ingester.ExportEncoded(request.body, "body", export_response); !st.ok()) {
      WriteOtlpError(st, *encoding, response);
      return;
    }
    WriteOtlpResponse(export_response, *encoding, response);
    return;
  }
  // JSON. The decoded request lives on an arena: its thousands of attribute messages are a few
  // block allocations, freed at once, instead of one allocation and one destructor call each.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = std::clamp<size_t>(request.body.size(), 4 << 10, 1 << 20);
  arena_options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(arena_options);
  auto* export_request =
      google::protobuf::Arena::CreateMessage<collector::ExportTraceServiceRequest>(&arena);
  if (absl::Status st = DecodeOtlpRequest(request, *encoding, OtlpSignal::kTraces, *export_request);
      !st.ok()) {
    WriteOtlpError(st, *encoding, response);
    return;
  }
  collector::ExportTraceServiceResponse export_response;
  if (absl::Status st = ingester.Export(*export_request, export_response); !st.ok()) {
    WriteOtlpError(st, *encoding, response);
    return;
  }
  WriteOtlpResponse(export_response, *encoding, response);
}

void RegisterOtlpTracesHttpRoute(net::Router& router, OtlpTracesIngester& ingester) {
  router.Handle("POST", "/v1/traces", [&ingester](net::HttpRequest& req, net::HttpResponse& resp) {
    HandleOtlpTraces(ingester, req, resp);
  });
}

}  // namespace oriel::ingest::otlp
