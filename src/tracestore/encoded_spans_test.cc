#include "tracestore/encoded_spans.h"

#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::tracestore {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

// A length-delimited field (numbers and lengths under 128 here).
std::string Field(int number, const std::string& payload) {
  return std::string(1, static_cast<char>(number << 3 | 2)) +
         std::string(1, static_cast<char>(payload.size())) + payload;
}

Span MakeSpan(char trace, char span, const std::string& name) {
  Span s;
  s.set_trace_id(std::string(15, '\0') + trace);
  s.set_span_id(std::string(7, '\0') + span);
  s.set_parent_span_id(std::string(7, '\0') + 'p');
  s.set_name(name);
  s.set_kind(Span::SPAN_KIND_CLIENT);
  s.set_start_time_unix_nano(100);
  s.set_end_time_unix_nano(250);
  s.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  auto* kv = s.add_attributes();
  kv->set_key("http.route");
  kv->mutable_value()->set_string_value("/cart");
  return s;
}

ResourceSpans TwoScopes() {
  ResourceSpans rs;
  auto* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("checkout");
  rs.set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  auto* a = rs.add_scope_spans();
  a->mutable_scope()->set_name("http");
  *a->add_spans() = MakeSpan('1', 'a', "GET /cart");
  *a->add_spans() = MakeSpan('1', 'b', "");  // invalid: no name
  auto* b = rs.add_scope_spans();
  b->set_schema_url("https://example.com/scope");
  *b->add_spans() = MakeSpan('2', 'c', "SELECT");
  return rs;
}

TEST(EncodedSpansTest, ReadsTheFieldsTheWritePathNeeds) {
  const ResourceSpans rs = TwoScopes();
  const std::string bytes = rs.SerializeAsString();
  EncodedResourceSpans read;
  ASSERT_TRUE(ReadEncodedResourceSpans(bytes, &read).ok());
  EXPECT_EQ(read.bytes, bytes);
  EXPECT_EQ(read.resource, rs.resource().SerializeAsString());
  EXPECT_EQ(read.schema_url, rs.schema_url());
  ASSERT_EQ(read.scopes.size(), 2u);
  EXPECT_EQ(read.scopes[0].scope, rs.scope_spans(0).scope().SerializeAsString());
  EXPECT_EQ(read.scopes[1].scope, "");
  EXPECT_EQ(read.scopes[1].schema_url, "https://example.com/scope");
  ASSERT_EQ(read.scopes[0].spans.size(), 2u);
  ASSERT_EQ(read.scopes[1].spans.size(), 1u);
  const EncodedSpan& first = read.scopes[0].spans[0];
  EXPECT_EQ(first.bytes, rs.scope_spans(0).spans(0).SerializeAsString());
  EXPECT_EQ(first.trace_id, rs.scope_spans(0).spans(0).trace_id());
  EXPECT_EQ(first.span_id, rs.scope_spans(0).spans(0).span_id());
  EXPECT_EQ(first.parent_span_id, rs.scope_spans(0).spans(0).parent_span_id());
  EXPECT_EQ(first.name, "GET /cart");
  EXPECT_EQ(first.kind, Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(first.status_code, 2);
  EXPECT_EQ(first.start_time_unix_nano, 100u);
  EXPECT_EQ(first.end_time_unix_nano, 250u);
  EXPECT_TRUE(first.valid);
  EXPECT_FALSE(read.scopes[0].spans[1].valid);
  EXPECT_TRUE(read.scopes[1].spans[0].valid);
}

TEST(EncodedSpansTest, LastOccurrenceWinsAndStatusesMerge) {
  Span span = MakeSpan('1', 'a', "first");
  std::string bytes = span.SerializeAsString();
  // A second name, and a second status without a code: parsing keeps "second" and code 2.
  bytes += Field(5, "second") + Field(15, Field(2, "msg"));
  EncodedResourceSpans read;
  ASSERT_TRUE(ReadEncodedResourceSpans(Field(2, Field(2, bytes)), &read).ok());
  Span parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  const EncodedSpan& e = read.scopes.at(0).spans.at(0);
  EXPECT_EQ(e.name, parsed.name());
  EXPECT_EQ(e.status_code, parsed.status().code());
  EXPECT_EQ(e.name, "second");
}

TEST(EncodedSpansTest, RefusesWhatProtobufRefuses) {
  const std::string good = TwoScopes().SerializeAsString();
  EncodedResourceSpans read;
  // Truncated.
  EXPECT_FALSE(ReadEncodedResourceSpans(good.substr(0, good.size() - 3), &read).ok());
  // An attribute value that is not UTF-8.
  Span bad_utf8 = MakeSpan('1', 'a', "x");
  bad_utf8.mutable_attributes(0)->mutable_value()->set_string_value("\xff\xfe");
  const std::string rs = Field(2, Field(2, bad_utf8.SerializeAsString()));
  ResourceSpans parsed;
  EXPECT_FALSE(parsed.ParseFromString(rs));
  absl::Status st = ReadEncodedResourceSpans(rs, &read);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "malformed Span encoding");
  // A malformed event, deep in a span that is otherwise fine.
  const std::string bad_event =
      Field(2, Field(2, MakeSpan('1', 'a', "x").SerializeAsString() + Field(11, "\x1a\x05\x0a")));
  EXPECT_FALSE(parsed.ParseFromString(bad_event));
  EXPECT_FALSE(ReadEncodedResourceSpans(bad_event, &read).ok());
}

TEST(EncodedSpansTest, RefusesEncodingsItCannotReadInPlace) {
  EncodedResourceSpans read;
  const std::string resource = Field(1, "");
  EXPECT_EQ(ReadEncodedResourceSpans(resource + resource, &read).message(),
            "ResourceSpans repeats its resource");
  // Field 2 (scope_spans) with its tag in two bytes instead of one.
  const std::string overlong = std::string("\x92\x00", 2) + std::string(1, '\0');
  ResourceSpans parsed;
  ASSERT_TRUE(parsed.ParseFromString(overlong));
  EXPECT_FALSE(ReadEncodedResourceSpans(overlong, &read).ok());
}

TEST(EncodedSpansTest, EncodeKeptSpansDropsTheOthers) {
  const ResourceSpans rs = TwoScopes();
  const std::string bytes = rs.SerializeAsString();
  EncodedResourceSpans read;
  ASSERT_TRUE(ReadEncodedResourceSpans(bytes, &read).ok());
  ResourceSpans expected = rs;
  expected.mutable_scope_spans(0)->mutable_spans()->DeleteSubrange(1, 1);
  ResourceSpans kept;
  ASSERT_TRUE(
      kept.ParseFromString(EncodeKeptSpans(read, [](const EncodedSpan& s) { return s.valid; })));
  EXPECT_TRUE(MessageDifferencer::Equals(kept, expected)) << kept.DebugString();
  EXPECT_EQ(EncodeKeptSpans(read, [](const EncodedSpan&) { return false; }), "");
}

}  // namespace
}  // namespace oriel::tracestore
