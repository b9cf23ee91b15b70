#include "tracestore/encoded_spans.h"

#include <cstring>

#include "fmt/format.h"
#include "google/protobuf/stubs/common.h"
#include "tracestore/span_validation.h"
#include "tracestore/span_wire.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {
namespace {

// One under protobuf's default recursion limit (100): a message nested as deep may not parse
// there.
constexpr int kMaxDepth = 99;

// The messages below a span, resource or scope whose encodings are checked field by field.
enum class Message {
  kResource,
  kScope,
  kEntityRef,
  kKeyValue,
  kAnyValue,
  kArrayValue,
  kKeyValueList,
  kEvent,
  kLink,
  kStatus,
};

enum class Content { kOther, kString, kMessage };
struct FieldContent {
  Content content = Content::kOther;
  Message message = Message::kKeyValue;
};

// What the length-delimited field `number` of `m` holds, as opentelemetry's .proto files (common,
// resource and trace v1) declare it; kOther for bytes and for numbers the message does not have
// (unknown fields, which protobuf keeps unread).
FieldContent LengthDelimited(Message m, uint32_t number) {
  constexpr FieldContent kString{Content::kString};
  constexpr FieldContent kOther{Content::kOther};
  auto message = [](Message inner) { return FieldContent{Content::kMessage, inner}; };
  switch (m) {
    case Message::kResource:
      if (number == 1) return message(Message::kKeyValue);
      if (number == 3) return message(Message::kEntityRef);
      return kOther;
    case Message::kScope:
      if (number == 1 || number == 2) return kString;
      if (number == 3) return message(Message::kKeyValue);
      return kOther;
    case Message::kEntityRef:
      return number >= 1 && number <= 4 ? kString : kOther;
    case Message::kKeyValue:
      if (number == 1) return kString;
      if (number == 2) return message(Message::kAnyValue);
      return kOther;
    case Message::kAnyValue:
      if (number == 1) return kString;
      if (number == 5) return message(Message::kArrayValue);
      if (number == 6) return message(Message::kKeyValueList);
      return kOther;
    case Message::kArrayValue:
      return number == 1 ? message(Message::kAnyValue) : kOther;
    case Message::kKeyValueList:
      return number == 1 ? message(Message::kKeyValue) : kOther;
    case Message::kEvent:
      if (number == 2) return kString;
      if (number == 3) return message(Message::kKeyValue);
      return kOther;
    case Message::kLink:
      if (number == 3) return kString;
      if (number == 4) return message(Message::kKeyValue);
      return kOther;
    case Message::kStatus:
      return number == 2 ? kString : kOther;
  }
  return kOther;
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads the next field as ReadWireField does, refusing what protobuf's parser may refuse although
// ReadWireField takes it, so that what passes here parses: a tag or length not in its shortest
// encoding, and groups (never part of OTLP).
bool ReadField(ByteReader& reader, WireField* field) {
  if (!ReadWireField(reader, field) || field->wire_type == kWireStartGroup) return false;
  // Most fields: a one-byte tag, and for a length-delimited field a one-byte length, which are
  // their shortest encodings.
  const auto* raw = reinterpret_cast<const unsigned char*>(field->raw.data());
  if (raw[0] < 0x80 && (field->wire_type != kWireLength || raw[1] < 0x80)) return true;
  const size_t tag_size = VarintSize(uint64_t{field->number} << 3 | field->wire_type);
  if ((static_cast<unsigned char>(field->raw[tag_size - 1]) & 0x80) != 0) return false;
  return field->wire_type != kWireLength ||
         field->raw.size() - field->bytes.size() == tag_size + VarintSize(field->bytes.size());
}

// Whether `s` is valid UTF-8, as protobuf checks its strings. OTLP's strings are nearly all ASCII,
// checked here eight bytes at a time without a call; protobuf's check runs past the first byte
// over 0x7f.
bool Utf8(std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
  for (; end - p >= 8; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    if ((word & 0x8080808080808080u) != 0) break;
  }
  for (; p < end; ++p) {
    if (static_cast<unsigned char>(*p) >= 0x80) {
      return google::protobuf::internal::IsStructurallyValidUTF8(p, static_cast<int>(end - p));
    }
  }
  return true;
}

// Whether protobuf parses `bytes` as a message `m` at nesting depth `depth`.
bool CheckMessage(std::string_view bytes, Message m, int depth) {
  if (depth > kMaxDepth) return false;
  ByteReader reader(bytes);
  WireField field;
  while (!reader.empty()) {
    if (!ReadField(reader, &field)) return false;
    if (field.wire_type != kWireLength) continue;
    const FieldContent c = LengthDelimited(m, field.number);
    if (c.content == Content::kString && !Utf8(field.bytes)) return false;
    if (c.content == Content::kMessage && !CheckMessage(field.bytes, c.message, depth + 1)) {
      return false;
    }
  }
  return true;
}

// Span field numbers (trace.proto).
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
  kEvents = 11,
  kLinks = 13,
  kStatus = 15,
};
constexpr uint32_t kStatusCode = 3;

// Reads the serialized Span `bytes` at `depth`: the last occurrence of a field wins, and the
// status code is the last one of every status occurrence (parsing merges them).
bool ReadSpan(std::string_view bytes, int depth, EncodedSpan* span) {
  if (depth > kMaxDepth) return false;
  *span = EncodedSpan{.bytes = bytes};
  ByteReader reader(bytes);
  WireField field;
  while (!reader.empty()) {
    if (!ReadField(reader, &field)) return false;
    switch (field.wire_type) {
      case kWireLength:
        switch (field.number) {
          case kTraceId:
            span->trace_id = field.bytes;
            break;
          case kSpanId:
            span->span_id = field.bytes;
            break;
          case kParentSpanId:
            span->parent_span_id = field.bytes;
            break;
          case kTraceState:
            if (!Utf8(field.bytes)) return false;
            break;
          case kName:
            if (!Utf8(field.bytes)) return false;
            span->name = field.bytes;
            break;
          case kAttributes:
            if (!CheckMessage(field.bytes, Message::kKeyValue, depth + 1)) return false;
            break;
          case kEvents:
            if (!CheckMessage(field.bytes, Message::kEvent, depth + 1)) return false;
            break;
          case kLinks:
            if (!CheckMessage(field.bytes, Message::kLink, depth + 1)) return false;
            break;
          case kStatus: {
            if (!CheckMessage(field.bytes, Message::kStatus, depth + 1)) return false;
            ByteReader status(field.bytes);
            WireField f;
            while (!status.empty()) {
              if (!ReadField(status, &f)) return false;
              if (f.number == kStatusCode && f.wire_type == kWireVarint) {
                span->status_code = static_cast<int32_t>(f.value);
              }
            }
            break;
          }
          default:
            break;
        }
        break;
      case kWireVarint:
        if (field.number == kKind) span->kind = static_cast<int32_t>(field.value);
        break;
      case kWireFixed64:
        if (field.number == kStartTime) span->start_time_unix_nano = field.value;
        if (field.number == kEndTime) span->end_time_unix_nano = field.value;
        break;
      default:
        break;
    }
  }
  span->valid = ValidateSpan(*span).empty();
  return true;
}

// ResourceSpans and ScopeSpans field numbers.
constexpr uint32_t kResourceField = 1;
constexpr uint32_t kScopeSpansField = 2;
constexpr uint32_t kScopeField = 1;
constexpr uint32_t kSpansField = 2;
constexpr uint32_t kSchemaUrlField = 3;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("malformed {} encoding", what));
}

absl::Status ReadScopeSpans(std::string_view bytes, int depth, EncodedScopeSpans* out) {
  if (depth > kMaxDepth) return Malformed("ScopeSpans");
  ByteReader reader(bytes);
  WireField field;
  bool has_scope = false;
  while (!reader.empty()) {
    if (!ReadField(reader, &field)) return Malformed("ScopeSpans");
    if (field.wire_type != kWireLength) continue;
    switch (field.number) {
      case kScopeField:
        if (has_scope) return absl::InvalidArgumentError("ScopeSpans repeats its scope");
        has_scope = true;
        if (!CheckMessage(field.bytes, Message::kScope, depth + 1)) {
          return Malformed("InstrumentationScope");
        }
        out->scope = field.bytes;
        break;
      case kSpansField:
        if (!ReadSpan(field.bytes, depth + 1, &out->spans.emplace_back())) {
          return Malformed("Span");
        }
        break;
      case kSchemaUrlField:
        if (!Utf8(field.bytes)) return Malformed("ScopeSpans");
        out->schema_url = field.bytes;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadEncodedResourceSpans(std::string_view bytes, EncodedResourceSpans* out,
                                      int depth) {
  *out = EncodedResourceSpans{.bytes = bytes};
  if (depth > kMaxDepth) return Malformed("ResourceSpans");
  ByteReader reader(bytes);
  WireField field;
  bool has_resource = false;
  while (!reader.empty()) {
    if (!ReadField(reader, &field)) return Malformed("ResourceSpans");
    if (field.wire_type != kWireLength) continue;
    switch (field.number) {
      case kResourceField:
        if (has_resource) return absl::InvalidArgumentError("ResourceSpans repeats its resource");
        has_resource = true;
        if (!CheckMessage(field.bytes, Message::kResource, depth + 1)) {
          return Malformed("Resource");
        }
        out->resource = field.bytes;
        break;
      case kScopeSpansField: {
        absl::Status st = ReadScopeSpans(field.bytes, depth + 1, &out->scopes.emplace_back());
        if (!st.ok()) return st;
        break;
      }
      case kSchemaUrlField:
        if (!Utf8(field.bytes)) return Malformed("ResourceSpans");
        out->schema_url = field.bytes;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status ReadEncodedTracesData(std::string_view bytes, std::vector<EncodedResourceSpans>* out) {
  out->clear();
  ByteReader reader(bytes);
  WireField field;
  while (!reader.empty()) {
    if (!ReadField(reader, &field)) return Malformed("ExportTraceServiceRequest");
    if (field.number != 1 || field.wire_type != kWireLength) continue;
    absl::Status st = ReadEncodedResourceSpans(field.bytes, &out->emplace_back(), 1);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("resource_spans {}: {}", out->size() - 1,
                      std::string_view(st.message().data(), st.message().size())));
    }
  }
  return absl::OkStatus();
}

void PutEncodedField(std::string& out, uint32_t number, std::string_view bytes) {
  PutVarint64(out, uint64_t{number} << 3 | kWireLength);
  PutLengthPrefixed(out, bytes);
}

}  // namespace oriel::tracestore
