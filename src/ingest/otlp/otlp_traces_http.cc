#include "ingest/otlp/otlp_traces_http.h"

#include <optional>

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
  collector::ExportTraceServiceRequest export_request;
  if (absl::Status st = DecodeOtlpRequest(request, *encoding, OtlpSignal::kTraces, export_request);
      !st.ok()) {
    WriteOtlpError(st, *encoding, response);
    return;
  }
  collector::ExportTraceServiceResponse export_response;
  if (absl::Status st = ingester.Export(export_request, export_response); !st.ok()) {
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
