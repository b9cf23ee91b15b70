#include "tracestore/head_span.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

Span MakeTestSpan(int id, std::string_view name) {
  Span span;
  span.set_trace_id(std::string(16, '\x01'));
  span.set_span_id(std::string(8, static_cast<char>(id)));
  span.set_parent_span_id(std::string(8, '\x09'));
  span.set_name(std::string(name));
  span.set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  span.set_start_time_unix_nano(1000);
  span.set_end_time_unix_nano(1500);
  auto* kv = span.add_attributes();
  kv->set_key("http.route");
  kv->mutable_value()->set_string_value("/orders/{id}");
  return span;
}

TEST(HeadSpanTest, SplitsTheSpansOfAResourceSpansInOrder) {
  ResourceSpans rs;
  rs.mutable_resource()->add_attributes()->set_key("service.name");
  rs.set_schema_url("https://example.com/schema");
  for (int s = 0; s < 3; ++s) {
    auto* ss = rs.add_scope_spans();
    ss->mutable_scope()->set_name("scope" + std::to_string(s));
    for (int i = 0; i < s; ++i) *ss->add_spans() = MakeTestSpan(10 * s + i, "op");
  }
  const std::string serialized = rs.SerializeAsString();
  std::vector<std::string_view> spans;
  ASSERT_TRUE(SplitSerializedSpans(serialized, &spans).ok());
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0], rs.scope_spans(1).spans(0).SerializeAsString());
  EXPECT_EQ(spans[1], rs.scope_spans(2).spans(0).SerializeAsString());
  EXPECT_EQ(spans[2], rs.scope_spans(2).spans(1).SerializeAsString());
}

TEST(HeadSpanTest, RejectsMalformedEncodings) {
  ResourceSpans rs;
  *rs.add_scope_spans()->add_spans() = MakeTestSpan(1, "op");
  const std::string serialized = rs.SerializeAsString();
  std::vector<std::string_view> spans;
  EXPECT_FALSE(SplitSerializedSpans(serialized.substr(0, serialized.size() - 3), &spans).ok());
  spans.clear();
  EXPECT_FALSE(SplitSerializedSpans(std::string("\x13", 1), &spans).ok());  // a group
}

TEST(HeadSpanTest, KeepsIndexFieldsAndParsesBack) {
  const Span span = MakeTestSpan(7, "GET /orders/{id} with a name past the inline capacity");
  auto resource = MakeResourceEntry({}, "");
  auto scope = MakeScopeEntry({}, "");
  const HeadSpan head = MakeHeadSpan(resource, scope, span, span.SerializeAsString());
  EXPECT_EQ(head.span_id, span.span_id());
  EXPECT_EQ(head.parent_span_id, span.parent_span_id());
  EXPECT_EQ(head.name(), span.name());
  EXPECT_EQ(head.start, 1000);
  EXPECT_EQ(head.end, 1500);
  EXPECT_EQ(head.kind, Span::SPAN_KIND_SERVER);
  StoredSpan parsed;
  ASSERT_TRUE(ParseHeadSpan(head, &parsed));
  EXPECT_EQ(parsed.span.SerializeAsString(), span.SerializeAsString());
  EXPECT_EQ(parsed.resource, resource);
  // The bytes are the one heap buffer: the name is read from them, the 8-byte ids are inline.
  EXPECT_GE(HeadSpanHeapBytes(head), head.bytes.size());
  EXPECT_LT(HeadSpanHeapBytes(head), head.bytes.size() + 32);
  // A copy finds the name in its own bytes.
  HeadSpan copy = head;
  const HeadSpan moved = std::move(copy);
  EXPECT_EQ(moved.name(), span.name());
  Span unnamed = span;
  unnamed.clear_name();
  EXPECT_EQ(MakeHeadSpan(resource, scope, unnamed, unnamed.SerializeAsString()).name(), "");
  // Fields of a newer version, groups among them, do not hide the name.
  Span future = span;
  auto* unknown = future.GetReflection()->MutableUnknownFields(&future);
  unknown->AddGroup(1000)->AddVarint(1, 5);
  unknown->AddFixed64(1001, 9);
  EXPECT_EQ(MakeHeadSpan(resource, scope, future, future.SerializeAsString()).name(), span.name());
  // A name given twice: parsing keeps the last one, and so does the head span.
  Span first = span;
  first.set_name("first");
  const std::string twice = first.SerializeAsString() + span.SerializeAsString();
  Span last_wins;
  ASSERT_TRUE(last_wins.ParseFromString(twice));
  const HeadSpan repeated = MakeHeadSpan(resource, scope, last_wins, twice);
  EXPECT_EQ(repeated.name(), span.name());
}

TEST(HeadSpanTest, MatchesQueriesAsSpanMatches) {
  const Span span = MakeTestSpan(7, "op");
  auto resource = MakeResourceEntry({}, "");
  auto scope = MakeScopeEntry({}, "");
  const HeadSpan head = MakeHeadSpan(resource, scope, span, span.SerializeAsString());
  HeadMatchScratch scratch;
  EXPECT_TRUE(HeadSpanMatches({.service = "s"}, head, &scratch));
  EXPECT_TRUE(HeadSpanMatches({.service = "s", .operation = "op"}, head, &scratch));
  EXPECT_FALSE(HeadSpanMatches({.service = "s", .operation = "other"}, head, &scratch));
  EXPECT_FALSE(HeadSpanMatches({.service = "s", .span_kind = 3}, head, &scratch));
  EXPECT_TRUE(HeadSpanMatches({.service = "s", .min_duration_nano = 500}, head, &scratch));
  EXPECT_FALSE(HeadSpanMatches({.service = "s", .min_duration_nano = 501}, head, &scratch));
  EXPECT_FALSE(HeadSpanMatches({.service = "s", .max_duration_nano = 499}, head, &scratch));
  EXPECT_TRUE(
      HeadSpanMatches({.service = "s", .tags = {{"http.route", "/orders/{id}"}}}, head, &scratch));
  EXPECT_FALSE(HeadSpanMatches({.service = "s", .tags = {{"http.route", "/x"}}}, head, &scratch));
  EXPECT_TRUE(HeadSpanMatches({.service = "s", .tags = {{"span.kind", "server"}}}, head, &scratch));
}

}  // namespace
}  // namespace oriel::tracestore
