#include "tracestore/segment.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "fmt/format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

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

std::string Encode(const std::vector<std::vector<StoredSpan>>& traces) {
  BlockEncoder encoder;
  for (const auto& trace : traces) {
    std::vector<const StoredSpan*> pointers;
    for (const auto& s : trace) pointers.push_back(&s);
    encoder.AddTrace(trace[0].span.trace_id(), pointers);
  }
  EXPECT_EQ(encoder.traces(), traces.size());
  return encoder.Finish();
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

// Every truncation and many byte changes of a valid body: an error or a result, never a crash
// (run under the sanitizers by `make fuzz` through segment_block_fuzz).
TEST(SegmentBlockTest, HostileBodiesFailCleanly) {
  const std::string body = Encode(MakeTraces(5));
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
    std::vector<const StoredSpan*> pointers;
    for (const auto& s : trace) pointers.push_back(&s);
    (*writer)->AddTrace(trace[0].span.trace_id(), pointers);
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
}

TEST_F(SegmentFileTest, GarbageAndTruncatedFilesAreDataLoss) {
  const std::string path = dir_ + "/1-1.seg";
  {
    auto writer = SegmentWriter::Create(path, 1, {});
    ASSERT_TRUE(writer.ok());
    const auto traces = MakeTraces(3);
    for (const auto& trace : traces) {
      std::vector<const StoredSpan*> pointers;
      for (const auto& s : trace) pointers.push_back(&s);
      (*writer)->AddTrace(trace[0].span.trace_id(), pointers);
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

}  // namespace
}  // namespace oriel::tracestore
