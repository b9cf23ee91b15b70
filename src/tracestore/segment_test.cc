#include "tracestore/segment.h"

#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "fmt/format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "storage/crc32c.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::trace::v1::Span;

std::string Bytes(uint64_t n, size_t size) {
  std::string id(size, '\x07');
  for (size_t i = 0; i < 8; ++i) id[size - 1 - i] = static_cast<char>(n >> (8 * i));
  return id;
}

// Traces 1..n, trace t with t + 2 spans: a chain of parents, the last span's parent outside the
// trace (kept as bytes), two resources and attributes repeating across spans.
std::vector<std::vector<StoredSpan>> MakeTraces(uint64_t n) {
  opentelemetry::proto::resource::v1::Resource r1, r2;
  auto* kv = r1.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("one");
  kv = r2.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("two");
  auto res1 = MakeResourceEntry(r1, "");
  auto res2 = MakeResourceEntry(r2, "https://schema");
  opentelemetry::proto::common::v1::InstrumentationScope sc;
  sc.set_name("scope");
  auto scope = MakeScopeEntry(sc, "");
  std::vector<std::vector<StoredSpan>> traces;
  for (uint64_t t = 1; t <= n; ++t) {
    auto& spans = traces.emplace_back();
    const uint64_t count = t + 2;
    for (uint64_t s = 1; s <= count; ++s) {
      StoredSpan& stored = spans.emplace_back();
      stored.resource = s % 2 == 0 ? res1 : res2;
      stored.scope = scope;
      Span& span = stored.span;
      span.set_trace_id(Bytes(t, 16));
      span.set_span_id(Bytes(t * 1000 + s, 8));
      if (s > 1 && s < count) span.set_parent_span_id(Bytes(t * 1000 + s - 1, 8));
      if (s == count) span.set_parent_span_id(Bytes(999'999, 8));
      span.set_name(fmt::format("op{}", s % 3));
      span.set_kind(static_cast<Span::SpanKind>(s % 6));
      // Start times going backwards too: deltas are signed.
      span.set_start_time_unix_nano(1'700'000'000'000'000'000 + (s % 2 == 0 ? s : -s) * 1000);
      span.set_end_time_unix_nano(span.start_time_unix_nano() + t * 7);
      auto* a = span.add_attributes();
      a->set_key("http.method");
      a->mutable_value()->set_string_value(s % 2 == 0 ? "GET" : "POST");
      a = span.add_attributes();
      a->set_key("n");
      a->mutable_value()->set_int_value(static_cast<int64_t>(t * s));
      if (s == 2)
        span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
      if (s == 3) span.add_events()->set_name("exception");
    }
  }
  return traces;
}

// The spans as the trace head holds them (serialized), the form segments are encoded from.
struct HeadTrace {
  std::vector<HeadSpan> spans;
  std::vector<const HeadSpan*> pointers;
};
HeadTrace ToHead(const std::vector<StoredSpan>& trace) {
  HeadTrace head;
  for (const StoredSpan& s : trace) {
    head.spans.push_back(MakeHeadSpan(s.resource, s.scope, s.span, s.span.SerializeAsString()));
  }
  for (const HeadSpan& s : head.spans) head.pointers.push_back(&s);
  return head;
}

std::string Encode(const std::vector<std::vector<StoredSpan>>& traces,
                   size_t group_bytes = kDefaultTraceGroupBytes) {
  BlockEncoder encoder(group_bytes);
  for (const auto& trace : traces) {
    const HeadTrace head = ToHead(trace);
    encoder.AddTrace(trace[0].span.trace_id(), head.pointers);
  }
  EXPECT_EQ(encoder.traces(), traces.size());
  return encoder.Finish();
}

// Every trace of `got` has the spans of the same trace of `want`, in order.
void ExpectSameSpans(const std::vector<DecodedTrace>& got,
                     const std::vector<std::vector<StoredSpan>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t t = 0; t < want.size(); ++t) {
    ASSERT_EQ(got[t].spans.size(), want[t].size());
    for (size_t s = 0; s < want[t].size(); ++s) {
      EXPECT_TRUE(MessageDifferencer::Equals(got[t].spans[s].span, want[t][s].span))
          << got[t].spans[s].span.DebugString() << "\nwant\n"
          << want[t][s].span.DebugString();
    }
  }
}

TEST(SegmentBlockTest, RoundTripsEveryTraceAndOneTrace) {
  // Trace 20 has 22 spans: its parents are looked up through the map.
  const auto traces = MakeTraces(20);
  const std::string body = Encode(traces);
  auto decoded = DecodeBlock(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), traces.size());
  for (size_t t = 0; t < traces.size(); ++t) {
    const DecodedTrace& got = (*decoded)[t];
    EXPECT_EQ(got.trace_id, traces[t][0].span.trace_id());
    ASSERT_EQ(got.spans.size(), traces[t].size());
    for (size_t s = 0; s < got.spans.size(); ++s) {
      EXPECT_TRUE(MessageDifferencer::Equals(got.spans[s].span, traces[t][s].span))
          << got.spans[s].span.DebugString() << "\nwant\n"
          << traces[t][s].span.DebugString();
      EXPECT_EQ(got.spans[s].resource->key, traces[t][s].resource->key);
      EXPECT_EQ(got.spans[s].resource->service, traces[t][s].resource->service);
      EXPECT_EQ(got.spans[s].scope->key, traces[t][s].scope->key);
    }
  }
  auto one = DecodeBlock(body, traces[6][0].span.trace_id());
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].spans.size(), 9u);
  auto none = DecodeBlock(body, Bytes(12345, 16));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Spans of every kind of value and time the typed columns and time references code apart.
std::vector<StoredSpan> OddSpans(uint64_t trace) {
  opentelemetry::proto::resource::v1::Resource r;
  auto res = MakeResourceEntry(r, "");
  auto scope = MakeScopeEntry({}, "");
  std::vector<StoredSpan> spans(6);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].resource = res;
    spans[i].scope = scope;
    Span& span = spans[i].span;
    span.set_trace_id(Bytes(trace, 16));
    span.set_span_id(Bytes(100 + i, 8));
    span.set_name("s");
  }
  // Children before their parent (span 3), siblings overlapping and starting before the parent,
  // an end before the start and times at the extremes: every reference is exact.
  spans[0].span.set_parent_span_id(Bytes(103, 8));
  spans[1].span.set_parent_span_id(Bytes(103, 8));
  spans[2].span.set_parent_span_id(Bytes(100, 8));
  spans[4].span.set_parent_span_id(Bytes(103, 8));
  spans[5].span.set_parent_span_id(Bytes(103, 8));
  const uint64_t times[6][2] = {{500, 900},  {400, 100}, {0, UINT64_MAX},
                                {450, 1000}, {460, 470}, {UINT64_MAX, 3}};
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].span.set_start_time_unix_nano(times[i][0]);
    spans[i].span.set_end_time_unix_nano(times[i][1]);
  }
  auto add = [](Span& span, std::string key) {
    auto* kv = span.add_attributes();
    kv->set_key(std::move(key));
    return kv;
  };
  Span& a = spans[0].span;
  add(a, "s")->mutable_value()->set_string_value("order-12345");
  add(a, "i")->mutable_value()->set_int_value(INT64_MIN);
  add(a, "d")->mutable_value()->set_double_value(-0.0);
  add(a, "b")->mutable_value()->set_bool_value(true);
  add(a, "none");
  add(a, "empty")->mutable_value();
  Span& b = spans[1].span;
  // Sharing a prefix with the previous value of the column, then shorter, then empty.
  add(b, "s")->mutable_value()->set_string_value("order-12399");
  add(b, "i")->mutable_value()->set_int_value(INT64_MAX);
  add(b, "d")->mutable_value()->set_double_value(1.5e300);
  add(b, "b")->mutable_value()->set_bool_value(false);
  add(b, "s")->mutable_value()->set_string_value("ord");
  add(b, "arr")->mutable_value()->mutable_array_value()->add_values()->set_int_value(7);
  auto* kvlist = add(b, "map")->mutable_value()->mutable_kvlist_value()->add_values();
  kvlist->set_key("k");
  kvlist->mutable_value()->set_string_value("v");
  add(b, "bytes")->mutable_value()->set_bytes_value(std::string("\0\xff", 2));
  Span& c = spans[2].span;
  add(c, "s")->mutable_value()->set_string_value("");
  // Types change within a column.
  add(c, "i")->mutable_value()->set_string_value("not a number");
  add(c, "b")->mutable_value()->set_int_value(-1);
  // An AnyValue field this version does not know (field 99, varint 5) survives.
  auto* future = add(c, "future")->mutable_value();
  future->set_string_value("x");
  future->GetReflection()->MutableUnknownFields(future)->AddVarint(99, 5);
  spans[3].span.GetReflection()->MutableUnknownFields(&spans[3].span)->AddVarint(1000, 1);
  spans[3].span.set_trace_state("k=v");
  spans[3].span.set_dropped_attributes_count(2);
  spans[3].span.set_flags(0x301);
  return spans;
}

TEST(SegmentBlockTest, RoundTripsAttributesInAnyOrderAndStringsSharingAnyPrefix) {
  // Keys in changing orders, subsets and repeats (the encoder guesses each span's next column
  // from the last span's), and strings sharing prefixes of every length with the column's
  // previous value (compared a word at a time).
  std::mt19937 rng(7);
  const std::string keys[] = {"http.method", "http.route", "k", "db.statement", "a.very.long.key.name"};
  auto random_string = [&](const std::string& previous) {
    std::string out = previous.substr(0, rng() % (previous.size() + 1));
    const size_t extra = rng() % 20;
    for (size_t i = 0; i < extra; ++i) out += static_cast<char>('a' + rng() % 3);
    return out;
  };
  opentelemetry::proto::resource::v1::Resource r;
  auto res = MakeResourceEntry(r, "");
  auto scope = MakeScopeEntry({}, "");
  std::vector<std::vector<StoredSpan>> traces(30);
  std::string previous;
  for (size_t t = 0; t < traces.size(); ++t) {
    for (size_t i = 0; i < 1 + rng() % 8; ++i) {
      StoredSpan& stored = traces[t].emplace_back();
      stored.resource = res;
      stored.scope = scope;
      Span& span = stored.span;
      span.set_trace_id(Bytes(t + 1, 16));
      span.set_span_id(Bytes(t * 100 + i + 1, 8));
      span.set_name("op");
      const size_t attributes = rng() % 7;
      for (size_t a = 0; a < attributes; ++a) {
        auto* kv = span.add_attributes();
        kv->set_key(keys[rng() % 5]);
        previous = random_string(previous);
        kv->mutable_value()->set_string_value(previous);
      }
    }
  }
  auto decoded = DecodeBlock(Encode(traces));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(*decoded, traces);
}

TEST(SegmentBlockTest, AReusedEncoderWritesWhatAFreshOneDoes) {
  // The encoder keeps its buffers' capacity across blocks; nothing else may carry over (the
  // dictionary, the value columns and their previous strings, the groups, the time bases).
  const auto traces = MakeTraces(40);
  const std::vector<std::vector<StoredSpan>> first(traces.begin(), traces.begin() + 25);
  const std::vector<std::vector<StoredSpan>> second(traces.begin() + 25, traces.end());
  BlockEncoder reused(/*group_bytes=*/2048);
  for (const auto& block : {first, second}) {
    for (const auto& trace : block) {
      const HeadTrace head = ToHead(trace);
      reused.AddTrace(trace[0].span.trace_id(), head.pointers);
    }
    std::string body;
    std::vector<size_t> sections;
    reused.FinishInto(&body, &sections);
    EXPECT_EQ(reused.traces(), 0u);
    EXPECT_EQ(reused.ApproximateBytes(), 0u);
    EXPECT_EQ(body, Encode(block, 2048));
  }
}

TEST(SegmentBlockTest, RoundTripsEveryValueTypeAndTimeReference) {
  // Twice: the second copy is coded against the first (previous strings, trace starts).
  const auto spans = OddSpans(9);
  const std::string body = Encode({MakeTraces(2)[1], spans, OddSpans(10)});
  auto decoded = DecodeBlock(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 3u);
  for (size_t t : {1, 2}) {
    ASSERT_EQ((*decoded)[t].spans.size(), spans.size());
    for (size_t s = 0; s < spans.size(); ++s) {
      Span want = spans[s].span;
      want.set_trace_id((*decoded)[t].trace_id);
      EXPECT_TRUE(MessageDifferencer::Equals((*decoded)[t].spans[s].span, want))
          << "trace " << t << " span " << s << "\n"
          << (*decoded)[t].spans[s].span.DebugString() << "\nwant\n"
          << want.DebugString();
    }
  }
  // Not only equal as messages: the unknown fields are there and -0.0 kept its sign.
  const Span& got = (*decoded)[2].spans[0].span;
  EXPECT_TRUE(std::signbit(got.attributes(2).value().double_value()));
  EXPECT_FALSE(got.attributes(4).has_value());
  EXPECT_TRUE(got.attributes(5).has_value());
  const Span& third = (*decoded)[2].spans[3].span;
  EXPECT_EQ(third.GetReflection()->GetUnknownFields(third).field_count(), 1);
  const auto& future = (*decoded)[2].spans[2].span.attributes(3).value();
  EXPECT_EQ(future.GetReflection()->GetUnknownFields(future).field_count(), 1);
}

// Spans of the block a version 1 encoder wrote (kept to check that old segments stay
// readable); the hex below is that block.
std::vector<std::vector<StoredSpan>> V1Traces() {
  opentelemetry::proto::resource::v1::Resource r;
  auto* kv = r.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("svc");
  auto res = MakeResourceEntry(r, "");
  opentelemetry::proto::common::v1::InstrumentationScope sc;
  sc.set_name("lib");
  auto scope = MakeScopeEntry(sc, "");
  std::vector<std::vector<StoredSpan>> traces(2);
  for (int t = 0; t < 2; ++t) {
    for (int s = 0; s < 3; ++s) {
      StoredSpan& stored = traces[t].emplace_back();
      stored.resource = res;
      stored.scope = scope;
      Span& span = stored.span;
      span.set_trace_id(std::string(15, 'a') + static_cast<char>('0' + t));
      span.set_span_id(std::string(7, 'b') + static_cast<char>('0' + s));
      if (s > 0) span.set_parent_span_id(std::string(7, 'b') + static_cast<char>('0' + s - 1));
      if (s == 2 && t == 1) span.set_parent_span_id("elsewhere");
      span.set_name(s == 0 ? "GET /" : "query");
      span.set_kind(static_cast<Span::SpanKind>(s + 1));
      span.set_start_time_unix_nano(1'700'000'000'000'000'000 + t * 1000 + s * 10);
      span.set_end_time_unix_nano(1'700'000'000'000'000'000 + t * 1000 + 500 - s);
      auto* a = span.add_attributes();
      a->set_key("http.route");
      a->mutable_value()->set_string_value(s == 0 ? "/" : "/items");
      a = span.add_attributes();
      a->set_key("n");
      a->mutable_value()->set_int_value(-t * 10 - s);
      a = span.add_attributes();
      a->set_key("ok");
      a->mutable_value()->set_bool_value(s != 1);
      span.add_attributes()->set_key("none");
      if (s == 1) {
        span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
        span.mutable_status()->set_message("boom");
        span.add_events()->set_name("exception");
      }
    }
  }
  return traces;
}

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The block of V1Traces() as the version 1 encoder wrote it.
constexpr std::string_view kV1BlockHex =
    "0102060818170a150a0c736572766963652e6e616d6512050a0373766306050a"
    "036c696205474554202f0a687474702e726f757465016e026f6b046e6f6e6505"
    "7175657279010001012261616161616161616161616161616130036161616161"
    "6161616161616161616131033062626262626262306262626262626231626262"
    "6262626232626262626262623062626262626262316262626262626232100002"
    "0300020109656c736577686572651b8080d0e2c6bfce972ff40314e90314de03"
    "a80ff40314e90314de0324020200000000070404000000070600000000020200"
    "0000000704040000000706000000001e04000102030400010203040001020304"
    "00010203040001020304000102033000155a0b1209657863657074696f6e7a06"
    "1204626f6f6d0000155a0b1209657863657074696f6e7a061204626f6f6d0004"
    "032c040a012f090a062f6974656d73090a062f6974656d73040a012f090a062f"
    "6974656d73090a062f6974656d73043f0318000c18ffffffffffffffffff010c"
    "18feffffffffffffffff010c18f6ffffffffffffffff010c18f5ffffffffffff"
    "ffff010c18f4ffffffffffffffff010512031001031000031001031001031000"
    "0310010606000000000000";

TEST(SegmentBlockTest, ReadsVersion1Blocks) {
  const std::string body = FromHex(kV1BlockHex);
  ASSERT_EQ(body[0], 1) << "a version 1 block";
  const auto want = V1Traces();
  auto decoded = DecodeBlock(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(*decoded, want);
  for (const DecodedTrace& t : *decoded) {
    for (const auto& span : t.spans) EXPECT_EQ(span.resource->service, "svc");
  }
  // Hostile variants of the old layout fail cleanly too.
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(DecodeBlock(std::string_view(body).substr(0, n)).ok()) << n;
  }
}

// A trace with what goes to the rest column (events, links, trace state, dropped counts, the
// status message, unknown fields), a resource equal to another one held apart, and a scope with
// a schema url.
std::vector<StoredSpan> RestSpans(uint64_t trace) {
  opentelemetry::proto::resource::v1::Resource r;
  auto* kv = r.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("one");
  // Equal in content to MakeTraces' first resource, but a separate entry.
  auto res = MakeResourceEntry(r, "");
  opentelemetry::proto::common::v1::InstrumentationScope sc;
  sc.set_name("lib");
  sc.set_version("1.2");
  auto scope = MakeScopeEntry(sc, "https://scope-schema");
  std::vector<StoredSpan> spans(4);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].resource = res;
    spans[i].scope = scope;
    Span& span = spans[i].span;
    span.set_trace_id(Bytes(trace, 16));
    span.set_span_id(Bytes(200 + i, 8));
    if (i > 0) span.set_parent_span_id(Bytes(200, 8));
    span.set_name(i == 0 ? "root" : "child");
    span.set_kind(Span::SPAN_KIND_SERVER);
    span.set_start_time_unix_nano(1'700'000'000'000'000'000 + i * 10);
    span.set_end_time_unix_nano(1'700'000'000'000'000'100 + i);
  }
  Span& a = spans[0].span;
  auto* event = a.add_events();
  event->set_time_unix_nano(1'700'000'000'000'000'050);
  event->set_name("exception");
  auto* event_kv = event->add_attributes();
  event_kv->set_key("exception.message");
  event_kv->mutable_value()->set_string_value("boom");
  event->set_dropped_attributes_count(1);
  a.set_dropped_events_count(3);
  a.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  a.mutable_status()->set_message("failed");
  Span& b = spans[1].span;
  auto* link = b.add_links();
  link->set_trace_id(Bytes(777, 16));
  link->set_span_id(Bytes(778, 8));
  link->set_trace_state("x=y");
  link->add_attributes()->set_key("link.none");
  link->set_flags(1);
  b.set_dropped_links_count(5);
  b.set_trace_state("vendor=1");
  Span& c = spans[2].span;
  c.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
  c.GetReflection()->MutableUnknownFields(&c)->AddLengthDelimited(77, "future");
  c.GetReflection()->MutableUnknownFields(&c)->AddFixed32(78, 9);
  spans[3].span.set_dropped_attributes_count(7);
  return spans;
}

// The bytes the version 3 encoder writes for a fixed input that exercises every column, value
// type, parent reference and rest field, in trace groups of about 2 KiB. Any rewrite of the
// encoder must keep them: segments written before and after it are the same data, and the
// compression figures stay comparable.
TEST(SegmentBlockTest, Version3BytesArePinned) {
  std::vector<std::vector<StoredSpan>> traces = MakeTraces(20);
  traces.push_back(OddSpans(21));
  traces.push_back(OddSpans(22));
  traces.push_back(RestSpans(23));
  for (auto& trace : V1Traces()) traces.push_back(std::move(trace));
  const std::string body = Encode(traces, 2048);
  auto decoded = DecodeBlock(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), traces.size());
  for (size_t t = 0; t < traces.size(); ++t) {
    ASSERT_EQ((*decoded)[t].spans.size(), traces[t].size()) << t;
    for (size_t s = 0; s < traces[t].size(); ++s) {
      EXPECT_TRUE(MessageDifferencer::Equals((*decoded)[t].spans[s].span, traces[t][s].span))
          << "trace " << t << " span " << s;
    }
  }
  EXPECT_EQ(body.size(), 9989u);
  EXPECT_EQ(storage::Crc32c(body), 3576790173u);
}

// The block of OddSpans(21), RestSpans(23) and V1Traces() as the version 2 encoder wrote it.
constexpr std::string_view kV2BlockHex =
    "0204101601000173016901640162046e6f6e6505656d70747903617272036d61"
    "700562797465730666757475726518170a150a0c736572766963652e6e616d65"
    "12050a036f6e651f0a0a036c69621203312e3268747470733a2f2f73636f7065"
    "2d736368656d6104726f6f74056368696c6418170a150a0c736572766963652e"
    "6e616d6512050a0373766306050a036c696205474554202f0a687474702e726f"
    "757465016e026f6b05717565727903000b0f03000c1044070707070707070700"
    "0000000000001506070707070707070700000000000000170461616161616161"
    "6161616161616161300361616161616161616161616161616131038001000000"
    "0000000064000000000000006500000000000000660000000000000067000000"
    "0000000068000000000000006900000000000000c800000000000000c9000000"
    "00000000ca00000000000000cb62626262626262306262626262626231626262"
    "62626262326262626262626230626262626262623162626262626262321a0505"
    "020005050002020200020300020109656c7365776865726520e807c701e70784"
    "0714ad0798f8cfe2c6bfce972f14a1018f01001414d00f14142a9003d4fdffff"
    "ffffffffff01ffffffffffffffffff01a6040a04645b5249f403e903de03f403"
    "e903de03100101010101010d0e0e0e1115151115155100000000000000000000"
    "0000000000000000008106000000000000000000000404010100040001010004"
    "0201010004000101000200020200040402020006000202000200020200040402"
    "020006000202001000010203030303030303040404040404d7010000000a1a03"
    "6b3d765002c03e010000415a330932002a36fe9c97171209657863657074696f"
    "6e1a1b0a11657863657074696f6e2e6d65737361676512060a04626f6f6d2001"
    "60037a0812066661696c6564411a0876656e646f723d316a330a100707070707"
    "07070700000000000003091208000000000000030a1a03783d79220b0a096c69"
    "6e6b2e6e6f6e65350100000070050fea0406667574757265f504090000000250"
    "0700155a0b1209657863657074696f6e7a061204626f6f6d0000155a0b120965"
    "7863657074696f6e7a061204626f6f6d000d01040202020215000b6f72646572"
    "2d313233343509023939030000000002030505020e000c6e6f742061206e756d"
    "62657214ffffffffffffffffff01feffffffffffffffff010302060600100000"
    "000000000080355800662deb417e040304030500010105070000000000000000"
    "00060101000007010707062a040a021807000801070d0c320a0a080a016b1203"
    "0a01760009010705043a0200ff000a010707060a017898060500120602020202"
    "02021700012f01056974656d730600010001056974656d730600001306050505"
    "0505050006000103131517140604030404030400000506000102030405080001"
    "020300060708040001030900040a0b0c04";

// Blocks as the version 2 encoder wrote them (one group, no group table) are still read, whole
// and by trace id.
TEST(SegmentBlockTest, ReadsVersion2Blocks) {
  const std::string body = FromHex(kV2BlockHex);
  ASSERT_EQ(body[0], 2) << "a version 2 block";
  std::vector<std::vector<StoredSpan>> want = {OddSpans(21), RestSpans(23)};
  for (auto& trace : V1Traces()) want.push_back(std::move(trace));
  auto decoded = DecodeBlock(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), want.size());
  for (size_t t = 0; t < want.size(); ++t) {
    ASSERT_EQ((*decoded)[t].spans.size(), want[t].size());
    for (size_t s = 0; s < want[t].size(); ++s) {
      EXPECT_TRUE(MessageDifferencer::Equals((*decoded)[t].spans[s].span, want[t][s].span))
          << "trace " << t << " span " << s;
    }
  }
  auto one = DecodeBlock(body, want[2][0].span.trace_id());
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].spans.size(), want[2].size());
  EXPECT_EQ((*one)[0].spans[1].span.status().message(), "boom");
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(DecodeBlock(std::string_view(body).substr(0, n)).ok()) << n;
  }
}

// A block of many trace groups: every trace is found by id, ids between and around the
// traces are not, and a lookup reads its group only (damage elsewhere does not reach it).
TEST(SegmentBlockTest, LookupsDecodeOnlyTheirGroup) {
  const auto traces = MakeTraces(60);
  const std::string body = Encode(traces, 1024);
  auto whole = DecodeBlock(body);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->size(), traces.size());
  for (size_t t = 0; t < traces.size(); ++t) {
    auto one = DecodeBlock(body, traces[t][0].span.trace_id());
    ASSERT_TRUE(one.ok()) << one.status();
    ASSERT_EQ(one->size(), 1u) << t;
    ASSERT_EQ((*one)[0].spans.size(), traces[t].size());
    for (size_t s = 0; s < traces[t].size(); ++s) {
      EXPECT_TRUE(MessageDifferencer::Equals((*one)[0].spans[s].span, traces[t][s].span))
          << "trace " << t << " span " << s;
    }
  }
  // Before the first trace, after the last, and sorting between traces 30 and 31.
  for (const std::string& id :
       {Bytes(0, 16), Bytes(61, 16), std::string(16, '\xff'), Bytes(30, 16) + "x"}) {
    auto none = DecodeBlock(body, id);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
  }
  // The first trace's span count, raised: the whole block no longer decodes, but a lookup of
  // the last trace, many groups later, does not read that far back.
  std::string damaged = body;
  const std::string first_id = Bytes(1, 16);
  const size_t at = damaged.find(first_id);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(damaged[at + 16], 3) << "trace 1 has 3 spans";
  damaged[at + 16] = 4;
  EXPECT_FALSE(DecodeBlock(damaged).ok());
  auto last = DecodeBlock(damaged, traces.back()[0].span.trace_id());
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].spans.size(), traces.back().size());
}

std::string LengthField(uint64_t field, std::string_view bytes) {
  std::string out;
  PutVarint64(out, field << 3 | 2);
  PutLengthPrefixed(out, bytes);
  return out;
}

// The head holds protobuf's own encoding of a span; bytes of any other encoding are read as
// protobuf reads them (the encoder parses and re-encodes what it cannot read in place).
TEST(SegmentBlockTest, EncodesOtherSpanEncodingsAsProtobufParsesThem) {
  const StoredSpan base = OddSpans(3)[3];
  std::string status_code;
  PutVarint64(status_code, 3 << 3);
  PutVarint64(status_code, 2);
  std::string int_value;
  PutVarint64(int_value, 3 << 3);
  PutVarint64(int_value, 42);
  const std::string bytes =
      base.span.SerializeAsString() + LengthField(15, status_code) +
      LengthField(15, LengthField(2, "status message")) +
      // One attribute with two values, which parsing merges: the later one wins the oneof.
      LengthField(9, LengthField(1, "merged") + LengthField(2, LengthField(1, "text")) +
                         LengthField(2, int_value)) +
      // An unknown group field, kept whole.
      std::string("\xc3\x3e\x08\x01\xc4\x3e", 6);
  Span parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  ASSERT_EQ(parsed.attributes(parsed.attributes_size() - 1).value().int_value(), 42);
  const HeadSpan head = MakeHeadSpan(base.resource, base.scope, parsed, bytes);
  const HeadSpan* spans[] = {&head};
  BlockEncoder encoder;
  encoder.AddTrace(parsed.trace_id(), spans);
  auto decoded = DecodeBlock(encoder.Finish());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  ASSERT_EQ((*decoded)[0].spans.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals((*decoded)[0].spans[0].span, parsed))
      << (*decoded)[0].spans[0].span.DebugString() << "\nwant\n"
      << parsed.DebugString();
}

TEST(SegmentBlockTest, UnreadableSpanBytesKeepTheDecodedFields) {
  StoredSpan s = OddSpans(4)[2];
  const HeadSpan head = MakeHeadSpan(s.resource, s.scope, s.span, "\x0a\x7f truncated");
  const HeadSpan* spans[] = {&head};
  BlockEncoder encoder;
  encoder.AddTrace(s.span.trace_id(), spans);
  auto decoded = DecodeBlock(encoder.Finish());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ((*decoded)[0].spans.size(), 1u);
  const Span& got = (*decoded)[0].spans[0].span;
  EXPECT_EQ(got.span_id(), s.span.span_id());
  EXPECT_EQ(got.parent_span_id(), s.span.parent_span_id());
  EXPECT_EQ(got.start_time_unix_nano(), s.span.start_time_unix_nano());
  EXPECT_EQ(got.end_time_unix_nano(), s.span.end_time_unix_nano());
  EXPECT_EQ(got.attributes_size(), 0);
}

TEST(SegmentBlockTest, CompressedSectionsRoundTripAndFailCleanly) {
  BlockEncoder encoder;
  // About 2,000 spans: several sections above the merge threshold, and quick to decode.
  const auto traces = MakeTraces(60);
  for (const auto& trace : traces) {
    const HeadTrace head = ToHead(trace);
    encoder.AddTrace(trace[0].span.trace_id(), head.pointers);
  }
  std::vector<size_t> sections;
  const std::string body = encoder.Finish(&sections);
  ASSERT_GT(sections.size(), 10u);
  auto frame = CompressBlock(body, sections, 3);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_LT(frame->size(), body.size() / 2);
  auto back = DecompressBlock(*frame, 1 << 30);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, body);
  EXPECT_FALSE(DecompressBlock(*frame, body.size() - 1).ok()) << "the body limit holds";
  for (size_t n = 0; n < frame->size(); n += 3) {
    auto cut = DecompressBlock(std::string_view(*frame).substr(0, n), 1 << 30);
    ASSERT_FALSE(cut.ok()) << n;
    EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string mutated = *frame;
    mutated[rng() % mutated.size()] = static_cast<char>(rng());
    auto decoded = DecompressBlock(mutated, 2 * body.size());
    if (decoded.ok()) (void)DecodeBlock(*decoded);
  }
  // Without section ends the body is one section.
  auto whole = CompressBlock(body, {}, 3);
  ASSERT_TRUE(whole.ok());
  auto whole_back = DecompressBlock(*whole, 1 << 30);
  ASSERT_TRUE(whole_back.ok());
  EXPECT_EQ(*whole_back, body);
}

TEST(SegmentBlockTest, UnknownVersionsAreNamed) {
  std::string body = Encode(MakeTraces(1));
  body[0] = 4;
  auto decoded = DecodeBlock(body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("unknown block version 4"), std::string::npos)
      << decoded.status();
}

// Every truncation and many byte changes of a valid body: an error or a result, never a crash
// (run under the sanitizers by `make fuzz` through segment_block_fuzz).
TEST(SegmentBlockTest, HostileBodiesFailCleanly) {
  // Groups of about 200 bytes: three groups, and a table to damage.
  const std::string body = Encode(MakeTraces(5), 200);
  size_t failures = 0;
  for (size_t n = 0; n < body.size(); ++n) {
    auto decoded = DecodeBlock(std::string_view(body).substr(0, n));
    if (!decoded.ok()) {
      ++failures;
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_EQ(failures, body.size()) << "every truncation is detected";
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string mutated = body;
    for (int k = 0; k < 3; ++k) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
    }
    auto decoded = DecodeBlock(mutated);
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    }
    auto looked_up = DecodeBlock(mutated, Bytes(3, 16));
    if (!looked_up.ok()) {
      EXPECT_EQ(looked_up.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

class SegmentFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/segment_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SegmentFileTest, WritesIndexesAndReadsBack) {
  const auto traces = MakeTraces(200);
  const std::string path = dir_ + "/1-5.seg";
  auto writer = SegmentWriter::Create(path, 5, {.block_bytes = 4 << 10});
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const auto& trace : traces) {
    const HeadTrace head = ToHead(trace);
    (*writer)->AddTrace(trace[0].span.trace_id(), head.pointers);
    if ((*writer)->BlockFull()) {
      ASSERT_TRUE((*writer)->CloseBlock().ok());
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << "visible only when complete";
  ASSERT_TRUE((*writer)->Finish().ok());
  writer->reset();
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto segment = Segment::Open(path);
  ASSERT_TRUE(segment.ok()) << segment.status();
  EXPECT_EQ((*segment)->wal_checkpoint(), 5u);
  EXPECT_EQ((*segment)->traces(), 200u);
  EXPECT_EQ((*segment)->spans(), 200u * 201 / 2 + 400);
  EXPECT_GT((*segment)->blocks().size(), 10u);
  EXPECT_EQ((*segment)->services(), (std::vector<std::string>{"two", "one"}));
  for (uint64_t t : {1, 77, 200}) {
    auto spans = (*segment)->ReadTrace(Bytes(t, 16));
    ASSERT_TRUE(spans.ok()) << spans.status();
    ASSERT_EQ(spans->size(), t + 2);
    EXPECT_TRUE(MessageDifferencer::Equals((*spans)[1].span, traces[t - 1][1].span));
  }
  auto missing = (*segment)->ReadTrace(Bytes(201, 16));
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
  // Search: service "one" spans are the even ones; op1 with kind 1 is span 1 (service two)...
  auto found = (*segment)->Find({.service = "one", .operation = "op2", .limit = 3}, 3);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 3u);
  // ...and every match really has such a span.
  for (const auto& [newest, id] : *found) {
    auto spans = (*segment)->ReadTrace(id);
    ASSERT_TRUE(spans.ok());
    bool has = false;
    for (const auto& s : *spans)
      has = has || (s.span.name() == "op2" && s.resource->service == "one");
    EXPECT_TRUE(has);
  }
  // The operation list answers without reading blocks: spans of "one" are even, so op2 has
  // kind 2 there (s % 6 for s = 2, 8, 14, ...).
  EXPECT_TRUE((*segment)->HasOperation("one", "op2"));
  EXPECT_TRUE((*segment)->HasOperation("one", "op2", 2));
  EXPECT_FALSE((*segment)->HasOperation("one", "op2", 3));
  EXPECT_FALSE((*segment)->HasOperation("one", "op9"));
  EXPECT_FALSE((*segment)->HasOperation("three", "op2"));
  EXPECT_TRUE((*segment)->HasOperation("two", "op2", 5));
  auto none = (*segment)->Find({.service = "one", .operation = "op9", .limit = 3}, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto wrong_kind =
      (*segment)->Find({.service = "one", .operation = "op2", .span_kind = 3, .limit = 3}, 3);
  ASSERT_TRUE(wrong_kind.ok());
  EXPECT_TRUE(wrong_kind->empty());
}

// Lookups and block reads from several threads at once (they share the pool of read buffers):
// every one gets its own trace, whole.
TEST_F(SegmentFileTest, ConcurrentReadsGetTheirOwnTraces) {
  // Ids that differ in their first 8 bytes: each lookup reads one block.
  auto traces = MakeTraces(150);
  for (size_t t = 0; t < traces.size(); ++t) {
    for (StoredSpan& s : traces[t]) s.span.set_trace_id(Bytes(t + 1, 8) + std::string(8, '\x07'));
  }
  const std::string path = dir_ + "/1-3.seg";
  auto writer = SegmentWriter::Create(path, 3, {.block_bytes = 16 << 10});
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const auto& trace : traces) {
    const HeadTrace head = ToHead(trace);
    (*writer)->AddTrace(trace[0].span.trace_id(), head.pointers);
    if ((*writer)->BlockFull()) {
      ASSERT_TRUE((*writer)->CloseBlock().ok());
    }
  }
  ASSERT_TRUE((*writer)->Finish().ok());
  writer->reset();
  auto segment = Segment::Open(path);
  ASSERT_TRUE(segment.ok()) << segment.status();
  ASSERT_GT((*segment)->blocks().size(), 4u);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 3; ++round) {
        for (size_t t = static_cast<size_t>(k); t < traces.size(); t += 2) {
          auto spans = (*segment)->ReadTrace(traces[t][0].span.trace_id());
          if (!spans.ok() || spans->size() != traces[t].size() ||
              !MessageDifferencer::Equals(spans->back().span, traces[t].back().span)) {
            ++wrong;
          }
        }
        auto block = (*segment)->ReadBlock(static_cast<size_t>(k));
        if (!block.ok() || block->empty()) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(SegmentFileTest, GarbageAndTruncatedFilesAreDataLoss) {
  const std::string path = dir_ + "/1-1.seg";
  {
    auto writer = SegmentWriter::Create(path, 1, {});
    ASSERT_TRUE(writer.ok());
    const auto traces = MakeTraces(3);
    for (const auto& trace : traces) {
      const HeadTrace head = ToHead(trace);
      (*writer)->AddTrace(trace[0].span.trace_id(), head.pointers);
    }
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  const auto size = std::filesystem::file_size(path);
  std::string content(size, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.read(content.data(), static_cast<std::streamsize>(size));
  }
  for (size_t n = 0; n < size; n += 7) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(content.data(), static_cast<std::streamsize>(n));
    }
    auto segment = Segment::Open(path);
    ASSERT_FALSE(segment.ok()) << n;
    EXPECT_EQ(segment.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(segment.status().message().find(path), std::string::npos);
  }
  // Every byte of the index and footer changed in turn: open fails or yields a working segment.
  for (size_t i = size - 60; i < size; ++i) {
    std::string mutated = content;
    mutated[i] = static_cast<char>(mutated[i] ^ 0x41);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(mutated.data(), static_cast<std::streamsize>(size));
    }
    auto segment = Segment::Open(path);
    EXPECT_FALSE(segment.ok()) << "byte " << i << " is covered by the checksum or checks";
  }
}

// A segment as the previous version wrote it (index version 1, each block one zstd frame) is
// still read.
TEST_F(SegmentFileTest, ReadsIndexVersion1Segments) {
  const std::string body = FromHex(kV1BlockHex);
  const auto want = V1Traces();
  std::string frame(ZSTD_compressBound(body.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), body.data(), body.size(), 3));
  std::string file(kSegmentMagic);
  const uint64_t block_offset = file.size();
  file += frame;
  const auto start = static_cast<int64_t>(want[0][0].span.start_time_unix_nano());
  std::string index;
  PutVarint64(index, 1);  // version
  PutVarint64(index, 4);  // WAL checkpoint
  PutVarint64(index, 1);
  PutLengthPrefixed(index, "svc");
  PutVarint64(index, 0);  // operations
  PutVarint64(index, 1);  // blocks
  PutVarint64(index, block_offset);
  PutVarint64(index, frame.size());
  PutFixed32(index, storage::Crc32c(frame));
  PutVarint64(index, 2);
  PutVarint64(index, 6);
  PutVarint64(index, ZigZag(start));
  PutVarint64(index, ZigZag(start + 1020));
  PutVarint64(index, ZigZag(start + 1500));
  PutVarint64(index, 1);
  PutVarint64(index, 0);
  PutVarint64(index, ZigZag(start));
  PutVarint64(index, ZigZag(start + 1020));
  PutVarint64(index, 2);  // traces
  for (const auto& trace : want) {
    PutFixed64(index, TraceIdPrefix(trace[0].span.trace_id()));
    PutVarint64(index, 0);
  }
  const uint64_t index_offset = file.size();
  file += index;
  PutFixed64(file, index_offset);
  PutFixed64(file, index.size());
  PutFixed32(file, storage::Crc32c(index));
  file += kSegmentMagic;
  const std::string path = dir_ + "/1-4.seg";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  auto segment = Segment::Open(path);
  ASSERT_TRUE(segment.ok()) << segment.status();
  EXPECT_EQ((*segment)->spans(), 6u);
  auto spans = (*segment)->ReadTrace(want[1][0].span.trace_id());
  ASSERT_TRUE(spans.ok()) << spans.status();
  ASSERT_EQ(spans->size(), want[1].size());
  for (size_t s = 0; s < spans->size(); ++s) {
    EXPECT_TRUE(MessageDifferencer::Equals((*spans)[s].span, want[1][s].span));
  }
}

}  // namespace
}  // namespace oriel::tracestore
