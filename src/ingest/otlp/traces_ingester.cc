#include "ingest/otlp/traces_ingester.h"

#include <iterator>
#include <string>
#include <vector>

#include "base/status.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {

namespace collector = opentelemetry::proto::collector::trace::v1;
using opentelemetry::proto::trace::v1::ResourceSpans;

OtlpTracesIngester::OtlpTracesIngester(tracestore::TraceWriter& writer, metrics::Registry* registry)
    : writer_(writer) {
  if (registry == nullptr) return;
  accepted_ = &registry->AddCounter("oriel_otlp_spans_accepted_total",
                                    "OTLP spans handed to the trace engine and stored.");
  rejected_ = &registry->AddCounter("oriel_otlp_spans_rejected_total",
                                    "OTLP spans refused by the trace engine (e.g. invalid ids).");
}

absl::Status OtlpTracesIngester::Export(collector::ExportTraceServiceRequest& request,
                                        collector::ExportTraceServiceResponse& response) {
  response.Clear();
  int64_t spans = 0;
  for (const ResourceSpans& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) spans += ss.spans_size();
  }
  // Exporters send empty requests as keep-alives; the engine need not see them.
  if (spans == 0) return absl::OkStatus();
  std::vector<ResourceSpans> resource_spans(
      std::make_move_iterator(request.mutable_resource_spans()->begin()),
      std::make_move_iterator(request.mutable_resource_spans()->end()));
  request.clear_resource_spans();
  ORIEL_ASSIGN_OR_RETURN(tracestore::TraceWriteResult written,
                         writer_.Write(std::move(resource_spans)));
  if (accepted_ != nullptr) {
    accepted_->Inc(static_cast<double>(written.spans_written));
    rejected_->Inc(static_cast<double>(written.spans_rejected));
  }
  if (written.spans_rejected > 0) {
    auto* partial = response.mutable_partial_success();
    partial->set_rejected_spans(written.spans_rejected);
    partial->set_error_message(
        written.first_rejection.empty()
            ? fmt::format("{} spans refused by storage", written.spans_rejected)
            : written.first_rejection);
  }
  return absl::OkStatus();
}

}  // namespace oriel::ingest::otlp
