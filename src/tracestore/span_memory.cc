#include "tracestore/span_memory.h"

#include <string>

namespace oriel::tracestore {
namespace {

using google::protobuf::RepeatedPtrField;
using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::ArrayValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::common::v1::KeyValueList;
using opentelemetry::proto::trace::v1::Span;

// A non-empty protobuf string field is a heap std::string, plus its buffer past the
// small-string capacity.
size_t StringBytes(const std::string& s) {
  if (s.empty()) return 0;
  constexpr size_t kInlineCapacity = 15;
  size_t bytes = MallocChunkBytes(sizeof(std::string));
  if (s.capacity() > kInlineCapacity) bytes += MallocChunkBytes(s.capacity() + 1);
  return bytes;
}

// The pointer array of a repeated message field (its elements are counted by the caller).
template <typename T>
size_t PointerArrayBytes(const RepeatedPtrField<T>& field) {
  if (field.Capacity() == 0) return 0;
  return MallocChunkBytes(sizeof(void*) * (static_cast<size_t>(field.Capacity()) + 1));
}

size_t KeyValuesBytes(const RepeatedPtrField<KeyValue>& attributes);

size_t AnyValueBytes(const AnyValue& value) {
  size_t bytes = MallocChunkBytes(sizeof(AnyValue));
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      bytes += StringBytes(value.string_value());
      break;
    case AnyValue::kBytesValue:
      bytes += StringBytes(value.bytes_value());
      break;
    case AnyValue::kArrayValue: {
      const auto& values = value.array_value().values();
      bytes += MallocChunkBytes(sizeof(ArrayValue)) + PointerArrayBytes(values);
      for (const AnyValue& v : values) bytes += AnyValueBytes(v);
      break;
    }
    case AnyValue::kKvlistValue:
      bytes +=
          MallocChunkBytes(sizeof(KeyValueList)) + KeyValuesBytes(value.kvlist_value().values());
      break;
    default:
      break;
  }
  return bytes;
}

size_t KeyValuesBytes(const RepeatedPtrField<KeyValue>& attributes) {
  size_t bytes = PointerArrayBytes(attributes);
  for (const KeyValue& kv : attributes) {
    bytes += MallocChunkBytes(sizeof(KeyValue)) + StringBytes(kv.key());
    if (kv.has_value()) bytes += AnyValueBytes(kv.value());
  }
  return bytes;
}

}  // namespace

size_t EstimatedSpanHeapBytes(const Span& span) {
  size_t bytes = StringBytes(span.trace_id()) + StringBytes(span.span_id()) +
                 StringBytes(span.parent_span_id()) + StringBytes(span.trace_state()) +
                 StringBytes(span.name()) + KeyValuesBytes(span.attributes());
  bytes += PointerArrayBytes(span.events());
  for (const Span::Event& event : span.events()) {
    bytes += MallocChunkBytes(sizeof(Span::Event)) + StringBytes(event.name()) +
             KeyValuesBytes(event.attributes());
  }
  bytes += PointerArrayBytes(span.links());
  for (const Span::Link& link : span.links()) {
    bytes += MallocChunkBytes(sizeof(Span::Link)) + StringBytes(link.trace_id()) +
             StringBytes(link.span_id()) + StringBytes(link.trace_state()) +
             KeyValuesBytes(link.attributes());
  }
  if (span.has_status()) {
    bytes += MallocChunkBytes(sizeof(opentelemetry::proto::trace::v1::Status)) +
             StringBytes(span.status().message());
  }
  return bytes;
}

}  // namespace oriel::tracestore
