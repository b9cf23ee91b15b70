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

}  // namespace oriel::pipeline::spanmetrics
