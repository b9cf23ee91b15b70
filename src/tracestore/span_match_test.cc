#include "tracestore/span_match.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"
#include "tracestore/segment_block.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
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

KeyValue* Add(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& key) {
  KeyValue* kv = attrs->Add();
  kv->set_key(key);
  return kv;
}

// The column check is compared with SpanMatches on random spans of a block: it never rejects a
// match, and on spans whose tags the columns hold (no events, no status message, no untyped
// values) it decides exactly, so that searches skip the spans that cannot match.
// WireSpanMayMatchTags, which the head uses, is checked on the same spans.
TEST(SpanColumnsMayMatchTagsTest, NeverRejectsAMatchAndDecidesWhatTheColumnsHold) {
  std::mt19937_64 rng(5);
  std::vector<std::shared_ptr<const ResourceEntry>> resources;
  for (int i = 0; i < 3; ++i) {
    opentelemetry::proto::resource::v1::Resource r;
    Add(r.mutable_attributes(), "service.name")->mutable_value()->set_string_value("svc");
    Add(r.mutable_attributes(), "region")->mutable_value()->set_string_value(i ? "eu" : "us");
    Add(r.mutable_attributes(), "tier")->mutable_value()->set_int_value(i);
    resources.push_back(MakeResourceEntry(std::move(r), ""));
  }
  std::vector<std::shared_ptr<const ScopeEntry>> scopes;
  for (const char* lib : {"a", "b"}) {
    opentelemetry::proto::common::v1::InstrumentationScope scope;
    scope.set_name("scope");
    Add(scope.mutable_attributes(), "lib")->mutable_value()->set_string_value(lib);
    scopes.push_back(MakeScopeEntry(std::move(scope), ""));
  }
  constexpr int kSpans = 400;
  std::vector<StoredSpan> spans(kSpans);
  BlockEncoder encoder;
  for (int i = 0; i < kSpans; ++i) {
    StoredSpan& s = spans[static_cast<size_t>(i)];
    s.resource = resources[rng() % resources.size()];
    s.scope = scopes[rng() % scopes.size()];
    Span& span = s.span;
    std::string id(16, '\0');
    id[14] = static_cast<char>(i >> 8);
    id[15] = static_cast<char>(i);
    span.set_trace_id(id);
    span.set_span_id(id.substr(8));
    span.set_name("op");
    span.set_kind(static_cast<Span::SpanKind>(rng() % 6));
    span.set_start_time_unix_nano(1000);
    span.set_end_time_unix_nano(2000);
    const auto code = rng() % 3;
    if (code != 0) {
      span.mutable_status()->set_code(
          static_cast<opentelemetry::proto::trace::v1::Status::StatusCode>(code));
    }
    if (rng() % 10 == 0) span.mutable_status()->set_message("boom");
    if (rng() % 5 == 0) {
      auto* event = span.add_events();
      event->set_name("exception");
      Add(event->mutable_attributes(), "ev")
          ->mutable_value()
          ->set_string_value(rng() % 2 ? "x" : "y");
    }
    auto* attrs = span.mutable_attributes();
    // Keys with values of several types, as clients send them.
    if (rng() % 2)
      Add(attrs, "k_str")->mutable_value()->set_string_value(std::string(1, 'a' + rng() % 3));
    if (rng() % 2)
      Add(attrs, "k_int")->mutable_value()->set_int_value(static_cast<int64_t>(rng() % 4));
    if (rng() % 2) Add(attrs, "k_bool")->mutable_value()->set_bool_value(rng() % 2);
    if (rng() % 2) Add(attrs, "k_dbl")->mutable_value()->set_double_value((rng() % 3) * 0.75 + 1.5);
    if (rng() % 4 == 0) Add(attrs, "k_none");
    if (rng() % 4 == 0) Add(attrs, "k_empty")->mutable_value();
    if (rng() % 4 == 0) Add(attrs, "k_bytes")->mutable_value()->set_bytes_value("\x01");
    if (rng() % 4 == 0) Add(attrs, "k_mixed")->mutable_value()->set_string_value("2");
    if (rng() % 4 == 0) Add(attrs, "k_mixed")->mutable_value()->set_int_value(2);
    const HeadSpan head = MakeHeadSpan(s.resource, s.scope, span, span.SerializeAsString());
    const HeadSpan* one[] = {&head};
    encoder.AddTrace(span.trace_id(), one);
  }
  const std::string body = encoder.Finish();
  auto all = DecodeBlock(body);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), size_t{kSpans});

  const std::vector<std::vector<std::pair<std::string, std::string>>> tag_sets = {
      {{"k_str", "a"}},
      {{"k_int", "2"}},
      {{"k_bool", "true"}},
      {{"k_dbl", "1.5"}},
      {{"k_dbl", "3"}},
      {{"k_bytes", "01"}},
      {{"k_none", ""}},
      {{"k_empty", ""}},
      {{"k_mixed", "2"}},
      {{"region", "eu"}},
      {{"tier", "1"}},
      {{"lib", "a"}},
      {{"ev", "x"}},
      {{"error", "true"}},
      {{"span.kind", "server"}},
      {{"otel.status_code", "OK"}},
      {{"otel.status_description", "boom"}},
      {{"missing", "1"}},
      {{"k_str", "b"}, {"k_int", "1"}},
  };
  size_t rejected = 0;
  size_t wire_rejected = 0;
  for (const auto& tags : tag_sets) {
    const TraceQuery query{.service = "svc", .tags = tags};
    struct Seen {
      bool may = false;
      bool decided = false;  // the columns hold everything the tags could match
    };
    std::vector<Seen> seen(kSpans);
    const SpanFilter filter = [&](const SpanColumns& c) {
      const auto attributes = c.attributes();
      const bool other = std::any_of(attributes.begin(), attributes.end(), [](const auto& a) {
        return a.type == ColumnAttribute::Type::kOther;
      });
      seen[c.trace] = {SpanColumnsMayMatchTags(query, c), !c.has_rest && !other};
      return false;
    };
    ASSERT_TRUE(DecodeBlock(body, std::nullopt, &filter).ok());
    for (int i = 0; i < kSpans; ++i) {
      const StoredSpan& s = (*all)[static_cast<size_t>(i)].spans.at(0);
      const bool match = SpanMatches(query, s.span, s.resource->resource, s.scope->scope);
      const Seen& got = seen[static_cast<size_t>(i)];
      if (match) {
        EXPECT_TRUE(got.may) << "span " << i << " of " << tags[0].first;
      }
      if (got.decided) {
        EXPECT_EQ(got.may, match) << "span " << i << " of " << tags[0].first;
      }
      rejected += !got.may;
      // The same span read in place, as the head reads it.
      WireSpan wire;
      const std::string bytes = s.span.SerializeAsString();
      ASSERT_TRUE(ReadWireSpan(bytes, &wire));
      const bool wire_may = WireSpanMayMatchTags(query, wire, s.resource->resource, s.scope->scope);
      if (match) EXPECT_TRUE(wire_may) << "span " << i << " of " << tags[0].first;
      const bool wire_decided =
          wire.events.empty() &&
          std::none_of(wire.attributes.begin(), wire.attributes.end(),
                       [](const auto& a) { return a.value.type == WireValue::Type::kOther; });
      if (wire_decided) EXPECT_EQ(wire_may, match) << "span " << i << " of " << tags[0].first;
      wire_rejected += !wire_may;
    }
  }
  EXPECT_GT(rejected, size_t{kSpans});
  EXPECT_GT(wire_rejected, size_t{kSpans});
}

}  // namespace
}  // namespace oriel::tracestore
