// Reads an OTLP span in place from its protobuf encoding (the bytes the trace head keeps): the
// fields a segment block stores, as views into the bytes, without building a protobuf message,
// whose allocations and destruction cost more than the encoding that reads it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tracestore/varint.h"

namespace oriel::tracestore {

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
inline constexpr uint32_t kWireVarint = 0;
inline constexpr uint32_t kWireFixed64 = 1;
inline constexpr uint32_t kWireLength = 2;
inline constexpr uint32_t kWireStartGroup = 3;
inline constexpr uint32_t kWireEndGroup = 4;
inline constexpr uint32_t kWireFixed32 = 5;

// One field of a protobuf encoding.
struct WireField {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t value = 0;      // varint, fixed64 and fixed32 fields
  std::string_view bytes;  // the payload of a length-delimited field
  std::string_view raw;    // the whole field: tag and value (for a group, up to its end tag)
};

namespace internal {
// ReadWireField for every encoding (the general path).
bool ReadWireFieldSlow(ByteReader& reader, WireField* field);
}  // namespace internal

// Reads the next field of `reader` into `field`. False (the reader's position is then
// unspecified) when the input is not a well-formed field: a truncated value, field number 0, an
// end-group tag, a group nested deeper than protobuf parses. Groups (deprecated; never in OTLP) are
// skipped as a whole.
//
// Inline for the fields that make most of OTLP: a one-byte tag (field numbers 1 to 15) with a
// one-byte varint or length, or a fixed-width value. Every byte of a span is read through here
// (by the receiver's checks, the head and the flush), and a call per field cost more than its
// reading.
inline bool ReadWireField(ByteReader& reader, WireField* field) {
  const std::string_view in = reader.rest();
  if (in.size() >= 2) {
    const auto tag = static_cast<unsigned char>(in[0]);
    const auto next = static_cast<unsigned char>(in[1]);
    // Field number 0 (tags under 8) is an error, which the general path reports.
    if (tag >= 8 && tag < 0x80) {
      size_t size = 0;  // of the whole field; 0 when not handled here
      const uint32_t type = tag & 7u;
      field->value = 0;
      field->bytes = {};
      if (type == kWireLength) {
        if (next < 0x80 && next <= in.size() - 2) {
          size = 2 + next;
          field->bytes = in.substr(2, next);
        }
      } else if (type == kWireVarint) {
        if (next < 0x80) {
          size = 2;
          field->value = next;
        }
      } else if (type == kWireFixed64) {
        if (in.size() >= 9) {
          size = 9;
          field->value = DecodeFixed64(in.data() + 1);
        }
      } else if (type == kWireFixed32) {
        if (in.size() >= 5) {
          size = 5;
          field->value = DecodeFixed32(in.data() + 1);
        }
      }
      if (size != 0) {
        field->number = tag >> 3;
        field->wire_type = type;
        field->raw = in.substr(0, size);
        reader.Skip(size);
        return true;
      }
    }
  }
  return internal::ReadWireFieldSlow(reader, field);
}

// An attribute value, from a serialized AnyValue.
struct WireValue {
  enum class Type : uint8_t {
    kEmpty,   // no field set
    kString,  // `string`
    kBool,    // `number` is 0 or 1
    kInt,     // `number` is the int64 two's complement
    kDouble,  // `number` is the IEEE 754 bits
    // Anything else, kept as the serialized AnyValue in `serialized`: arrays, maps, bytes, and
    // values with fields this version does not know.
    kOther,
  };
  Type type = Type::kEmpty;
  std::string_view string;
  uint64_t number = 0;
  std::string_view serialized;
};

struct WireAttribute {
  std::string_view key;
  bool has_value = false;  // a KeyValue may leave its value unset
  WireValue value;
};

// The fields of a span. Repeated messages other than attributes are left serialized.
struct WireSpan {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view trace_state;
  std::string_view parent_span_id;
  std::string_view name;
  int32_t kind = 0;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  std::vector<WireAttribute> attributes;
  uint32_t dropped_attributes_count = 0;
  std::vector<std::string_view> events;  // each a serialized Span.Event
  uint32_t dropped_events_count = 0;
  std::vector<std::string_view> links;  // each a serialized Span.Link
  uint32_t dropped_links_count = 0;
  std::string_view status_message;
  int32_t status_code = 0;
  uint32_t flags = 0;
  // Fields this version does not know (and known numbers of another wire type), whole and in
  // order, as protobuf keeps them.
  std::vector<std::string_view> unknown_fields;
};

// Reads the serialized Span `bytes` into `span` (whose vectors keep their capacity), with
// protobuf's reading of them: the last of a repeated singular field wins. False when the bytes
// are malformed down to the attribute values, or repeat a message field that parsing would merge
// (a KeyValue's value): protobuf's own encoding never does; parse and re-serialize such bytes
// to read them here. Events and links are not looked into. The views point into `bytes`.
[[nodiscard]] bool ReadWireSpan(std::string_view bytes, WireSpan* span);

}  // namespace oriel::tracestore
