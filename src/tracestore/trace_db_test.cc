#include "tracestore/trace_db.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "base/metrics.h"
#include "base/status.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

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
  auto db = MustOpen();
  WriteSearchData(*db);
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
  EXPECT_EQ(find({.service = "frontend", .end_unix_nano = kBase + 5 * kSecond}), (Ids{TraceId(1)}));
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
      db->FindTraces({.service = "frontend", .min_duration_nano = 2, .max_duration_nano = 1}).ok());
  EXPECT_FALSE(
      db->FindTraces({.service = "frontend", .start_unix_nano = 2, .end_unix_nano = 1}).ok());
}

TEST_F(TraceDBTest, ServicesAndOperations) {
  auto db = MustOpen();
  WriteSearchData(*db);
  MustWrite(*db, {[] {
    ResourceSpans rs;  // no service.name
    *rs.add_scope_spans()->add_spans() = MakeSpan(9, 1, 0, "anon", kBase, 1);
    return rs;
  }()},
            1);
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

TEST_F(TraceDBTest, Dependencies) {
  auto db = MustOpen();
  // a -> b twice (two traces), b -> c once, a -> a not counted, parent in another trace ignored.
  for (uint64_t t = 1; t <= 2; ++t) {
    MustWrite(
        *db,
        {Resource("a", {MakeSpan(t, 1, 0, "root", kBase, 10), MakeSpan(t, 2, 1, "self", kBase, 5)}),
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

// The child of the crash test: writes traces from several threads while compacting, reporting
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

}  // namespace
}  // namespace oriel::tracestore
