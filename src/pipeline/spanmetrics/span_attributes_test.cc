// SpanAttributes gives the values that parsing the span gives, read in place or decoded.
#include "pipeline/spanmetrics/span_attributes.h"

#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "pipeline/spanmetrics/attributes.h"
#include "pipeline/spanmetrics/test_spans.h"

namespace oriel::pipeline::spanmetrics {
namespace {

using namespace testing;  // NOLINT: test helpers
using google::protobuf::util::MessageDifferencer;
namespace common = opentelemetry::proto::common::v1;

// A length-delimited field (numbers under 16).
std::string Field(int number, const std::string& payload) {
  std::string out(1, static_cast<char>(number << 3 | 2));
  for (size_t n = payload.size();; n >>= 7) {
    out += static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    if (n < 0x80) break;
  }
  return out + payload;
}

std::string Attribute(const std::string& key, const std::string& value) {
  return Field(1, key) + Field(2, Field(1, value));
}

// Every key of `keys` looked up in `bytes` (a serialized Span) read in place and decoded.
void ExpectSameAsParsed(const std::string& bytes, const std::vector<std::string>& keys) {
  trace::Span decoded;
  ASSERT_TRUE(decoded.ParseFromString(bytes));
  const SpanInput in_place{.valid = true, .bytes = bytes};
  const SpanInput parsed{.valid = true, .decoded = &decoded};
  google::protobuf::Arena arena;
  SpanAttributes a(arena, keys), b(arena, keys);
  a.Reset(in_place);
  b.Reset(parsed);
  // Backwards, so that a lookup does not depend on an earlier one.
  for (size_t i = keys.size(); i-- > 0;) {
    const common::AnyValue* x = a.Find(i);
    const common::AnyValue* y = FindAttribute(decoded.attributes(), keys[i]);
    ASSERT_EQ(x == nullptr, y == nullptr) << keys[i];
    ASSERT_EQ(b.Find(i), y) << keys[i];
    if (y != nullptr) {
      EXPECT_TRUE(MessageDifferencer::Equals(*x, *y)) << keys[i] << ": " << x->DebugString();
    }
  }
}

TEST(SpanAttributesTest, FindsTheFirstOfEachKeyInOneScan) {
  const std::string long_key(70, 'k');
  const std::string bytes = Field(5, "op") + Field(9, Attribute("a", "1")) +
                            Field(9, Attribute("bb", "2")) + Field(9, Attribute("a", "3")) +
                            Field(9, Attribute(long_key, "4")) +
                            Field(9, Attribute(long_key + "x", "5"));
  ExpectSameAsParsed(bytes, {"a", "bb", "a", "c", "", long_key, long_key + "x", "b"});
}

TEST(SpanAttributesTest, ReadsAttributesOfAnyLayout) {
  // Lengths of more than one byte (key, value, attribute), a value before its key, a field
  // after the value, and fields of the span between attributes.
  const std::string long_key(130, 'k');
  const std::string long_value(200, 'v');
  const std::string bytes = Field(9, Attribute(long_key, "1")) +
                            Field(9, Attribute("a", long_value)) + Field(5, "op") +
                            Field(9, Field(2, Field(1, "2")) + Field(1, "b")) +
                            Field(9, Attribute("c", "3") + std::string("\x18\x01", 2)) +
                            Field(9, Attribute(std::string(127, 'd'), std::string(120, 'w')));
  ExpectSameAsParsed(bytes, {long_key, "a", "b", "c", std::string(127, 'd'), "op"});
}

TEST(SpanAttributesTest, ValuesAreParsedAsTheSpanParsesThem) {
  // A value given twice is merged (the string stays, the second value being empty), a missing
  // value is empty, and of two keys in one attribute the last counts.
  const std::string merged = Field(1, "merged") + Field(2, Field(1, "s")) + Field(2, "");
  const std::string no_value = Field(1, "none");
  const std::string two_keys = Field(1, "first") + Field(1, "second") + Field(2, Field(1, "v"));
  const std::string bytes = Field(9, merged) + Field(9, no_value) + Field(9, two_keys);
  ExpectSameAsParsed(bytes, {"merged", "none", "first", "second"});
  google::protobuf::Arena arena;
  SpanAttributes attributes(arena, {"merged", "none"});
  const SpanInput span{.valid = true, .bytes = bytes};
  attributes.Reset(span);
  ASSERT_NE(attributes.Find(0), nullptr);
  EXPECT_EQ(attributes.Find(0)->string_value(), "s");
  ASSERT_NE(attributes.Find(1), nullptr);
  EXPECT_EQ(attributes.Find(1)->value_case(), common::AnyValue::VALUE_NOT_SET);
}

TEST(SpanAttributesTest, ResetStartsOver) {
  const std::string first = Field(9, Attribute("k", "1"));
  const std::string second = Field(9, Attribute("other", "x")) + Field(9, Attribute("k", "2"));
  google::protobuf::Arena arena;
  SpanAttributes attributes(arena, {"k", "other"});
  const SpanInput a{.valid = true, .bytes = first};
  const SpanInput b{.valid = true, .bytes = second};
  attributes.Reset(a);
  ASSERT_NE(attributes.Find(0), nullptr);
  EXPECT_EQ(attributes.Find(0)->string_value(), "1");
  EXPECT_EQ(attributes.Find(1), nullptr);
  attributes.Reset(b);
  ASSERT_NE(attributes.Find(0), nullptr);
  EXPECT_EQ(attributes.Find(0)->string_value(), "2");
  ASSERT_NE(attributes.Find(1), nullptr);
  EXPECT_EQ(attributes.Find(1)->string_value(), "x");
}

}  // namespace
}  // namespace oriel::pipeline::spanmetrics
