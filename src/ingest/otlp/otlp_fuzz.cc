// Fuzzes the OTLP/JSON codec for every signal and the metrics translation of whatever decodes,
// from JSON or from protobuf.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/otlp/metrics_translator.h"
#include "ingest/otlp/otlp_json.h"
#include "ingest/otlp/rpc_status.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace otlp = oriel::ingest::otlp;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest traces;
  (void)otlp::ParseOtlpJson(in, otlp::OtlpSignal::kTraces, traces);
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest logs;
  (void)otlp::ParseOtlpJson(in, otlp::OtlpSignal::kLogs, logs);

  otlp::MetricsTranslator translator;
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest metrics;
  if (otlp::ParseOtlpJson(in, otlp::OtlpSignal::kMetrics, metrics).ok()) {
    (void)translator.Translate(metrics);
    (void)translator.Translate(metrics);  // a second time exercises the delta table
  }
  if (metrics.ParseFromArray(data, static_cast<int>(size))) (void)translator.Translate(metrics);
  otlp::RpcStatus status;
  (void)otlp::DecodeRpcStatusProto(in, status);
  return 0;
}
