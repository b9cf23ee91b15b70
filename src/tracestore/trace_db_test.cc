#include "tracestore/trace_db.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "base/metrics.h"
#include "base/status.h"
#include "fmt/format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tracestore/wal_record.h"

namespace oriel::tracestore {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kBase = int64_t{1'700'000'000} * kSecond;

std::string Id(uint64_t n, size_t size) {
  std::string id(size, '\0');
  for (size_t i = 0; i < 8 && i < size; ++i) id[size - 1 - i] = static_cast<char>(n >> (8 * i));
  return id;
}
std::string TraceId(uint64_t n) { return Id(n, 16); }
std::string SpanId(uint64_t n) { return Id(n, 8); }

void AddString(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& key,
               const std::string& value) {
  KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

Span MakeSpan(uint64_t trace, uint64_t span, uint64_t parent, const std::string& name,
              int64_t start, int64_t duration, Span::SpanKind kind = Span::SPAN_KIND_SERVER) {
  Span s;
  s.set_trace_id(TraceId(trace));
  s.set_span_id(SpanId(span));
  if (parent != 0) s.set_parent_span_id(SpanId(parent));
  s.set_name(name);
  s.set_kind(kind);
  s.set_start_time_unix_nano(static_cast<uint64_t>(start));
  s.set_end_time_unix_nano(static_cast<uint64_t>(start + duration));
  return s;
}

ResourceSpans Resource(const std::string& service, std::vector<Span> spans) {
  ResourceSpans rs;
  AddString(rs.mutable_resource()->mutable_attributes(), "service.name", service);
  auto* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("test-scope");
  for (auto& s : spans) *ss->add_spans() = std::move(s);
  return rs;
}

class TraceDBTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tracestore_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.clock = [this] { return now_.load(); };
    options_.maintenance_interval_nano = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TraceDB> MustOpen() {
    auto db = TraceDB::Open(dir_, options_);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  void MustWrite(TraceDB& db, std::vector<ResourceSpans> rs, int64_t expect_written) {
    auto result = db.Write(rs);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->spans_written, expect_written);
    EXPECT_EQ(result->spans_rejected, 0) << result->first_rejection;
  }

  static std::vector<std::string> TraceIds(const std::vector<Trace>& traces) {
    std::vector<std::string> ids;
    for (const auto& t : traces) ids.push_back(t.trace_id);
    return ids;
  }

  size_t WalSegments() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/wal")) {
      (void)e;
      ++n;
    }
    return n;
  }

  // Where the data of a test lives when it is read: the tests of queries run once per place.
  enum class Where { kHead, kSegment, kReopenedSegment };
  static constexpr Where kEverywhere[] = {Where::kHead, Where::kSegment, Where::kReopenedSegment};
  static std::string Name(Where where) {
    switch (where) {
      case Where::kHead:
        return "head";
      case Where::kSegment:
        return "segment";
      case Where::kReopenedSegment:
        return "reopened segment";
    }
    return "";
  }
  // A fresh store for the next place.
  std::unique_ptr<TraceDB> OpenEmpty() {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    return MustOpen();
  }
  void MoveTo(std::unique_ptr<TraceDB>& db, Where where) {
    if (where == Where::kHead) return;
    const size_t spans = db->Stats().spans;
    ASSERT_TRUE(db->Flush().ok());
    EXPECT_EQ(db->Stats().head_spans, 0u);
    EXPECT_EQ(db->Stats().segment_spans, spans);
    if (where == Where::kReopenedSegment) {
      db.reset();
      db = MustOpen();
      ASSERT_EQ(db->Stats().segments, 1u);
    }
  }

  size_t SegmentFiles() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/segments")) {
      n += e.path().extension() == ".seg" ? 1 : 0;
    }
    return n;
  }

  std::string dir_;
  std::atomic<int64_t> now_{kBase + 3600 * kSecond};
  TraceDBOptions options_;
};

ResourceSpans FullResourceSpans() {
  ResourceSpans rs = Resource("checkout", {});
  rs.set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  rs.mutable_resource()->set_dropped_attributes_count(2);
  KeyValue* host = rs.mutable_resource()->add_attributes();
  host->set_key("host.cores");
  host->mutable_value()->set_int_value(8);
  auto* ss = rs.mutable_scope_spans(0);
  ss->set_schema_url("https://scope.schema");
  ss->mutable_scope()->set_version("1.2.3");
  ss->mutable_scope()->set_dropped_attributes_count(1);
  AddString(ss->mutable_scope()->mutable_attributes(), "scope.attr", "s");
  Span span = MakeSpan(1, 1, 0, "GET /cart", kBase, 5 * kSecond, Span::SPAN_KIND_CLIENT);
  span.set_trace_state("vendor=abc");
  span.set_flags(0x301);
  span.set_dropped_attributes_count(3);
  span.set_dropped_events_count(4);
  span.set_dropped_links_count(5);
  KeyValue* attr = span.add_attributes();
  attr->set_key("http.status_code");
  attr->mutable_value()->set_int_value(500);
  attr = span.add_attributes();
  attr->set_key("ratio");
  attr->mutable_value()->set_double_value(1.5);
  attr = span.add_attributes();
  attr->set_key("cached");
  attr->mutable_value()->set_bool_value(true);
  attr = span.add_attributes();
  attr->set_key("list");
  attr->mutable_value()->mutable_array_value()->add_values()->set_string_value("a");
  auto* event = span.add_events();
  event->set_name("exception");
  event->set_time_unix_nano(static_cast<uint64_t>(kBase + kSecond));
  event->set_dropped_attributes_count(6);
  AddString(event->mutable_attributes(), "exception.type", "IOError");
  auto* link = span.add_links();
  link->set_trace_id(TraceId(99));
  link->set_span_id(SpanId(98));
  link->set_trace_state("k=v");
  link->set_flags(0x100);
  link->set_dropped_attributes_count(7);
  AddString(link->mutable_attributes(), "link.attr", "l");
  span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  span.mutable_status()->set_message("failed");
  *ss->add_spans() = span;
  return rs;
}

TEST_F(TraceDBTest, RoundTripPreservesEveryField) {
  auto db = MustOpen();
  ResourceSpans rs = FullResourceSpans();
  MustWrite(*db, {rs}, 1);
  auto trace = db->GetTrace(TraceId(1));
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->trace_id, TraceId(1));
  ASSERT_EQ(trace->resource_spans.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(trace->resource_spans[0], rs))
      << trace->resource_spans[0].DebugString();
  EXPECT_FALSE(db->GetTrace(TraceId(2)).has_value());
  EXPECT_FALSE(db->GetTrace("short").has_value());

  db.reset();
  db = MustOpen();
  trace = db->GetTrace(TraceId(1));
  ASSERT_TRUE(trace.has_value());
  ASSERT_EQ(trace->resource_spans.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(trace->resource_spans[0], rs));
}

TEST_F(TraceDBTest, GroupsSpansByResourceAndScopeAcrossWrites) {
  auto db = MustOpen();
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "root", kBase, kSecond)})}, 1);
  MustWrite(*db,
            {Resource("a", {MakeSpan(1, 2, 1, "child", kBase, kSecond)}),
             Resource("b", {MakeSpan(1, 3, 2, "remote", kBase, kSecond)})},
            2);
  auto trace = db->GetTrace(TraceId(1));
  ASSERT_TRUE(trace.has_value());
  ASSERT_EQ(trace->resource_spans.size(), 2u);
  ASSERT_EQ(trace->resource_spans[0].scope_spans_size(), 1);
  EXPECT_EQ(trace->resource_spans[0].scope_spans(0).spans_size(), 2);
  EXPECT_EQ(trace->resource_spans[1].scope_spans(0).spans(0).name(), "remote");
}

TEST_F(TraceDBTest, RejectsInvalidSpansWithMessages) {
  metrics::Registry registry;
  options_.registry = &registry;
  auto db = MustOpen();
  struct Case {
    std::function<void(Span&)> mutate;
    std::string message;
  };
  std::vector<Case> cases = {
      {[](Span& s) { s.set_trace_id("abc"); }, "trace_id must be 16 bytes, got 3"},
      {[](Span& s) { s.set_trace_id(std::string(16, '\0')); }, "trace_id must not be all zero"},
      {[](Span& s) { s.clear_span_id(); }, "span_id must be 8 bytes, got 0"},
      {[](Span& s) { s.set_span_id(std::string(8, '\0')); }, "span_id must not be all zero"},
      {[](Span& s) { s.set_parent_span_id("xyz"); },
       "parent_span_id must be empty or 8 bytes, got 3"},
      {[](Span& s) { s.clear_name(); }, "name must not be empty"},
      {[](Span& s) { s.set_end_time_unix_nano(s.start_time_unix_nano() - 1); },
       "is before start_time_unix_nano"},
  };
  for (const Case& c : cases) {
    Span bad = MakeSpan(1, 1, 0, "op", kBase, kSecond);
    c.mutate(bad);
    ResourceSpans rs = Resource("svc", {MakeSpan(2, 2, 0, "good", kBase, kSecond), bad});
    auto result = db->Write({rs});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->spans_written, 1);
    EXPECT_EQ(result->spans_rejected, 1);
    EXPECT_NE(result->first_rejection.find(c.message), std::string::npos)
        << result->first_rejection;
    EXPECT_NE(result->first_rejection.find("span 1 of scope 0 of resource 0"), std::string::npos)
        << result->first_rejection;
  }
  EXPECT_FALSE(db->GetTrace(TraceId(1)).has_value());
  EXPECT_EQ(db->Stats().spans, 1u) << "the good span is stored once";
  auto all_bad = db->Write({Resource("svc", {MakeSpan(0, 1, 0, "op", kBase, 1)})});
  ASSERT_TRUE(all_bad.ok());
  EXPECT_EQ(all_bad->spans_written, 0);
  EXPECT_EQ(all_bad->spans_rejected, 1);
  std::string exposition = registry.Expose();
  EXPECT_NE(exposition.find("oriel_tracestore_spans_rejected_total 8"), std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("oriel_tracestore_spans_written_total 7"), std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("oriel_tracestore_traces 1"), std::string::npos) << exposition;
}

// Write removes invalid spans in place and moves the rest: what is left must be exactly the
// valid spans, in order, under their own resource and scope, with the rejection naming the
// span's position in the request as sent, and sizes as serialized (before and after a replay).
TEST_F(TraceDBTest, MixedValidAndInvalidSpansKeepOrderPlacementAndSizes) {
  auto db = MustOpen();
  Span bad = MakeSpan(1, 9, 0, "bad", kBase, kSecond);
  bad.set_span_id("short");
  // Resource 0: all invalid. Resource 1: scope 0 all invalid, scope 1 mixed.
  ResourceSpans all_bad = Resource("gone", {bad});
  ResourceSpans mixed = Resource("kept", {bad, bad});
  auto* scope = mixed.add_scope_spans();
  scope->mutable_scope()->set_name("second-scope");
  scope->set_schema_url("https://example.com/scope");
  *scope->add_spans() = bad;
  *scope->add_spans() = MakeSpan(1, 1, 0, "first", kBase, kSecond);
  *scope->add_spans() = bad;
  *scope->add_spans() = MakeSpan(1, 2, 1, "second", kBase + 1, kSecond);
  AddString(scope->mutable_spans(3)->mutable_attributes(), "k", std::string(100, 'v'));
  mixed.set_schema_url("https://example.com/resource");
  const size_t expected_bytes = scope->spans(1).ByteSizeLong() + scope->spans(3).ByteSizeLong();
  auto result = db->Write({all_bad, mixed});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->spans_written, 2);
  EXPECT_EQ(result->spans_rejected, 5);
  EXPECT_NE(result->first_rejection.find("span 0 of scope 0 of resource 0: span_id"),
            std::string::npos)
      << result->first_rejection;
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "written" : "replayed");
    EXPECT_EQ(db->Stats().bytes, expected_bytes);
    EXPECT_EQ(db->Services(), std::vector<std::string>{"kept"});
    auto trace = db->GetTrace(TraceId(1));
    ASSERT_TRUE(trace.has_value());
    ASSERT_EQ(trace->resource_spans.size(), 1u);
    const ResourceSpans& rs = trace->resource_spans[0];
    EXPECT_EQ(rs.schema_url(), "https://example.com/resource");
    EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "kept");
    ASSERT_EQ(rs.scope_spans_size(), 1);
    EXPECT_EQ(rs.scope_spans(0).scope().name(), "second-scope");
    EXPECT_EQ(rs.scope_spans(0).schema_url(), "https://example.com/scope");
    ASSERT_EQ(rs.scope_spans(0).spans_size(), 2);
    EXPECT_EQ(rs.scope_spans(0).spans(0).name(), "first");
    EXPECT_EQ(rs.scope_spans(0).spans(1).name(), "second");
    EXPECT_EQ(rs.scope_spans(0).spans(1).attributes(0).value().string_value(),
              std::string(100, 'v'));
    db.reset();
    db = MustOpen();
  }
}

// Every request repeats its resource; spans of equal resources written apart share one entry
// and group together, and a different resource with the same service stays apart.
TEST_F(TraceDBTest, EqualResourcesAcrossWritesGroupTogether) {
  auto db = MustOpen();
  for (uint64_t i = 1; i <= 3; ++i) {
    MustWrite(*db, {Resource("a", {MakeSpan(1, i, 0, "op", kBase, kSecond)})}, 1);
  }
  ResourceSpans other = Resource("a", {MakeSpan(1, 4, 0, "op", kBase, kSecond)});
  AddString(other.mutable_resource()->mutable_attributes(), "host.name", "h2");
  MustWrite(*db, {other}, 1);
  auto trace = db->GetTrace(TraceId(1));
  ASSERT_TRUE(trace.has_value());
  ASSERT_EQ(trace->resource_spans.size(), 2u);
  EXPECT_EQ(trace->resource_spans[0].scope_spans(0).spans_size(), 3);
  EXPECT_EQ(trace->resource_spans[1].resource().attributes_size(), 2);
  EXPECT_EQ(trace->resource_spans[1].scope_spans(0).spans_size(), 1);
}

// Traces for search tests:
//   1: frontend "GET /" server at kBase (100ms), backend "query" client (2s) with db=postgres
//   2: frontend "GET /" server at kBase+10s (50ms) with resource attr region=eu
//   3: frontend "POST /buy" server at kBase+20s (300ms), an event with attribute retry=3
//   4: frontend "GET /" internal at kBase+30s (10ms), scope attr lib=http, status ERROR
void WriteSearchData(TraceDB& db) {
  std::vector<ResourceSpans> batch;
  batch.push_back(Resource("frontend", {MakeSpan(1, 1, 0, "GET /", kBase, kSecond / 10)}));
  Span query = MakeSpan(1, 2, 1, "query", kBase + 1000, 2 * kSecond, Span::SPAN_KIND_CLIENT);
  AddString(query.mutable_attributes(), "db", "postgres");
  batch.push_back(Resource("backend", {query}));
  ResourceSpans eu =
      Resource("frontend", {MakeSpan(2, 1, 0, "GET /", kBase + 10 * kSecond, kSecond / 20)});
  AddString(eu.mutable_resource()->mutable_attributes(), "region", "eu");
  batch.push_back(eu);
  Span buy = MakeSpan(3, 1, 0, "POST /buy", kBase + 20 * kSecond, 3 * kSecond / 10);
  auto* event = buy.add_events();
  event->set_name("retrying");
  KeyValue* retry = event->add_attributes();
  retry->set_key("retry");
  retry->mutable_value()->set_int_value(3);
  batch.push_back(Resource("frontend", {buy}));
  ResourceSpans lib = Resource("frontend", {MakeSpan(4, 1, 0, "GET /", kBase + 30 * kSecond,
                                                     kSecond / 100, Span::SPAN_KIND_INTERNAL)});
  lib.mutable_scope_spans(0)->mutable_spans(0)->mutable_status()->set_code(
      opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  AddString(lib.mutable_scope_spans(0)->mutable_scope()->mutable_attributes(), "lib", "http");
  batch.push_back(lib);
  auto result = db.Write(batch);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->spans_written, 5);
}

TEST_F(TraceDBTest, FindTracesConditions) {
  for (Where where : kEverywhere) {
    SCOPED_TRACE(Name(where));
    auto db = OpenEmpty();
    WriteSearchData(*db);
    MoveTo(db, where);
    auto find = [&](TraceQuery q) -> std::vector<std::string> {
      auto traces = db->FindTraces(q);
      EXPECT_TRUE(traces.ok()) << traces.status();
      return traces.ok() ? TraceIds(*traces) : std::vector<std::string>{};
    };
    using Ids = std::vector<std::string>;
    // Most recent first.
    EXPECT_EQ(find({.service = "frontend"}), (Ids{TraceId(4), TraceId(3), TraceId(2), TraceId(1)}));
    EXPECT_EQ(find({.service = "backend"}), (Ids{TraceId(1)}));
    EXPECT_EQ(find({.service = "nobody"}), Ids{});
    EXPECT_EQ(find({.service = "frontend", .operation = "GET /"}),
              (Ids{TraceId(4), TraceId(2), TraceId(1)}));
    EXPECT_EQ(
        find({.service = "frontend", .operation = "GET /", .span_kind = Span::SPAN_KIND_SERVER}),
        (Ids{TraceId(2), TraceId(1)}));
    // The backend span's tag does not count for a frontend search: one span must match all.
    EXPECT_EQ(find({.service = "frontend", .tags = {{"db", "postgres"}}}), Ids{});
    EXPECT_EQ(find({.service = "backend", .tags = {{"db", "postgres"}}}), (Ids{TraceId(1)}));
    // Resource, event and scope attribute levels, int as decimal, synthetic error tag.
    EXPECT_EQ(find({.service = "frontend", .tags = {{"region", "eu"}}}), (Ids{TraceId(2)}));
    EXPECT_EQ(find({.service = "frontend", .tags = {{"retry", "3"}}}), (Ids{TraceId(3)}));
    EXPECT_EQ(find({.service = "frontend", .tags = {{"lib", "http"}}}), (Ids{TraceId(4)}));
    EXPECT_EQ(find({.service = "frontend", .tags = {{"error", "true"}}}), (Ids{TraceId(4)}));
    EXPECT_EQ(find({.service = "frontend", .tags = {{"region", "eu"}, {"retry", "3"}}}), Ids{});
    EXPECT_EQ(find({.service = "frontend", .tags = {{"region", "us"}}}), Ids{});
    // Durations: 100ms, 50ms, 300ms, 10ms.
    EXPECT_EQ(find({.service = "frontend", .min_duration_nano = kSecond / 10}),
              (Ids{TraceId(3), TraceId(1)}));
    EXPECT_EQ(find({.service = "frontend", .max_duration_nano = kSecond / 20}),
              (Ids{TraceId(4), TraceId(2)}));
    EXPECT_EQ(find({.service = "frontend",
                    .min_duration_nano = kSecond / 20,
                    .max_duration_nano = kSecond / 10}),
              (Ids{TraceId(2), TraceId(1)}));
    // Time range on span start (inclusive).
    EXPECT_EQ(find({.service = "frontend",
                    .start_unix_nano = kBase + 10 * kSecond,
                    .end_unix_nano = kBase + 20 * kSecond}),
              (Ids{TraceId(3), TraceId(2)}));
    EXPECT_EQ(find({.service = "frontend", .start_unix_nano = kBase + 25 * kSecond}),
              (Ids{TraceId(4)}));
    EXPECT_EQ(find({.service = "frontend", .end_unix_nano = kBase + 5 * kSecond}),
              (Ids{TraceId(1)}));
    // Limit keeps the most recent.
    EXPECT_EQ(find({.service = "frontend", .limit = 2}), (Ids{TraceId(4), TraceId(3)}));
    // The whole trace comes back, both services.
    auto whole = db->FindTraces({.service = "frontend", .tags = {{"http.none", "x"}}});
    ASSERT_TRUE(whole.ok());
    EXPECT_TRUE(whole->empty());
    auto one = db->FindTraces({.service = "backend"});
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].resource_spans.size(), 2u);

    EXPECT_FALSE(db->FindTraces({}).ok());
    EXPECT_FALSE(
        db->FindTraces({.service = "frontend", .min_duration_nano = 2, .max_duration_nano = 1})
            .ok());
    EXPECT_FALSE(
        db->FindTraces({.service = "frontend", .start_unix_nano = 2, .end_unix_nano = 1}).ok());
  }
}

TEST_F(TraceDBTest, ServicesAndOperations) {
  for (Where where : kEverywhere) {
    SCOPED_TRACE(Name(where));
    auto db = OpenEmpty();
    WriteSearchData(*db);
    MustWrite(*db, {[] {
      ResourceSpans rs;  // no service.name
      *rs.add_scope_spans()->add_spans() = MakeSpan(9, 1, 0, "anon", kBase, 1);
      return rs;
    }()},
              1);
    MoveTo(db, where);
    EXPECT_EQ(db->Services(), (std::vector<std::string>{"backend", "frontend", "unknown_service"}));
    auto ops = db->Operations("frontend", std::nullopt);
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_EQ(ops[0].name, "GET /");
    EXPECT_EQ(ops[0].span_kind, Span::SPAN_KIND_INTERNAL);
    EXPECT_EQ(ops[1].name, "GET /");
    EXPECT_EQ(ops[1].span_kind, Span::SPAN_KIND_SERVER);
    EXPECT_EQ(ops[2].name, "POST /buy");
    auto servers = db->Operations("frontend", Span::SPAN_KIND_SERVER);
    ASSERT_EQ(servers.size(), 2u);
    EXPECT_EQ(servers[1].name, "POST /buy");
    EXPECT_TRUE(db->Operations("nobody", std::nullopt).empty());
  }
}

TEST_F(TraceDBTest, Dependencies) {
  for (Where where : kEverywhere) {
    SCOPED_TRACE(Name(where));
    auto db = OpenEmpty();
    // a -> b twice (two traces), b -> c once, a -> a not counted, parent in another trace ignored.
    for (uint64_t t = 1; t <= 2; ++t) {
      MustWrite(*db,
                {Resource("a", {MakeSpan(t, 1, 0, "root", kBase, 10),
                                MakeSpan(t, 2, 1, "self", kBase, 5)}),
                 Resource("b", {MakeSpan(t, 3, 1, "handle", kBase, 5)})},
                3);
    }
    MustWrite(*db,
              {Resource("c", {MakeSpan(1, 4, 3, "store", kBase, 2)}),
               Resource("c", {MakeSpan(3, 5, 3, "orphan", kBase, 2)})},
              2);
    // An a -> b call that ends long after the window.
    MustWrite(*db,
              {Resource("a", {MakeSpan(5, 1, 0, "root", kBase + 100 * kSecond, 10)}),
               Resource("b", {MakeSpan(5, 2, 1, "late", kBase + 100 * kSecond, 5)})},
              2);
    MoveTo(db, where);
    auto links = db->Dependencies(kBase + kSecond, kSecond * 2);
    ASSERT_EQ(links.size(), 2u);
    EXPECT_EQ(links[0].parent, "a");
    EXPECT_EQ(links[0].child, "b");
    EXPECT_EQ(links[0].call_count, 2);
    EXPECT_EQ(links[1].parent, "b");
    EXPECT_EQ(links[1].child, "c");
    EXPECT_EQ(links[1].call_count, 1);
    auto all = db->Dependencies(kBase + 200 * kSecond, 300 * kSecond);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].call_count, 3);
    // (end - lookback, end]: the calls end at kBase+5 (a -> b) and kBase+2 (b -> c).
    EXPECT_TRUE(db->Dependencies(kBase + 4, 2).empty());
    auto just_b_c = db->Dependencies(kBase + 2, 1);
    ASSERT_EQ(just_b_c.size(), 1u);
    EXPECT_EQ(just_b_c[0].parent, "b");
    auto just_a_b = db->Dependencies(kBase + 5, 1);
    ASSERT_EQ(just_a_b.size(), 1u);
    EXPECT_EQ(just_a_b[0].parent, "a");
    EXPECT_EQ(just_a_b[0].call_count, 2);
  }
}

TEST_F(TraceDBTest, ReopenGivesIdenticalAnswers) {
  auto db = MustOpen();
  WriteSearchData(*db);
  auto before = db->FindTraces({.service = "frontend"});
  ASSERT_TRUE(before.ok());
  auto deps = db->Dependencies(kBase + 100 * kSecond, 200 * kSecond);
  auto services = db->Services();
  auto ops = db->Operations("frontend", std::nullopt);
  db.reset();
  db = MustOpen();
  auto after = db->FindTraces({.service = "frontend"});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < before->size(); ++i) {
    EXPECT_EQ((*after)[i].trace_id, (*before)[i].trace_id);
    ASSERT_EQ((*after)[i].resource_spans.size(), (*before)[i].resource_spans.size());
    for (size_t r = 0; r < (*before)[i].resource_spans.size(); ++r) {
      EXPECT_TRUE(MessageDifferencer::Equals((*after)[i].resource_spans[r],
                                             (*before)[i].resource_spans[r]));
    }
  }
  EXPECT_EQ(db->Services(), services);
  auto deps_after = db->Dependencies(kBase + 100 * kSecond, 200 * kSecond);
  ASSERT_EQ(deps_after.size(), deps.size());
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps_after[0].call_count, deps[0].call_count);
  EXPECT_EQ(db->Operations("frontend", std::nullopt).size(), ops.size());
  EXPECT_EQ(db->Stats().spans, 5u);
}

TEST_F(TraceDBTest, DuplicateSpansAreStoredOnce) {
  auto db = MustOpen();
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "op", kBase, 10)})}, 1);
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "op", kBase, 10)})}, 1);
  // Same span id, different content: a distinct span (clients can reuse ids by mistake).
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "op2", kBase, 10)})}, 1);
  EXPECT_EQ(db->Stats().spans, 2u);
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 2u);
}

TEST_F(TraceDBTest, AResourceWhoseSpansAreAllDuplicatesAddsNoService) {
  auto db = MustOpen();
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "op", kBase, 10)})}, 1);
  // The same span again under another service: stored once, so "b" has no span in the store.
  MustWrite(*db, {Resource("b", {MakeSpan(1, 1, 0, "op", kBase, 10)})}, 1);
  EXPECT_EQ(db->Services(), std::vector<std::string>{"a"});
  EXPECT_TRUE(db->Operations("b", std::nullopt).empty());
}

TEST_F(TraceDBTest, RetentionDropsOldTracesAndCompactionRemovesThem) {
  options_.retention_nano = 3600 * kSecond;
  now_ = kBase;
  auto db = MustOpen();
  MustWrite(*db,
            {Resource("gone", {MakeSpan(1, 1, 0, "old", kBase - 100 * kSecond, kSecond)}),
             Resource("a", {MakeSpan(3, 1, 0, "old", kBase - 100 * kSecond, kSecond)})},
            2);
  MustWrite(*db, {Resource("a", {MakeSpan(2, 1, 0, "new", kBase, kSecond)})}, 1);
  now_ = kBase + 3600 * kSecond - 200 * kSecond;
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_TRUE(db->GetTrace(TraceId(1)).has_value());
  EXPECT_EQ(db->Stats().compactions, 0u);
  now_ = kBase + 3600 * kSecond;
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_FALSE(db->GetTrace(TraceId(1)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(2)).has_value());
  auto found = db->FindTraces({.service = "a"});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(TraceIds(*found), std::vector<std::string>{TraceId(2)});
  EXPECT_EQ(db->Stats().traces_dropped, 2u);
  EXPECT_EQ(db->Stats().compactions, 1u) << "half of the WAL was dead";
  EXPECT_EQ(db->Services(), std::vector<std::string>{"a"});
  auto ops = db->Operations("a", std::nullopt);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].name, "new");
  db.reset();
  // Without retention, only what compaction kept comes back.
  options_.retention_nano = 0;
  db = MustOpen();
  EXPECT_FALSE(db->GetTrace(TraceId(1)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(2)).has_value());
  EXPECT_EQ(db->Stats().spans, 1u);
}

TEST_F(TraceDBTest, CompactionKeepsLiveDataAndRemovesSegments) {
  options_.retention_nano = 0;
  options_.wal.segment_bytes = 4 << 10;
  auto db = MustOpen();
  for (uint64_t t = 1; t <= 200; ++t) {
    MustWrite(*db, {Resource("a", {MakeSpan(t, 1, 0, "op", kBase + t, 10)})}, 1);
  }
  EXPECT_GT(WalSegments(), 3u);
  ASSERT_TRUE(db->Maintain(/*force=*/true).ok());
  MustWrite(*db, {Resource("a", {MakeSpan(500, 1, 0, "op", kBase, 10)})}, 1);
  const size_t after = WalSegments();
  EXPECT_LE(after, 3u);
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 201u);
  EXPECT_EQ(db->Stats().traces, 201u);
}

TEST_F(TraceDBTest, MemoryBoundsDropOldestTraces) {
  options_.retention_nano = 0;
  options_.max_traces = 3;
  auto db = MustOpen();
  for (uint64_t t = 1; t <= 5; ++t) {
    MustWrite(*db, {Resource("a", {MakeSpan(t, 1, 0, "op", kBase + static_cast<int64_t>(t), 10)})},
              1);
  }
  EXPECT_EQ(db->Stats().traces, 3u);
  EXPECT_FALSE(db->GetTrace(TraceId(2)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(3)).has_value());
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().traces, 3u);
  EXPECT_FALSE(db->GetTrace(TraceId(2)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(5)).has_value());

  db.reset();
  options_.max_traces = 0;
  const size_t span_bytes = MakeSpan(1, 1, 0, "op", kBase, 10).ByteSizeLong();
  options_.max_bytes = 2 * span_bytes;
  db = MustOpen();
  EXPECT_EQ(db->Stats().traces, 2u);
  EXPECT_LE(db->Stats().bytes, 2 * span_bytes);
}

TEST_F(TraceDBTest, ConcurrentWritersAndReaders) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  constexpr int kWriters = 4;
  constexpr int kTraces = 200;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        auto found = db->FindTraces({.service = "svc", .limit = 10});
        if (!found.ok()) ++failures;
        db->Services();
        db->Dependencies(kBase + kSecond, kSecond * 10);
        db->GetTrace(TraceId(1));
      }
    });
  }
  std::thread compactor([&] {
    while (!done) {
      if (!db->Maintain(true).ok()) ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int t = 0; t < kTraces; ++t) {
        const uint64_t id = static_cast<uint64_t>(w * kTraces + t + 1);
        auto result = db->Write(
            {Resource("svc", {MakeSpan(id, 1, 0, "op", kBase + static_cast<int64_t>(id), 10)}),
             Resource("other", {MakeSpan(id, 2, 1, "op", kBase + static_cast<int64_t>(id), 5)})});
        if (!result.ok() || result->spans_written != 2) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  for (auto& t : readers) t.join();
  compactor.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db->Stats().spans, size_t{2 * kWriters * kTraces});
  auto deps = db->Dependencies(kBase + kSecond, kSecond);
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0].call_count, kWriters * kTraces);
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, size_t{2 * kWriters * kTraces});
}

TEST_F(TraceDBTest, CorruptWalRecordsFailOpen) {
  for (const std::string& record :
       {std::string("Rgarbage\xff\xff"), std::string("X123"), std::string()}) {
    std::filesystem::remove_all(dir_);
    {
      auto wal = storage::Wal::Open(dir_ + "/wal");
      ASSERT_TRUE(wal.ok()) << wal.status();
      std::string_view unit[] = {record};
      ASSERT_TRUE((*wal)->Append(unit).ok());
    }
    auto db = TraceDB::Open(dir_, options_);
    ASSERT_FALSE(db.ok()) << "record " << record;
    EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(db.status().message().find("cannot replay trace WAL record 1"), std::string::npos)
        << db.status();
  }
}

// Replay reads every record type: 'R' (writes), 'S' (compaction, and writes of earlier
// versions) and 'Z' (earlier versions), mixed in one WAL.
TEST_F(TraceDBTest, ReplaysWalRecordsOfEveryType) {
  std::vector<ResourceSpans> traces;
  for (uint64_t t = 1; t <= 3; ++t) {
    std::vector<Span> spans;
    for (uint64_t s = 1; s <= 20; ++s) {
      spans.push_back(MakeSpan(t, s, s - 1, "GET /api/items", kBase, 10));
    }
    traces.push_back(Resource("checkout", std::move(spans)));
  }
  const std::string plain = traces[2].SerializeAsString();
  std::string zstd(1 + ZSTD_compressBound(plain.size()), kZstdRecord);
  const size_t n = ZSTD_compress(zstd.data() + 1, zstd.size() - 1, plain.data(), plain.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  zstd.resize(1 + n);
  const std::string records[] = {EncodePlainWalRecord(traces[0].SerializeAsString()),
                                 EncodeWalRecord(traces[1]), zstd};
  ASSERT_EQ(records[0][0], kPlainRecord);
  ASSERT_EQ(records[1][0], kSnappyRecord);
  {
    auto wal = storage::Wal::Open(dir_ + "/wal");
    ASSERT_TRUE(wal.ok()) << wal.status();
    for (const std::string& record : records) {
      std::string_view unit[] = {record};
      ASSERT_TRUE((*wal)->Append(unit).ok());
    }
  }
  auto db = MustOpen();
  // And a write of this version, replayed with them.
  MustWrite(*db, {Resource("cart", {MakeSpan(4, 1, 0, "POST /cart", kBase, 10)})}, 1);
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 61u);
  for (uint64_t t = 1; t <= 3; ++t) {
    std::optional<Trace> trace = db->GetTrace(TraceId(t));
    ASSERT_TRUE(trace.has_value()) << t;
    ASSERT_EQ(trace->resource_spans.size(), 1u);
    EXPECT_TRUE(MessageDifferencer::Equals(trace->resource_spans[0], traces[t - 1])) << t;
  }
  EXPECT_TRUE(db->GetTrace(TraceId(4)).has_value());
}

TEST_F(TraceDBTest, BackgroundMaintenanceAppliesRetention) {
  options_.retention_nano = 3600 * kSecond;
  options_.maintenance_interval_nano = 10'000'000;
  now_ = kBase;
  auto db = MustOpen();
  MustWrite(*db, {Resource("a", {MakeSpan(1, 1, 0, "op", kBase, kSecond)})}, 1);
  now_ = kBase + 7200 * kSecond;
  for (int i = 0; i < 500 && db->Stats().traces != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(db->Stats().traces, 0u);
  EXPECT_TRUE(db->Services().empty());
}

// The child of the crash test: writes traces from several threads while compacting the WAL and
// flushing the head into segments, reporting
// each acknowledged trace id on `ack_fd`, until killed.
[[noreturn]] void CrashChild(const std::string& dir, uint64_t round, int ack_fd) {
  TraceDBOptions options;
  options.retention_nano = 0;
  options.maintenance_interval_nano = 0;
  options.wal.segment_bytes = 16 << 10;
  auto db = TraceDB::Open(dir, options);
  if (!db.ok()) ::_exit(2);
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = 0;; ++n) {
        const uint64_t id = (uint64_t{1} << 62) | (round << 40) | (t << 32) | n;
        auto result = (*db)->Write({Resource(
            "svc", {MakeSpan(id, 1, 0, "op", kBase, 10), MakeSpan(id, 2, 1, "child", kBase, 5)})});
        if (!result.ok() || result->spans_written != 2) ::_exit(3);
        if (::write(ack_fd, &id, 8) != 8) ::_exit(4);
      }
    });
  }
  threads.emplace_back([&] {
    for (;;) {
      if (!(*db)->Maintain(true).ok()) ::_exit(5);
      if (!(*db)->Flush().ok()) ::_exit(6);
    }
  });
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST_F(TraceDBTest, KillNineLosesNoAcknowledgedWrite) {
  std::set<uint64_t> acked;
  for (uint64_t round = 0; round < 3; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CrashChild(dir_, round, fds[1]);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child failed with exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    std::string buffer;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    size_t round_acks = 0;
    for (size_t i = 0; i + 8 <= buffer.size(); i += 8) {
      uint64_t id;
      std::memcpy(&id, buffer.data() + i, 8);
      acked.insert(id);
      ++round_acks;
    }
    EXPECT_GT(round_acks, 0u) << "the child acknowledged nothing";

    options_.retention_nano = 0;
    auto db = MustOpen();
    ASSERT_NE(db, nullptr);
    for (uint64_t id : acked) {
      auto trace = db->GetTrace(TraceId(id));
      ASSERT_TRUE(trace.has_value()) << "acknowledged trace " << id << " lost";
      ASSERT_EQ(trace->resource_spans.size(), 1u);
      ASSERT_EQ(trace->resource_spans[0].scope_spans(0).spans_size(), 2) << "trace " << id;
    }
    // At most one unacknowledged write per thread is extra, and nothing is duplicated.
    const auto stats = db->Stats();
    EXPECT_GE(stats.traces, acked.size());
    EXPECT_LE(stats.traces, acked.size() + 3 * (round + 1));
    EXPECT_EQ(stats.spans, 2 * stats.traces);
  }
}

// Every OTLP field survives a segment: each attribute value type (span, resource, scope, event
// and link attributes), events, links, trace state, flags, dropped counts, status, and a span
// with an unusual kind and no parent next to one with a parent.
TEST_F(TraceDBTest, SegmentRoundTripPreservesEveryField) {
  ResourceSpans rs = FullResourceSpans();
  Span* span = rs.mutable_scope_spans(0)->mutable_spans(0);
  KeyValue* attr = span->add_attributes();
  attr->set_key("raw");
  attr->mutable_value()->set_bytes_value(std::string("\0\xff\x01", 3));
  attr = span->add_attributes();
  attr->set_key("map");
  auto* kv = attr->mutable_value()->mutable_kvlist_value()->add_values();
  kv->set_key("inner");
  kv->mutable_value()->set_double_value(-0.25);
  span->add_attributes()->set_key("empty");
  Span child = MakeSpan(1, 2, 1, "child", kBase + 7, 0, static_cast<Span::SpanKind>(42));
  child.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
  *rs.mutable_scope_spans(0)->add_spans() = child;
  auto* second_scope = rs.add_scope_spans();
  second_scope->mutable_scope()->set_name("other-scope");
  *second_scope->add_spans() = MakeSpan(1, 3, 2, "grandchild", kBase - 5, 100);
  for (Where where : kEverywhere) {
    SCOPED_TRACE(Name(where));
    auto db = OpenEmpty();
    MustWrite(*db, {rs}, 3);
    MoveTo(db, where);
    auto trace = db->GetTrace(TraceId(1));
    ASSERT_TRUE(trace.has_value());
    EXPECT_EQ(trace->trace_id, TraceId(1));
    ASSERT_EQ(trace->resource_spans.size(), 1u);
    EXPECT_TRUE(MessageDifferencer::Equals(trace->resource_spans[0], rs))
        << trace->resource_spans[0].DebugString();
    EXPECT_FALSE(db->GetTrace(TraceId(2)).has_value());
    EXPECT_FALSE(db->GetTrace("short").has_value());
  }
}

TEST_F(TraceDBTest, TraceSpreadOverHeadAndTwoSegments) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  MustWrite(*db,
            {Resource("a", {MakeSpan(7, 1, 0, "root", kBase, 100)}),
             Resource("a", {MakeSpan(8, 1, 0, "other", kBase, 100)})},
            2);
  ASSERT_TRUE(db->Flush().ok());
  MustWrite(*db, {Resource("b", {MakeSpan(7, 2, 1, "call", kBase + 10, 50)})}, 1);
  ASSERT_TRUE(db->Flush().ok());
  MustWrite(*db, {Resource("a", {MakeSpan(7, 3, 1, "late", kBase + 20, 5)})}, 1);
  // A retry of a span that is in a segment: stored again in the head, returned once.
  MustWrite(*db, {Resource("a", {MakeSpan(7, 1, 0, "root", kBase, 100)})}, 1);
  EXPECT_EQ(SegmentFiles(), 2u);
  auto check = [&](TraceDB& db) {
    auto trace = db.GetTrace(TraceId(7));
    ASSERT_TRUE(trace.has_value());
    ASSERT_EQ(trace->resource_spans.size(), 2u);
    std::set<std::string> names;
    size_t spans = 0;
    for (const auto& rs : trace->resource_spans) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          names.insert(span.name());
          ++spans;
        }
      }
    }
    EXPECT_EQ(spans, 3u);
    EXPECT_EQ(names, (std::set<std::string>{"root", "call", "late"}));
    // Found through the segment holding only the "b" span, returned whole.
    auto found = db.FindTraces({.service = "b"});
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_EQ(TraceIds(*found), std::vector<std::string>{TraceId(7)});
    EXPECT_EQ((*found)[0].resource_spans.size(), 2u);
    // Ordered by the newest "a" span start over all parts: trace 7 (head) before trace 8.
    found = db.FindTraces({.service = "a"});
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(TraceIds(*found), (std::vector<std::string>{TraceId(7), TraceId(8)}));
    found = db.FindTraces({.service = "a", .operation = "other"});
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(TraceIds(*found), std::vector<std::string>{TraceId(8)});
    EXPECT_EQ(db.Services(), (std::vector<std::string>{"a", "b"}));
    auto ops = db.Operations("a", std::nullopt);
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_EQ(ops[0].name, "late");
    EXPECT_EQ(ops[1].name, "other");
    EXPECT_EQ(ops[2].name, "root");
  };
  check(*db);
  db.reset();
  db = MustOpen();
  check(*db);
  EXPECT_EQ(db->Stats().segments, 2u);
  EXPECT_EQ(db->Stats().head_spans, 2u);
}

TEST_F(TraceDBTest, SearchAcrossManySegmentsMatchesTheHead) {
  options_.retention_nano = 0;
  options_.segment_block_bytes = 2 << 10;  // many blocks per segment
  // The same data in two stores: one keeps everything in the head, one flushes every 50 traces.
  const std::string head_dir = dir_ + "/head-only";
  auto head = TraceDB::Open(head_dir, options_);
  ASSERT_TRUE(head.ok()) << head.status();
  auto db = MustOpen();
  const char* services[] = {"web", "api", "db"};
  for (uint64_t t = 1; t <= 300; ++t) {
    std::vector<ResourceSpans> batch;
    const int64_t start = kBase + static_cast<int64_t>((t * 7919) % 300) * kSecond;
    for (uint64_t s = 1; s <= 3; ++s) {
      Span span = MakeSpan(t, s, s - 1, fmt::format("op{}", (t + s) % 4),
                           start + static_cast<int64_t>(s), static_cast<int64_t>(t * s * 1000),
                           s == 1 ? Span::SPAN_KIND_SERVER : Span::SPAN_KIND_CLIENT);
      AddString(span.mutable_attributes(), "mod", fmt::format("{}", t % 5));
      batch.push_back(Resource(services[s - 1], {span}));
    }
    MustWrite(**head, batch, 3);
    MustWrite(*db, batch, 3);
    if (t % 50 == 0) {
      ASSERT_TRUE(db->Flush().ok());
    }
  }
  EXPECT_EQ(SegmentFiles(), 6u);
  EXPECT_EQ(db->Stats().head_spans, 0u);
  std::vector<TraceQuery> queries = {
      {.service = "web"},
      {.service = "api", .limit = 7},
      {.service = "db", .operation = "op2", .limit = 100},
      {.service = "web", .tags = {{"mod", "3"}}, .limit = 100},
      {.service = "api", .span_kind = Span::SPAN_KIND_CLIENT, .limit = 30},
      {.service = "db",
       .start_unix_nano = kBase + 100 * kSecond,
       .end_unix_nano = kBase + 120 * kSecond,
       .limit = 100},
      {.service = "web", .min_duration_nano = 100'000, .max_duration_nano = 150'000},
      {.service = "nobody"},
  };
  for (const TraceQuery& q : queries) {
    SCOPED_TRACE(fmt::format("service {} op {} limit {}", q.service, q.operation, q.limit));
    auto want = (*head)->FindTraces(q);
    auto got = db->FindTraces(q);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(TraceIds(*got), TraceIds(*want));
  }
  EXPECT_EQ(db->Services(), (*head)->Services());
  EXPECT_EQ(db->Operations("db", std::nullopt).size(),
            (*head)->Operations("db", std::nullopt).size());
  auto deps = db->Dependencies(kBase + 400 * kSecond, 400 * kSecond);
  auto want_deps = (*head)->Dependencies(kBase + 400 * kSecond, 400 * kSecond);
  ASSERT_EQ(deps.size(), 2u);
  ASSERT_EQ(want_deps.size(), 2u);
  EXPECT_EQ(deps[0].call_count, want_deps[0].call_count);
  EXPECT_EQ(deps[1].call_count, 300);
  for (uint64_t t = 1; t <= 300; t += 37) {
    auto a = db->GetTrace(TraceId(t));
    auto b = (*head)->GetTrace(TraceId(t));
    ASSERT_TRUE(a.has_value() && b.has_value());
    ASSERT_EQ(a->resource_spans.size(), b->resource_spans.size());
    for (size_t r = 0; r < a->resource_spans.size(); ++r) {
      EXPECT_TRUE(MessageDifferencer::Equals(a->resource_spans[r], b->resource_spans[r]));
    }
  }
}

TEST_F(TraceDBTest, RetentionDropsWholeSegmentsByTimeAndSize) {
  options_.retention_nano = 3600 * kSecond;
  now_ = kBase;
  auto db = MustOpen();
  for (uint64_t part = 0; part < 4; ++part) {
    for (uint64_t t = 1; t <= 20; ++t) {
      const int64_t start = kBase + static_cast<int64_t>(part) * 1000 * kSecond;
      MustWrite(*db, {Resource("a", {MakeSpan(part * 100 + t, 1, 0, "op", start, kSecond)})}, 1);
    }
    ASSERT_TRUE(db->Flush().ok());
  }
  EXPECT_EQ(db->Stats().segments, 4u);
  // Parts end at kBase + {1, 1001, 2001, 3001} s; a cutoff at kBase + 1500 s drops two.
  now_ = kBase + 5100 * kSecond;
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Stats().segments, 2u);
  EXPECT_EQ(db->Stats().segments_dropped, 2u);
  EXPECT_EQ(SegmentFiles(), 2u);
  EXPECT_FALSE(db->GetTrace(TraceId(101)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(201)).has_value());
  auto found = db->FindTraces({.service = "a", .limit = 100});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 40u);

  // Size: keep at most what the newest segment takes.
  db.reset();
  options_.retention_nano = 0;
  const auto newest_bytes = [&] {
    uintmax_t newest = 0;
    std::string newest_name;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/segments")) {
      if (e.path().filename().string() > newest_name) {
        newest_name = e.path().filename().string();
        newest = e.file_size();
      }
    }
    return newest;
  }();
  options_.max_disk_bytes = newest_bytes;
  db = MustOpen();
  EXPECT_EQ(db->Stats().segments, 1u);
  EXPECT_LE(db->Stats().segment_bytes, newest_bytes);
  EXPECT_FALSE(db->GetTrace(TraceId(201)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(301)).has_value());
  EXPECT_EQ(SegmentFiles(), 1u);
}

TEST_F(TraceDBTest, FlushesByThresholdsAndReportsSelfMetrics) {
  options_.retention_nano = 0;
  options_.flush_spans = 10;
  metrics::Registry registry;
  options_.registry = &registry;
  auto db = MustOpen();
  for (uint64_t t = 1; t <= 9; ++t) {
    MustWrite(*db, {Resource("a", {MakeSpan(t, 1, 0, "op", kBase, 10)})}, 1);
  }
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Stats().segments, 0u);
  MustWrite(*db, {Resource("a", {MakeSpan(10, 1, 0, "op", kBase, 10)})}, 1);
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Stats().segments, 1u);
  EXPECT_EQ(db->Stats().flushes, 1u);
  EXPECT_EQ(db->Stats().spans, 10u);
  const std::string text = registry.Expose();
  EXPECT_NE(text.find("oriel_tracestore_segments 1"), std::string::npos) << text;
  EXPECT_NE(text.find("oriel_tracestore_segment_spans 10"), std::string::npos) << text;
  EXPECT_NE(text.find("oriel_tracestore_head_spans 0"), std::string::npos) << text;
  EXPECT_NE(text.find("oriel_tracestore_segment_bytes "), std::string::npos) << text;
  // By age of the head's first span.
  options_.flush_spans = 0;
  options_.flush_age_nano = 60 * kSecond;
  options_.registry = nullptr;
  db.reset();
  db = MustOpen();
  MustWrite(*db, {Resource("a", {MakeSpan(11, 1, 0, "op", kBase, 10)})}, 1);
  now_ += 59 * kSecond;
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Stats().segments, 1u);
  now_ += kSecond;
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Stats().segments, 2u);
  EXPECT_EQ(db->Stats().head_spans, 0u);
}

TEST_F(TraceDBTest, WritesDuringFlushesAreKept) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread flusher([&] {
    while (!done) {
      if (!db->Flush().ok()) ++failures;
      if (!db->Maintain(true).ok()) ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<std::thread> writers;
  for (uint64_t w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (uint64_t t = 1; t <= 300; ++t) {
        // Two writes per trace, so that flushes split traces between segments.
        const uint64_t id = w * 1000 + t;
        if (!db->Write({Resource("s", {MakeSpan(id, 1, 0, "root", kBase, 10)})}).ok()) ++failures;
        if (!db->Write({Resource("s", {MakeSpan(id, 2, 1, "kid", kBase, 5)})}).ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  flusher.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(db->Stats().segments, 1u);
  auto check = [&](TraceDB& db) {
    for (uint64_t w = 0; w < 3; ++w) {
      for (uint64_t t = 1; t <= 300; ++t) {
        auto trace = db.GetTrace(TraceId(w * 1000 + t));
        ASSERT_TRUE(trace.has_value()) << w * 1000 + t;
        size_t spans = 0;
        for (const auto& rs : trace->resource_spans) {
          for (const auto& ss : rs.scope_spans()) spans += static_cast<size_t>(ss.spans_size());
        }
        ASSERT_EQ(spans, 2u) << w * 1000 + t;
      }
    }
    EXPECT_EQ(db.Stats().spans, 1800u);
  };
  check(*db);
  db.reset();
  db = MustOpen();
  check(*db);
}

// A flush publishes its segment, then drops its traces from the head a few at a time: reads go
// on between the batches, and see every span once (from the segment; the head skips them).
TEST_F(TraceDBTest, ReadsGoOnWhileAFlushDropsItsTracesFromTheHead) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  constexpr uint64_t kTraces = 20000;
  constexpr uint64_t kTracesPerWrite = 500;
  // Each trace: a frontend span calling a backend span, one dependency link.
  auto write_traces = [&](uint64_t first) {
    for (uint64_t t = first; t < first + kTraces; t += kTracesPerWrite) {
      std::vector<Span> frontend;
      std::vector<Span> backend;
      for (uint64_t id = t; id < t + kTracesPerWrite; ++id) {
        frontend.push_back(MakeSpan(id, 1, 0, "GET /", kBase, 10));
        backend.push_back(MakeSpan(id, 2, 1, "query", kBase + 1, 5, Span::SPAN_KIND_CLIENT));
      }
      MustWrite(*db, {Resource("frontend", frontend), Resource("backend", backend)},
                2 * kTracesPerWrite);
    }
  };
  auto links = [&] {
    auto deps = db->Dependencies(kBase + kSecond, 2 * kSecond);
    return deps.size() == 1 ? deps[0].call_count : -static_cast<int64_t>(deps.size());
  };
  // Reads see the head shrink batch by batch: two different counts of spans left to drop. The
  // windows between batches are short; a few flushes make sure two are seen.
  std::set<size_t> draining_seen;
  uint64_t total = 0;
  for (int round = 0; round < 5 && draining_seen.size() < 2; ++round) {
    write_traces(total + 1);
    total += kTraces;
    std::atomic<bool> done{false};
    std::thread flusher([&] {
      EXPECT_TRUE(db->Flush().ok());
      done = true;
    });
    int checked = 0;
    while (!done) {
      const TraceDBStats stats = db->Stats();
      if (stats.draining_spans == 0) continue;
      draining_seen.insert(stats.draining_spans);
      EXPECT_EQ(stats.spans, 2 * total);
      EXPECT_EQ(stats.segment_spans + stats.head_spans, 2 * total);
      // Reading every segment takes a while: a few checks per flush.
      if (++checked > 2) continue;
      // Without the skip, the links of the traces still in the head would count twice.
      EXPECT_EQ(links(), static_cast<int64_t>(total));
      // BuildTrace would merge a span read twice anyway: this only checks the trace is whole.
      auto trace = db->GetTrace(TraceId(total));
      ASSERT_TRUE(trace.has_value());
      size_t spans = 0;
      for (const auto& rs : trace->resource_spans) spans += rs.scope_spans(0).spans_size();
      EXPECT_EQ(spans, 2u);
    }
    flusher.join();
  }
  EXPECT_GE(draining_seen.size(), 2u) << "reads did not run between the batches of a flush";
  const TraceDBStats stats = db->Stats();
  EXPECT_EQ(stats.draining_spans, 0u);
  EXPECT_EQ(stats.head_spans, 0u);
  EXPECT_EQ(stats.spans, 2 * total);
  EXPECT_EQ(links(), static_cast<int64_t>(total));
}

// Writers that outpace segment encoding wait for the flush once the head is past its stall
// bound, so that the head's memory stays bounded; nothing acknowledged is lost.
TEST_F(TraceDBTest, HeadMemoryStaysBoundedWhileFlushing) {
  options_.retention_nano = 0;
  options_.flush_bytes = 0;
  options_.flush_memory_bytes = 1 << 20;
  options_.write_stall_memory_bytes = 2 << 20;
  // Slow flushes (zstd's strongest level over large blocks) so that writers outpace them.
  options_.segment_zstd_level = 19;
  options_.segment_block_bytes = 8 << 20;
  // Flushes by the background thread, woken by the write that makes one due.
  options_.maintenance_interval_nano = 3600 * kSecond;
  auto db = MustOpen();
  constexpr uint64_t kWriters = 4;
  constexpr uint64_t kTraces = 400;
  auto trace_of = [](uint64_t id) {
    std::vector<Span> spans;
    for (uint64_t s = 1; s <= 5; ++s) {
      Span span = MakeSpan(id, s, s - 1, "op", kBase + static_cast<int64_t>(id), 10);
      for (int a = 0; a < 20; ++a) {
        KeyValue* kv = span.add_attributes();
        kv->set_key(fmt::format("attribute.{}", a));
        kv->mutable_value()->set_string_value(fmt::format("value {} of span {} of {}", a, s, id));
      }
      spans.push_back(std::move(span));
    }
    return Resource("svc", std::move(spans));
  };
  std::atomic<int> failures{0};
  std::atomic<size_t> peak{0};
  std::vector<std::thread> writers;
  for (uint64_t w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (uint64_t t = 1; t <= kTraces; ++t) {
        auto result = db->Write({trace_of(w * 1000 + t)});
        if (!result.ok() || result->spans_written != 5) ++failures;
        const size_t memory = db->Stats().memory_bytes;
        size_t seen = peak.load();
        while (memory > seen && !peak.compare_exchange_weak(seen, memory)) {
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(db->Stats().flushes, 1u);
  // Writers that passed the check together each add one write (~5 spans of ~3 KB) past it.
  EXPECT_LE(peak.load(), options_.write_stall_memory_bytes + kWriters * (32 << 10))
      << "stalls: " << db->Stats().write_stalls;
  auto check = [&](TraceDB& db) {
    for (uint64_t w = 0; w < kWriters; ++w) {
      for (uint64_t t = 1; t <= kTraces; t += 7) {
        ASSERT_TRUE(db.GetTrace(TraceId(w * 1000 + t)).has_value()) << w * 1000 + t;
      }
    }
    EXPECT_EQ(db.Stats().spans, kWriters * kTraces * 5);
  };
  check(*db);
  db.reset();
  db = MustOpen();
  check(*db);
}

TEST_F(TraceDBTest, HeadMemoryEstimateFollowsTheHead) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  EXPECT_EQ(db->Stats().memory_bytes, 0u);
  Span span = MakeSpan(1, 1, 0, "op", kBase, 10);
  for (int a = 0; a < 20; ++a) {
    KeyValue* kv = span.add_attributes();
    kv->set_key(fmt::format("attribute.{}", a));
    kv->mutable_value()->set_string_value(
        fmt::format("a value longer than the inline buffer {}", a));
  }
  const size_t serialized = span.ByteSizeLong();
  MustWrite(*db, {Resource("a", {span})}, 1);
  const size_t one = db->Stats().memory_bytes;
  // The head holds spans serialized: the estimate counts those bytes and the per-span and
  // per-trace index overhead, and no longer the several times larger parsed form.
  EXPECT_GT(one, serialized);
  EXPECT_LT(one, serialized + 2048);
  MustWrite(*db, {Resource("a", {MakeSpan(2, 1, 0, "op", kBase, 10)})}, 1);
  EXPECT_GT(db->Stats().memory_bytes, one);
  // Replay accounts the same as writes.
  const size_t two = db->Stats().memory_bytes;
  db.reset();
  db = MustOpen();
  // Parsed strings may have other capacities than the written ones.
  EXPECT_NEAR(static_cast<double>(db->Stats().memory_bytes), static_cast<double>(two), two / 10.0);
  ASSERT_TRUE(db->Flush().ok());
  EXPECT_EQ(db->Stats().memory_bytes, 0u);
}

// A crash after the segment's rename and before the WAL deletion: both hold the spans.
TEST_F(TraceDBTest, CrashBetweenSegmentWriteAndWalDropDuplicatesNothing) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  WriteSearchData(*db);
  const std::string saved = dir_ + "-wal";
  std::filesystem::copy(dir_ + "/wal", saved);
  ASSERT_TRUE(db->Flush().ok());
  MustWrite(*db, {Resource("late", {MakeSpan(50, 1, 0, "op", kBase, 10)})}, 1);
  db.reset();
  const size_t wal_files = WalSegments();
  std::filesystem::copy(
      saved, dir_ + "/wal",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::skip_existing);
  std::filesystem::remove_all(saved);
  ASSERT_GT(WalSegments(), wal_files) << "the WAL before the cut is back";
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 6u);
  EXPECT_EQ(db->Stats().segment_spans, 5u);
  auto trace = db->GetTrace(TraceId(1));
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(trace->resource_spans.size(), 2u);
  EXPECT_EQ(trace->resource_spans[0].scope_spans(0).spans_size(), 1);
  EXPECT_TRUE(db->GetTrace(TraceId(50)).has_value());
  // The WAL below the checkpoint is gone now.
  db.reset();
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 6u);
}

// A crash while the segment file was written leaves a temporary file: removed on open.
TEST_F(TraceDBTest, UnfinishedSegmentFileIsRemoved) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  WriteSearchData(*db);
  db.reset();
  {
    std::ofstream tmp(dir_ + "/segments/00000001-00000000000000000001.seg.tmp");
    tmp << "ORTSEGv1 partial";
  }
  db = MustOpen();
  EXPECT_EQ(db->Stats().spans, 5u);
  EXPECT_EQ(SegmentFiles(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/segments/00000001-00000000000000000001.seg.tmp"));
}

std::string OnlySegment(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir + "/segments")) {
    return e.path().string();
  }
  return "";
}

TEST_F(TraceDBTest, TruncatedSegmentFile) {
  options_.retention_nano = 0;
  // The WAL still holds the spans (the crash came before its deletion): the segment, never
  // relied upon, is removed and the WAL replayed.
  {
    auto db = MustOpen();
    WriteSearchData(*db);
    const std::string saved = dir_ + "-wal";
    std::filesystem::copy(dir_ + "/wal", saved);
    ASSERT_TRUE(db->Flush().ok());
    db.reset();
    std::filesystem::copy(
        saved, dir_ + "/wal",
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::skip_existing);
    std::filesystem::remove_all(saved);
    const std::string seg = OnlySegment(dir_);
    std::filesystem::resize_file(seg, std::filesystem::file_size(seg) / 2);
    db = MustOpen();
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->Stats().spans, 5u);
    EXPECT_EQ(db->Stats().segments, 0u);
    EXPECT_FALSE(std::filesystem::exists(seg));
  }
  // The WAL was dropped: the spans exist only in the segment, so its damage is data loss.
  {
    auto db = OpenEmpty();
    WriteSearchData(*db);
    ASSERT_TRUE(db->Flush().ok());
    db.reset();
    const std::string seg = OnlySegment(dir_);
    std::filesystem::resize_file(seg, std::filesystem::file_size(seg) - 3);
    auto reopened = TraceDB::Open(dir_, options_);
    ASSERT_FALSE(reopened.ok());
    EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(reopened.status().message().find(seg), std::string::npos) << reopened.status();
  }
}

TEST_F(TraceDBTest, CorruptSegment) {
  options_.retention_nano = 0;
  auto db = MustOpen();
  WriteSearchData(*db);
  ASSERT_TRUE(db->Flush().ok());
  MustWrite(*db, {Resource("x", {MakeSpan(60, 1, 0, "op", kBase, 10)})}, 1);
  ASSERT_TRUE(db->Flush().ok());
  db.reset();
  std::vector<std::string> segs;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/segments")) {
    segs.push_back(e.path().string());
  }
  std::sort(segs.begin(), segs.end());
  ASSERT_EQ(segs.size(), 2u);
  auto flip = [](const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  };
  // A damaged block: the store opens (indexes are intact), reading the block fails clearly.
  flip(segs[0], 12);
  db = MustOpen();
  ASSERT_NE(db, nullptr);
  EXPECT_FALSE(db->GetTrace(TraceId(1)).has_value());
  EXPECT_TRUE(db->GetTrace(TraceId(60)).has_value());
  auto found = db->FindTraces({.service = "frontend"});
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(found.status().message().find(segs[0]), std::string::npos) << found.status();
  EXPECT_NE(found.status().message().find("checksum mismatch"), std::string::npos);
  db.reset();
  // A damaged index of a segment that is not the newest: opening fails naming the file.
  flip(segs[0], std::filesystem::file_size(segs[0]) - 30);
  auto reopened = TraceDB::Open(dir_, options_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reopened.status().message().find(segs[0]), std::string::npos) << reopened.status();
}

}  // namespace
}  // namespace oriel::tracestore
