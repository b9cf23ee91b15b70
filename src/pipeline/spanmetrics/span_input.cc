#include "pipeline/spanmetrics/span_input.h"

#include "tracestore/span_validation.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace trace = opentelemetry::proto::trace::v1;

const opentelemetry::proto::resource::v1::Resource& EmptyResource() {
  static const auto* empty = new opentelemetry::proto::resource::v1::Resource();
  return *empty;
}

}  // namespace

std::vector<ResourceInput> InputsOf(std::span<const trace::ResourceSpans* const> resource_spans) {
  std::vector<ResourceInput> out;
  out.reserve(resource_spans.size());
  for (const trace::ResourceSpans* rs : resource_spans) {
    ResourceInput& in = out.emplace_back();
    in.resource = &rs->resource();
    for (const trace::ScopeSpans& ss : rs->scope_spans()) {
      for (const trace::Span& span : ss.spans()) {
        in.spans.push_back(SpanInput{.trace_id = span.trace_id(),
                                     .span_id = span.span_id(),
                                     .parent_span_id = span.parent_span_id(),
                                     .name = span.name(),
                                     .kind = span.kind(),
                                     .status_code = span.status().code(),
                                     .start_time_unix_nano = span.start_time_unix_nano(),
                                     .end_time_unix_nano = span.end_time_unix_nano(),
                                     .valid = tracestore::ValidateSpan(span).empty(),
                                     .decoded = &span});
      }
    }
  }
  return out;
}

std::vector<ResourceInput> InputsOf(std::span<const tracestore::EncodedResourceSpans> read,
                                    google::protobuf::Arena& arena) {
  std::vector<ResourceInput> out;
  out.reserve(read.size());
  for (const tracestore::EncodedResourceSpans& rs : read) {
    ResourceInput& in = out.emplace_back();
    if (rs.resource.empty()) {
      in.resource = &EmptyResource();
    } else {
      auto* resource =
          google::protobuf::Arena::CreateMessage<opentelemetry::proto::resource::v1::Resource>(
              &arena);
      // Checked when it was read; an unparsable one would be left empty.
      (void)resource->ParseFromArray(rs.resource.data(), static_cast<int>(rs.resource.size()));
      in.resource = resource;
    }
    size_t spans = 0;
    for (const tracestore::EncodedScopeSpans& ss : rs.scopes) spans += ss.spans.size();
    in.spans.reserve(spans);
    for (const tracestore::EncodedScopeSpans& ss : rs.scopes) {
      for (const tracestore::EncodedSpan& span : ss.spans) {
        in.spans.push_back(SpanInput{.trace_id = span.trace_id,
                                     .span_id = span.span_id,
                                     .parent_span_id = span.parent_span_id,
                                     .name = span.name,
                                     .kind = span.kind,
                                     .status_code = span.status_code,
                                     .start_time_unix_nano = span.start_time_unix_nano,
                                     .end_time_unix_nano = span.end_time_unix_nano,
                                     .valid = span.valid,
                                     .decoded = nullptr,
                                     .bytes = span.bytes});
      }
    }
  }
  return out;
}

}  // namespace oriel::pipeline::spanmetrics
