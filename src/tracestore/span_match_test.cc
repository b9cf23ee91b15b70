#include "tracestore/span_match.h"

#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::trace::v1::Span;

std::string StringForm(const AnyValue& v) {
  std::string out;
  if (!AttributeValueString(v, &out)) return "<none>";
  return out;
}

TEST(AttributeValueStringTest, FormsAsJaegerDoes) {
  AnyValue v;
  v.set_string_value("GET");
  EXPECT_EQ(StringForm(v), "GET");
  v.set_bool_value(true);
  EXPECT_EQ(StringForm(v), "true");
  v.set_bool_value(false);
  EXPECT_EQ(StringForm(v), "false");
  v.set_int_value(-123);
  EXPECT_EQ(StringForm(v), "-123");
  v.set_double_value(1.5);
  EXPECT_EQ(StringForm(v), "1.5");
  v.set_double_value(123);
  EXPECT_EQ(StringForm(v), "123");
  v.set_double_value(1e21);
  EXPECT_EQ(StringForm(v), "1e+21");
  v.set_bytes_value(std::string("\x01\xab", 2));
  EXPECT_EQ(StringForm(v), "01ab");
  v.mutable_array_value();
  EXPECT_EQ(StringForm(v), "<none>");
  EXPECT_EQ(StringForm(AnyValue()), "<none>");
}

TEST(SyntheticTagTest, KindAndStatus) {
  Span span;
  std::string out;
  EXPECT_FALSE(SyntheticTag(span, "span.kind", &out));
  span.set_kind(Span::SPAN_KIND_SERVER);
  ASSERT_TRUE(SyntheticTag(span, "span.kind", &out));
  EXPECT_EQ(out, "server");
  EXPECT_FALSE(SyntheticTag(span, "error", &out));
  span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  span.mutable_status()->set_message("boom");
  ASSERT_TRUE(SyntheticTag(span, "error", &out));
  EXPECT_EQ(out, "true");
  ASSERT_TRUE(SyntheticTag(span, "otel.status_code", &out));
  EXPECT_EQ(out, "ERROR");
  ASSERT_TRUE(SyntheticTag(span, "otel.status_description", &out));
  EXPECT_EQ(out, "boom");
  EXPECT_FALSE(SyntheticTag(span, "http.method", &out));
}

}  // namespace
}  // namespace oriel::tracestore
