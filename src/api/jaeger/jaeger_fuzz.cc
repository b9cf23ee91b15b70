// Fuzzes the Jaeger API's parameter parsers (input as a query string) and, when the input is
// OTLP traces JSON, both trace encoders (Jaeger UI JSON and OTLP JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/jaeger/jaeger_json.h"
#include "api/jaeger/jaeger_params.h"
#include "api/jaeger/otlp_traces_json.h"
#include "ingest/otlp/otlp_json.h"
#include "net/url.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace jaeger = oriel::api::jaeger;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  oriel::net::Params form = oriel::net::ParseQueryString(in);
  (void)jaeger::ParseSearchParams(form, 1'700'000'000'000'000'000);
  (void)jaeger::ParseDependenciesParams(form, 1'700'000'000'000'000'000);
  (void)jaeger::ParseGoDuration(in);
  (void)jaeger::ParseTraceId(in);

  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  if (oriel::ingest::otlp::ParseOtlpJson(in, oriel::ingest::otlp::OtlpSignal::kTraces, req).ok()) {
    oriel::tracestore::Trace trace;
    trace.resource_spans.assign(req.resource_spans().begin(), req.resource_spans().end());
    (void)jaeger::JaegerTraceJson(trace);
    (void)jaeger::OtlpTracesJson(trace.resource_spans);
  }
  return 0;
}
