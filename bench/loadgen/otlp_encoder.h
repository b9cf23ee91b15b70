// Groups generated traces into OTLP export requests the way SDKs send them: one ResourceSpans
// per service instance, one scope per instrumentation library. Logs are derived from the same
// spans (one record per server/consumer span and per failure), carrying their trace and span ids.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "loadgen/trace_generator.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::loadgen {

opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest BuildTraceRequest(
    const TraceGenerator& generator, std::span<const GeneratedTrace> traces);

// Log records for `traces`.
opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest BuildLogsRequest(
    const TraceGenerator& generator, std::span<const GeneratedTrace> traces);

// Number of spans in `request`.
int64_t CountSpans(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& r);
int64_t CountLogRecords(
    const opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest& r);

// Headers for an OTLP/HTTP protobuf POST ("Name: value").
std::vector<std::string> OtlpProtobufHeaders();

}  // namespace oriel::loadgen
