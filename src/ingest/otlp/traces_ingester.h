// The one code path behind OTLP/HTTP and OTLP/gRPC traces: hand an export request's spans to the
// trace engine and report what it refused as the response's partial success.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "tracestore/trace_store.h"

namespace opentelemetry::proto::collector::trace::v1 {
class ExportTraceServiceRequest;
class ExportTraceServiceResponse;
}  // namespace opentelemetry::proto::collector::trace::v1

namespace oriel::ingest::otlp {

class OtlpTracesIngester {
 public:
  // `writer` is not owned and must outlive the ingester. With a `registry` (not owned; at most
  // one ingester per registry) it counts spans as oriel_otlp_spans_{accepted,rejected}_total.
  explicit OtlpTracesIngester(tracestore::TraceWriter& writer,
                              metrics::Registry* registry = nullptr);

  // Writes the spans of `request` through the writer's WriteBatch. On success fills `response`:
  // its partial_success holds the number of spans the engine refused and its first reason (left
  // unset when none was refused). Otherwise returns the writer's error unchanged
  // (kResourceExhausted, kUnavailable, ...), in which case nothing was stored. An empty request
  // is accepted without calling the writer. The request keeps the spans that were stored (the
  // writer may remove the refused ones). `encoded`: the bytes `request` was decoded from, or ""
  // (e.g. for JSON); with them the engine stores the spans as received instead of serializing
  // them again. Thread-safe.
  [[nodiscard]] absl::Status Export(
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
      std::string_view encoded,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse& response);
  [[nodiscard]] absl::Status Export(
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse& response) {
    return Export(request, "", response);
  }
  // As Export, of a serialized request, which is read in place (tracestore::ReadEncodedTracesData)
  // rather than decoded, when it can be; otherwise it is parsed. kInvalidArgument naming
  // `request_name` ("body", "message") when it is not a serialized ExportTraceServiceRequest.
  // `encoded` must outlive the call. Thread-safe.
  [[nodiscard]] absl::Status ExportEncoded(
      std::string_view encoded, std::string_view request_name,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse& response);

 private:
  // Writes `batch` and fills `response` (see Export).
  absl::Status WriteBatch(
      tracestore::SpanBatch& batch,
      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse& response);

  tracestore::TraceWriter& writer_;
  metrics::Counter* accepted_ = nullptr;
  metrics::Counter* rejected_ = nullptr;
};

}  // namespace oriel::ingest::otlp
