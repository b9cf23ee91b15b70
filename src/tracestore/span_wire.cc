#include "tracestore/span_wire.h"

#include <limits>

namespace oriel::tracestore {
namespace {

// Field numbers of opentelemetry.proto.trace.v1.Span, Status, and common.v1 KeyValue, AnyValue.
enum SpanField : uint32_t {
  kTraceId = 1,
  kSpanId = 2,
  kTraceState = 3,
  kParentSpanId = 4,
  kName = 5,
  kKind = 6,
  kStartTime = 7,
  kEndTime = 8,
  kAttributes = 9,
  kDroppedAttributes = 10,
  kEvents = 11,
  kDroppedEvents = 12,
  kLinks = 13,
  kDroppedLinks = 14,
  kStatus = 15,
  kFlags = 16,
};
constexpr uint32_t kStatusMessage = 2;
constexpr uint32_t kStatusCode = 3;
constexpr uint32_t kKeyValueKey = 1;
constexpr uint32_t kKeyValueValue = 2;
// The wire type of each Span field; none (an impossible type) for numbers it does not have.
constexpr uint32_t kNoWireType = 8;
uint32_t SpanWireType(uint32_t number) {
  switch (number) {
    case kKind:
    case kDroppedAttributes:
    case kDroppedEvents:
    case kDroppedLinks:
      return kWireVarint;
    case kStartTime:
    case kEndTime:
      return kWireFixed64;
    case kFlags:
      return kWireFixed32;
    case kTraceId:
    case kSpanId:
    case kTraceState:
    case kParentSpanId:
    case kName:
    case kAttributes:
    case kEvents:
    case kLinks:
    case kStatus:
      return kWireLength;
    default:
      return kNoWireType;
  }
}
enum AnyValueField : uint32_t { kStringValue = 1, kBoolValue = 2, kIntValue = 3, kDoubleValue = 4 };

// As protobuf's default recursion limit: deeper groups do not parse there either.
constexpr int kMaxGroupDepth = 100;

bool ReadField(ByteReader& reader, WireField* field, int depth);

// Skips the fields of a group up to its end tag, which must name `number`.
bool SkipGroup(ByteReader& reader, uint32_t number, int depth) {
  if (depth > kMaxGroupDepth) return false;
  for (;;) {
    if (reader.empty()) return false;
    // End tags are read here: ReadField refuses them.
    ByteReader peek = reader;
    const uint64_t tag = peek.Varint();
    if (peek.ok() && (tag & 7) == kWireEndGroup) {
      reader = peek;
      return tag >> 3 == number;
    }
    WireField inner;
    if (!ReadField(reader, &inner, depth + 1)) return false;
  }
}

bool ReadField(ByteReader& reader, WireField* field, int depth) {
  const std::string_view start = reader.rest();
  const uint64_t tag = reader.Varint();
  if (!reader.ok() || tag > std::numeric_limits<uint32_t>::max() || tag >> 3 == 0) return false;
  field->number = static_cast<uint32_t>(tag >> 3);
  field->wire_type = static_cast<uint32_t>(tag & 7);
  field->value = 0;
  field->bytes = {};
  switch (field->wire_type) {
    case kWireVarint:
      field->value = reader.Varint();
      break;
    case kWireFixed64:
      field->value = reader.Fixed64();
      break;
    case kWireLength:
      field->bytes = reader.LengthPrefixed();
      break;
    case kWireFixed32: {
      const std::string_view b = reader.Bytes(4);
      if (reader.ok()) field->value = DecodeFixed32(b.data());
      break;
    }
    case kWireStartGroup:
      if (!SkipGroup(reader, field->number, depth)) return false;
      break;
    default:  // an end tag without its group, or no wire type at all
      return false;
  }
  if (!reader.ok()) return false;
  field->raw = start.substr(0, start.size() - reader.remaining());
  return true;
}

// Reads an AnyValue: typed when it holds exactly one scalar field, as protobuf encodes a oneof.
bool ReadValue(std::string_view bytes, WireValue* value) {
  ByteReader reader(bytes);
  WireField field;
  int fields = 0;
  WireField first;
  while (!reader.empty()) {
    if (!ReadWireField(reader, &field)) return false;
    if (fields++ == 0) first = field;
  }
  *value = WireValue();
  if (fields == 0) return true;
  if (fields == 1) {
    switch (first.number) {
      case kStringValue:
        if (first.wire_type != kWireLength) break;
        value->type = WireValue::Type::kString;
        value->string = first.bytes;
        return true;
      case kBoolValue:
        if (first.wire_type != kWireVarint) break;
        value->type = WireValue::Type::kBool;
        value->number = first.value != 0 ? 1 : 0;
        return true;
      case kIntValue:
        if (first.wire_type != kWireVarint) break;
        value->type = WireValue::Type::kInt;
        value->number = first.value;
        return true;
      case kDoubleValue:
        if (first.wire_type != kWireFixed64) break;
        value->type = WireValue::Type::kDouble;
        value->number = first.value;
        return true;
      default:
        break;
    }
  }
  value->type = WireValue::Type::kOther;
  value->serialized = bytes;
  return true;
}

bool ReadAttribute(std::string_view bytes, WireAttribute* attribute) {
  ByteReader reader(bytes);
  WireField field;
  attribute->key = {};
  attribute->has_value = false;
  attribute->value = WireValue();
  while (!reader.empty()) {
    if (!ReadWireField(reader, &field)) return false;
    if (field.wire_type != kWireLength) continue;  // unknown to KeyValue, which drops it
    if (field.number == kKeyValueKey) {
      attribute->key = field.bytes;
    } else if (field.number == kKeyValueValue) {
      // A second value would merge into the first, which a view cannot express.
      if (attribute->has_value) return false;
      attribute->has_value = true;
      if (!ReadValue(field.bytes, &attribute->value)) return false;
    }
  }
  return true;
}

// Reads one occurrence of the status; later ones override what they set, as parsing merges them.
bool ReadStatus(std::string_view bytes, WireSpan* span) {
  ByteReader reader(bytes);
  WireField field;
  while (!reader.empty()) {
    if (!ReadWireField(reader, &field)) return false;
    if (field.number == kStatusMessage && field.wire_type == kWireLength) {
      span->status_message = field.bytes;
    } else if (field.number == kStatusCode && field.wire_type == kWireVarint) {
      span->status_code = static_cast<int32_t>(field.value);
    }
  }
  return true;
}

}  // namespace

namespace internal {
bool ReadWireFieldSlow(ByteReader& reader, WireField* field) { return ReadField(reader, field, 0); }
}  // namespace internal

bool ReadWireSpan(std::string_view bytes, WireSpan* span) {
  span->trace_id = span->span_id = span->trace_state = span->parent_span_id = span->name = {};
  span->kind = 0;
  span->start_time_unix_nano = span->end_time_unix_nano = 0;
  span->attributes.clear();
  span->dropped_attributes_count = span->dropped_events_count = span->dropped_links_count = 0;
  span->events.clear();
  span->links.clear();
  span->status_message = {};
  span->status_code = 0;
  span->flags = 0;
  span->unknown_fields.clear();
  ByteReader reader(bytes);
  WireField field;
  while (!reader.empty()) {
    if (!ReadWireField(reader, &field)) return false;
    // A known number with another wire type is an unknown field to protobuf too.
    if (field.wire_type != SpanWireType(field.number)) {
      span->unknown_fields.push_back(field.raw);
      continue;
    }
    const auto u32 = static_cast<uint32_t>(field.value);
    switch (field.number) {
      case kTraceId:
        span->trace_id = field.bytes;
        break;
      case kSpanId:
        span->span_id = field.bytes;
        break;
      case kTraceState:
        span->trace_state = field.bytes;
        break;
      case kParentSpanId:
        span->parent_span_id = field.bytes;
        break;
      case kName:
        span->name = field.bytes;
        break;
      case kKind:
        span->kind = static_cast<int32_t>(field.value);
        break;
      case kStartTime:
        span->start_time_unix_nano = field.value;
        break;
      case kEndTime:
        span->end_time_unix_nano = field.value;
        break;
      case kAttributes:
        if (!ReadAttribute(field.bytes, &span->attributes.emplace_back())) return false;
        break;
      case kDroppedAttributes:
        span->dropped_attributes_count = u32;
        break;
      case kEvents:
        span->events.push_back(field.bytes);
        break;
      case kDroppedEvents:
        span->dropped_events_count = u32;
        break;
      case kLinks:
        span->links.push_back(field.bytes);
        break;
      case kDroppedLinks:
        span->dropped_links_count = u32;
        break;
      case kStatus:
        if (!ReadStatus(field.bytes, span)) return false;
        break;
      case kFlags:
        span->flags = u32;
        break;
    }
  }
  return true;
}

}  // namespace oriel::tracestore
