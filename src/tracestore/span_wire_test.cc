#include "tracestore/span_wire.h"

#include <cstring>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::trace::v1::Span;

Span FullSpan() {
  Span span;
  span.set_trace_id(std::string(16, '\x01'));
  span.set_span_id(std::string(8, '\x02'));
  span.set_trace_state("k=v");
  span.set_parent_span_id(std::string(8, '\x03'));
  span.set_name("GET /orders/{id}");
  span.set_kind(Span::SPAN_KIND_CLIENT);
  span.set_start_time_unix_nano(1'700'000'000'000'000'000);
  span.set_end_time_unix_nano(1'700'000'000'000'000'999);
  auto add = [&](std::string key) {
    auto* kv = span.add_attributes();
    kv->set_key(std::move(key));
    return kv;
  };
  add("s")->mutable_value()->set_string_value("text");
  add("empty string")->mutable_value()->set_string_value("");
  add("t")->mutable_value()->set_bool_value(true);
  add("f")->mutable_value()->set_bool_value(false);
  add("i")->mutable_value()->set_int_value(-5);
  add("d")->mutable_value()->set_double_value(2.5);
  add("arr")->mutable_value()->mutable_array_value()->add_values()->set_int_value(1);
  add("bytes")->mutable_value()->set_bytes_value("\x01\x02");
  add("no value");
  add("empty")->mutable_value();
  span.set_dropped_attributes_count(1);
  span.add_events()->set_name("e1");
  span.add_events()->set_name("e2");
  span.set_dropped_events_count(2);
  span.add_links()->set_trace_state("l");
  span.set_dropped_links_count(3);
  span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  span.mutable_status()->set_message("boom");
  span.set_flags(0x101);
  span.GetReflection()->MutableUnknownFields(&span)->AddVarint(100, 7);
  span.GetReflection()->MutableUnknownFields(&span)->AddLengthDelimited(101, "later");
  return span;
}

// What protobuf keeps of the unknown fields of `span`, encoded.
std::string UnknownBytes(const Span& span) {
  std::string out;
  span.GetReflection()->GetUnknownFields(span).SerializeToString(&out);
  return out;
}

std::string Joined(const WireSpan& wire) {
  std::string out;
  for (std::string_view field : wire.unknown_fields) out.append(field);
  return out;
}

// `wire` holds what protobuf parses of `bytes`, field by field.
void ExpectSameAsProtobuf(std::string_view bytes, const WireSpan& wire) {
  Span span;
  ASSERT_TRUE(span.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  EXPECT_EQ(wire.trace_id, span.trace_id());
  EXPECT_EQ(wire.span_id, span.span_id());
  EXPECT_EQ(wire.trace_state, span.trace_state());
  EXPECT_EQ(wire.parent_span_id, span.parent_span_id());
  EXPECT_EQ(wire.name, span.name());
  EXPECT_EQ(wire.kind, span.kind());
  EXPECT_EQ(wire.start_time_unix_nano, span.start_time_unix_nano());
  EXPECT_EQ(wire.end_time_unix_nano, span.end_time_unix_nano());
  EXPECT_EQ(wire.dropped_attributes_count, span.dropped_attributes_count());
  EXPECT_EQ(wire.dropped_events_count, span.dropped_events_count());
  EXPECT_EQ(wire.dropped_links_count, span.dropped_links_count());
  EXPECT_EQ(wire.status_code, span.status().code());
  EXPECT_EQ(wire.status_message, span.status().message());
  EXPECT_EQ(wire.flags, span.flags());
  ASSERT_EQ(wire.events.size(), static_cast<size_t>(span.events_size()));
  for (int i = 0; i < span.events_size(); ++i) {
    EXPECT_EQ(wire.events[i], span.events(i).SerializeAsString());
  }
  ASSERT_EQ(wire.links.size(), static_cast<size_t>(span.links_size()));
  for (int i = 0; i < span.links_size(); ++i) {
    EXPECT_EQ(wire.links[i], span.links(i).SerializeAsString());
  }
  EXPECT_EQ(Joined(wire), UnknownBytes(span));
  ASSERT_EQ(wire.attributes.size(), static_cast<size_t>(span.attributes_size()));
  for (int i = 0; i < span.attributes_size(); ++i) {
    SCOPED_TRACE(span.attributes(i).key());
    const WireAttribute& a = wire.attributes[i];
    EXPECT_EQ(a.key, span.attributes(i).key());
    EXPECT_EQ(a.has_value, span.attributes(i).has_value());
    const AnyValue& v = span.attributes(i).value();
    const bool unknown = !v.GetReflection()->GetUnknownFields(v).empty();
    switch (a.value.type) {
      case WireValue::Type::kEmpty:
        EXPECT_EQ(v.value_case(), AnyValue::VALUE_NOT_SET);
        EXPECT_FALSE(unknown);
        break;
      case WireValue::Type::kString:
        EXPECT_EQ(v.value_case(), AnyValue::kStringValue);
        EXPECT_EQ(a.value.string, v.string_value());
        EXPECT_FALSE(unknown);
        break;
      case WireValue::Type::kBool:
        EXPECT_EQ(v.value_case(), AnyValue::kBoolValue);
        EXPECT_EQ(a.value.number, v.bool_value() ? 1u : 0u);
        break;
      case WireValue::Type::kInt:
        EXPECT_EQ(v.value_case(), AnyValue::kIntValue);
        EXPECT_EQ(static_cast<int64_t>(a.value.number), v.int_value());
        break;
      case WireValue::Type::kDouble: {
        EXPECT_EQ(v.value_case(), AnyValue::kDoubleValue);
        double d;
        std::memcpy(&d, &a.value.number, sizeof(d));
        EXPECT_EQ(d, v.double_value());
        break;
      }
      case WireValue::Type::kOther: {
        AnyValue back;
        ASSERT_TRUE(back.ParseFromArray(a.value.serialized.data(),
                                        static_cast<int>(a.value.serialized.size())));
        EXPECT_EQ(back.SerializeAsString(), v.SerializeAsString());
        break;
      }
    }
  }
}

std::string Tag(uint64_t field, uint32_t wire_type) {
  std::string out;
  PutVarint64(out, field << 3 | wire_type);
  return out;
}

std::string LengthField(uint64_t field, std::string_view bytes) {
  std::string out = Tag(field, kWireLength);
  PutLengthPrefixed(out, bytes);
  return out;
}

std::string VarintField(uint64_t field, uint64_t value) {
  std::string out = Tag(field, kWireVarint);
  PutVarint64(out, value);
  return out;
}

TEST(SpanWireTest, ReadsProtobufsOwnEncodingAsProtobufParsesIt) {
  const std::string bytes = FullSpan().SerializeAsString();
  WireSpan wire;
  ASSERT_TRUE(ReadWireSpan(bytes, &wire));
  ExpectSameAsProtobuf(bytes, wire);
  EXPECT_EQ(wire.attributes.size(), 10u);
  EXPECT_EQ(wire.attributes[0].value.type, WireValue::Type::kString);
  EXPECT_EQ(wire.attributes[1].value.type, WireValue::Type::kString);
  EXPECT_EQ(wire.attributes[2].value.type, WireValue::Type::kBool);
  EXPECT_EQ(wire.attributes[4].value.type, WireValue::Type::kInt);
  EXPECT_EQ(wire.attributes[5].value.type, WireValue::Type::kDouble);
  EXPECT_EQ(wire.attributes[6].value.type, WireValue::Type::kOther);
  EXPECT_EQ(wire.attributes[7].value.type, WireValue::Type::kOther);
  EXPECT_FALSE(wire.attributes[8].has_value);
  EXPECT_EQ(wire.attributes[9].value.type, WireValue::Type::kEmpty);
  ASSERT_EQ(wire.unknown_fields.size(), 2u);

  // Reading again into the same WireSpan leaves nothing of the previous span.
  ASSERT_TRUE(ReadWireSpan(Span().SerializeAsString(), &wire));
  ExpectSameAsProtobuf("", wire);
}

TEST(SpanWireTest, ReadsOtherEncodingsAsProtobufParsesThem) {
  std::string status_code = VarintField(3, 2);
  std::string status_message = LengthField(2, "first");
  AnyValue future;
  future.set_int_value(4);
  future.GetReflection()->MutableUnknownFields(&future)->AddVarint(50, 1);
  std::string value_with_unknown = LengthField(1, "k") + LengthField(2, future.SerializeAsString());
  const std::string cases[] = {
      // Out of order, a scalar twice (the last wins), the status twice (merged).
      LengthField(5, "late name") + LengthField(1, std::string(16, 'a')) + VarintField(6, 2) +
          LengthField(5, "name") + LengthField(15, status_code) + VarintField(6, 3) +
          LengthField(15, LengthField(2, "second")) + LengthField(15, status_message),
      // Known numbers with another wire type are unknown fields; so is a group, kept whole.
      VarintField(5, 9) + LengthField(7, "12345678") + Tag(40, kWireStartGroup) +
          VarintField(1, 5) + Tag(41, kWireStartGroup) + Tag(41, kWireEndGroup) +
          Tag(40, kWireEndGroup) + LengthField(5, "n"),
      // Enum and count varints past 32 bits are truncated.
      VarintField(6, (uint64_t{1} << 40) + 2) + VarintField(10, (uint64_t{1} << 33) + 5),
      // Values that are not one scalar are kept serialized; a KeyValue's unknown field is dropped.
      LengthField(9, value_with_unknown) +
          LengthField(
              9, LengthField(1, "two") + LengthField(2, VarintField(3, 1) + VarintField(3, 2))) +
          LengthField(9, LengthField(1, "wrong type") + LengthField(2, LengthField(3, "x"))) +
          LengthField(
              9, VarintField(7, 1) + LengthField(1, "bool") + LengthField(2, VarintField(2, 300))),
  };
  for (const std::string& bytes : cases) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    WireSpan wire;
    ASSERT_TRUE(ReadWireSpan(bytes, &wire));
    ExpectSameAsProtobuf(bytes, wire);
  }
}

TEST(SpanWireTest, RefusesMalformedBytesAndMergedValues) {
  const std::string good = FullSpan().SerializeAsString();
  WireSpan wire;
  for (size_t n = 1; n < good.size(); ++n) {
    Span span;
    // Every cut that protobuf refuses is refused here too.
    if (!span.ParseFromString(good.substr(0, n))) {
      EXPECT_FALSE(ReadWireSpan(good.substr(0, n), &wire)) << n;
    }
  }
  const std::string malformed[] = {
      VarintField(0, 1),                                             // field number 0
      Tag(5, kWireEndGroup),                                         // an end without a group
      Tag(5, kWireStartGroup) + VarintField(1, 1),                   // a group never ended
      Tag(5, kWireStartGroup) + Tag(6, kWireEndGroup),               // ended by another number
      Tag(5, 6),                                                     // no such wire type
      LengthField(9, LengthField(2, Tag(1, kWireLength) + "\x05")),  // a truncated value
  };
  for (const std::string& bytes : malformed) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    Span span;
    EXPECT_FALSE(span.ParseFromString(bytes));
    EXPECT_FALSE(ReadWireSpan(bytes, &wire));
  }
  // Protobuf merges the two values of a KeyValue; a view of one cannot say that.
  const std::string merged =
      LengthField(9, LengthField(1, "k") + LengthField(2, VarintField(3, 1)) +
                         LengthField(2, LengthField(5, "")));
  Span span;
  EXPECT_TRUE(span.ParseFromString(merged));
  EXPECT_FALSE(ReadWireSpan(merged, &wire));
  // Nesting deeper than protobuf parses.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += Tag(40, kWireStartGroup);
  for (int i = 0; i < 200; ++i) deep += Tag(40, kWireEndGroup);
  EXPECT_FALSE(span.ParseFromString(deep));
  EXPECT_FALSE(ReadWireSpan(deep, &wire));
}

TEST(SpanWireTest, ReadsFieldsOneByOne) {
  const std::string bytes = VarintField(3, 150) + LengthField(2, "ab") + Tag(1, kWireFixed32) +
                            std::string("\x01\x00\x00\x00", 4);
  ByteReader reader(bytes);
  WireField field;
  ASSERT_TRUE(ReadWireField(reader, &field));
  EXPECT_EQ(field.number, 3u);
  EXPECT_EQ(field.value, 150u);
  EXPECT_EQ(field.raw, VarintField(3, 150));
  ASSERT_TRUE(ReadWireField(reader, &field));
  EXPECT_EQ(field.bytes, "ab");
  ASSERT_TRUE(ReadWireField(reader, &field));
  EXPECT_EQ(field.wire_type, kWireFixed32);
  EXPECT_EQ(field.value, 1u);
  EXPECT_TRUE(reader.empty());
}

// The inline path of ReadWireField reads what the general one reads, field by field, on random
// encodings: mostly the short fields it takes, with long tags, long lengths, truncations, groups
// and bad wire types mixed in.
TEST(SpanWireTest, InlineAndGeneralFieldReadersAgree) {
  std::mt19937_64 rng(42);
  auto uniform = [&](uint64_t n) { return rng() % n; };
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    const int fields = static_cast<int>(uniform(6));
    for (int f = 0; f < fields; ++f) {
      const uint32_t number = uniform(4) == 0 ? static_cast<uint32_t>(uniform(3000))
                                              : static_cast<uint32_t>(uniform(16));
      const uint32_t type = static_cast<uint32_t>(uniform(8));
      bytes += Tag(number, type);
      switch (type) {
        case kWireVarint: {
          const uint64_t v = uniform(3) == 0 ? rng() : uniform(128);
          PutVarint64(bytes, v);
          break;
        }
        case kWireLength: {
          const size_t n = uniform(4) == 0 ? uniform(300) : uniform(128);
          PutVarint64(bytes, n);
          for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(rng());
          break;
        }
        default:  // fixed values, groups' ends and bad types: a few raw bytes
          for (uint64_t i = uniform(10); i > 0; --i) bytes += static_cast<char>(rng());
          break;
      }
    }
    if (!bytes.empty() && uniform(3) == 0) bytes.resize(uniform(bytes.size()));
    ByteReader fast(bytes);
    ByteReader slow(bytes);
    while (!fast.empty() || !slow.empty()) {
      WireField a;
      WireField b;
      const bool read_fast = ReadWireField(fast, &a);
      const bool read_slow = internal::ReadWireFieldSlow(slow, &b);
      ASSERT_EQ(read_fast, read_slow) << "round " << round;
      if (!read_fast) break;
      ASSERT_EQ(a.number, b.number);
      ASSERT_EQ(a.wire_type, b.wire_type);
      ASSERT_EQ(a.value, b.value);
      ASSERT_EQ(a.bytes.data(), b.bytes.data());
      ASSERT_EQ(a.bytes.size(), b.bytes.size());
      ASSERT_EQ(a.raw.data(), b.raw.data());
      ASSERT_EQ(a.raw.size(), b.raw.size());
      ASSERT_EQ(fast.remaining(), slow.remaining());
    }
  }
}

}  // namespace
}  // namespace oriel::tracestore
