#include "ingest/otlp/traces_ingester.h"

#include <algorithm>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {

namespace collector = opentelemetry::proto::collector::trace::v1;
using opentelemetry::proto::trace::v1::ResourceSpans;

namespace {

// ExportTraceServiceRequest.resource_spans.
constexpr int kResourceSpansField = 1;

// The encodings of the resource_spans of the serialized request `encoded`, in order, or none when
// there are not `count` of them (which bytes that decoded as the request always have).
std::vector<std::string_view> ResourceSpansEncodings(std::string_view encoded, int count) {
  using google::protobuf::internal::WireFormatLite;
  std::vector<std::string_view> out;
  out.reserve(static_cast<size_t>(count));
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(encoded.data()),
                                            static_cast<int>(encoded.size()));
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag !=
        WireFormatLite::MakeTag(kResourceSpansField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::SkipField(&in, tag)) return {};
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return {};
    const int offset = in.CurrentPosition();
    if (!in.Skip(static_cast<int>(length))) return {};
    out.push_back(encoded.substr(static_cast<size_t>(offset), length));
  }
  if (out.size() != static_cast<size_t>(count)) return {};
  return out;
}

}  // namespace

OtlpTracesIngester::OtlpTracesIngester(tracestore::TraceWriter& writer, metrics::Registry* registry)
    : writer_(writer) {
  if (registry == nullptr) return;
  accepted_ = &registry->AddCounter("oriel_otlp_spans_accepted_total",
                                    "OTLP spans handed to the trace engine and stored.");
  rejected_ = &registry->AddCounter("oriel_otlp_spans_rejected_total",
                                    "OTLP spans refused by the trace engine (e.g. invalid ids).");
}

absl::Status OtlpTracesIngester::Export(collector::ExportTraceServiceRequest& request,
                                        std::string_view encoded,
                                        collector::ExportTraceServiceResponse& response) {
  response.Clear();
  int64_t spans = 0;
  for (const ResourceSpans& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) spans += ss.spans_size();
  }
  // Exporters send empty requests as keep-alives; the engine need not see them.
  if (spans == 0) return absl::OkStatus();
  tracestore::SpanBatch batch{.resource_spans = request.mutable_resource_spans(), .encoded = {}};
  if (!encoded.empty())
    batch.encoded = ResourceSpansEncodings(encoded, request.resource_spans_size());
  return WriteBatch(batch, response);
}

absl::Status OtlpTracesIngester::ExportEncoded(std::string_view encoded,
                                               std::string_view request_name,
                                               collector::ExportTraceServiceResponse& response) {
  response.Clear();
  tracestore::SpanBatch batch;
  if (!tracestore::ReadEncodedTracesData(encoded, &batch.read).ok()) {
    // Malformed, or one of the unusual encodings only a parse reads: the parser tells.
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = std::clamp<size_t>(encoded.size(), 4 << 10, 1 << 20);
    arena_options.max_block_size = 1 << 20;
    google::protobuf::Arena arena(arena_options);
    auto* request =
        google::protobuf::Arena::CreateMessage<collector::ExportTraceServiceRequest>(&arena);
    if (encoded.size() > static_cast<size_t>(INT_MAX) ||
        !request->ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
      return absl::InvalidArgumentError(
          fmt::format("cannot parse OTLP protobuf ExportTraceServiceRequest: malformed {} of {} "
                      "bytes",
                      request_name, encoded.size()));
    }
    return Export(*request, encoded, response);
  }
  size_t spans = 0;
  for (const tracestore::EncodedResourceSpans& rs : batch.read) {
    for (const tracestore::EncodedScopeSpans& ss : rs.scopes) spans += ss.spans.size();
  }
  // Exporters send empty requests as keep-alives; the engine need not see them.
  if (spans == 0) return absl::OkStatus();
  return WriteBatch(batch, response);
}

absl::Status OtlpTracesIngester::WriteBatch(tracestore::SpanBatch& batch,
                                            collector::ExportTraceServiceResponse& response) {
  ORIEL_ASSIGN_OR_RETURN(tracestore::TraceWriteResult written, writer_.WriteBatch(batch));
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
