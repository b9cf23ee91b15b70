#include "pipeline/spanmetrics/span_input.h"

#include "tracestore/span_validation.h"
#include "tracestore/span_wire.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace trace = opentelemetry::proto::trace::v1;
namespace common = opentelemetry::proto::common::v1;

constexpr uint32_t kSpanAttributes = 9;
constexpr uint32_t kKeyValueKey = 1;

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

const common::AnyValue* SpanAttributes::Find(std::string_view key) {
  if (span_->decoded != nullptr) return FindAttribute(span_->decoded->attributes(), key);
  if (!scanned_) {
    scanned_ = true;
    attributes_.clear();
    tracestore::ByteReader reader(span_->bytes);
    tracestore::WireField field;
    // The span was checked when it was read: a field that does not read ends the scan.
    while (!reader.empty() && tracestore::ReadWireField(reader, &field)) {
      if (field.number != kSpanAttributes || field.wire_type != tracestore::kWireLength) continue;
      // The key, as parsing reads it: its last occurrence.
      std::string_view attribute_key;
      tracestore::ByteReader kv(field.bytes);
      tracestore::WireField f;
      while (!kv.empty() && tracestore::ReadWireField(kv, &f)) {
        if (f.number == kKeyValueKey && f.wire_type == tracestore::kWireLength) {
          attribute_key = f.bytes;
        }
      }
      attributes_.emplace_back(attribute_key, field.bytes);
    }
  }
  for (const auto& [attribute_key, bytes] : attributes_) {
    if (attribute_key != key) continue;
    // Parsed whole, so that its value is what parsing the span gives (merges included).
    auto* parsed = google::protobuf::Arena::CreateMessage<common::KeyValue>(&arena_);
    if (!parsed->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return nullptr;
    return &parsed->value();
  }
  return nullptr;
}

const common::AnyValue* SpanAttribute(const SpanInput& span, std::string_view key,
                                      google::protobuf::Arena& arena) {
  SpanAttributes attributes(arena);
  attributes.Reset(span);
  return attributes.Find(key);
}

}  // namespace oriel::pipeline::spanmetrics
