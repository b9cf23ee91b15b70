// What the span metrics and service graph aggregators read of spans, from decoded OTLP messages
// or from spans read in place (tracestore/encoded_spans.h), so that one implementation serves both.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "google/protobuf/arena.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pipeline/spanmetrics/attributes.h"
#include "tracestore/encoded_spans.h"

namespace oriel::pipeline::spanmetrics {

struct SpanInput {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  std::string_view name;
  int32_t kind = 0;
  int32_t status_code = 0;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  bool valid = false;  // tracestore::ValidateSpan accepts it
  // Where its attributes are: the decoded span, or else its encoding.
  const opentelemetry::proto::trace::v1::Span* decoded = nullptr;
  std::string_view bytes;
};

struct ResourceInput {
  const opentelemetry::proto::resource::v1::Resource* resource = nullptr;  // never null
  std::vector<SpanInput> spans;  // of every scope, in order
};

// Views of decoded resources (which must outlive them).
std::vector<ResourceInput> InputsOf(
    std::span<const opentelemetry::proto::trace::v1::ResourceSpans* const> resource_spans);
// Views of resources read in place; their resources are parsed onto `arena`.
std::vector<ResourceInput> InputsOf(std::span<const tracestore::EncodedResourceSpans> read,
                                    google::protobuf::Arena& arena);

// Looks up attributes of one span at a time: a span read in place is scanned once, at its first
// lookup, however many keys are looked up. Values read in place are parsed onto the arena.
class SpanAttributes {
 public:
  explicit SpanAttributes(google::protobuf::Arena& arena) : arena_(arena) {}

  // Lookups are of `span` (which must outlive them) from now on.
  void Reset(const SpanInput& span) {
    span_ = &span;
    scanned_ = false;
  }
  // The value of the first attribute `key` of the span, or nullptr. REQUIRES: Reset was called.
  const opentelemetry::proto::common::v1::AnyValue* Find(std::string_view key);

 private:
  google::protobuf::Arena& arena_;
  const SpanInput* span_ = nullptr;
  bool scanned_ = false;
  // The key and serialized KeyValue of each attribute of a span read in place, in order.
  std::vector<std::pair<std::string_view, std::string_view>> attributes_;
};

// The value of the first attribute `key` of the span, or nullptr (one lookup of SpanAttributes).
const opentelemetry::proto::common::v1::AnyValue* SpanAttribute(const SpanInput& span,
                                                                std::string_view key,
                                                                google::protobuf::Arena& arena);

}  // namespace oriel::pipeline::spanmetrics
