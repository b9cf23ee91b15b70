// TraceDB::WriteBatch: resources stored as the receiver got them, unless it refused some spans.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tracestore/encoded_spans.h"
#include "tracestore/trace_db.h"

namespace oriel::tracestore {
namespace {

using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

constexpr int64_t kStart = int64_t{1'700'000'000} * 1'000'000'000;

// A length-delimited field (numbers and lengths under 128 here).
std::string Field(int number, const std::string& payload) {
  return std::string(1, static_cast<char>(number << 3 | 2)) +
         std::string(1, static_cast<char>(payload.size())) + payload;
}

Span MakeSpan(char trace, char span) {
  Span s;
  s.set_trace_id(std::string(15, '\0') + trace);
  s.set_span_id(std::string(7, '\0') + span);
  s.set_name("GET /cart");
  s.set_kind(Span::SPAN_KIND_SERVER);
  s.set_start_time_unix_nano(kStart);
  s.set_end_time_unix_nano(kStart + 1000);
  return s;
}

// A ResourceSpans of service `service` encoded with each span's name first, out of field order:
// valid protobuf that a parse accepts and that no serializer writes.
std::string Unusual(const std::string& service, const std::vector<Span>& spans) {
  ResourceSpans rs;
  auto* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  std::string scope = Field(1, Field(1, "lib"));
  for (const Span& span : spans) {
    Span rest = span;
    rest.clear_name();
    scope += Field(2, Field(5, span.name()) + rest.SerializeAsString());
  }
  return Field(1, rs.resource().SerializeAsString()) + Field(2, scope);
}

class WriteBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tracestore_batch_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.maintenance_interval_nano = 0;
    options_.retention_nano = 0;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TraceDB> MustOpen() {
    auto db = TraceDB::Open(dir_, options_);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Every byte of the WAL segments.
  std::string WalBytes() {
    std::string all;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/wal")) {
      std::ifstream in(e.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

  // The spans of the stored trace `trace`.
  std::vector<Span> Spans(TraceDB& db, char trace) {
    std::vector<Span> out;
    auto t = db.GetTrace(std::string(15, '\0') + trace);
    if (!t) return out;
    for (const auto& rs : t->resource_spans) {
      for (const auto& ss : rs.scope_spans())
        out.insert(out.end(), ss.spans().begin(), ss.spans().end());
    }
    return out;
  }

  std::string dir_;
  TraceDBOptions options_;
};

TEST_F(WriteBatchTest, StoresTheResourceAsReceived) {
  const Span span = MakeSpan(1, 1);
  const std::string encoded = Unusual("cart", {span});
  ASSERT_NE(encoded.size(), 0u);
  google::protobuf::RepeatedPtrField<ResourceSpans> received;
  ASSERT_TRUE(received.Add()->ParseFromString(encoded));
  ASSERT_NE(received.Get(0).SerializeAsString(), encoded);  // a serialization would differ
  {
    auto db = MustOpen();
    SpanBatch batch{.resource_spans = &received, .encoded = {encoded}};
    auto written = db->WriteBatch(batch);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(written->spans_written, 1);
    EXPECT_EQ(written->spans_rejected, 0);
    // Small records are written uncompressed: the received bytes are in the WAL as they came.
    EXPECT_NE(WalBytes().find(encoded), std::string::npos);
    // The stored span is left in the batch.
    ASSERT_EQ(received.Get(0).scope_spans(0).spans_size(), 1);
    std::vector<Span> head = Spans(*db, 1);
    ASSERT_EQ(head.size(), 1u);
    EXPECT_TRUE(MessageDifferencer::Equals(head[0], span)) << head[0].DebugString();
  }
  auto db = MustOpen();  // replayed from the WAL
  std::vector<Span> replayed = Spans(*db, 1);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(replayed[0], span)) << replayed[0].DebugString();
  ASSERT_TRUE(db->Flush().ok());  // a segment encoded from the received span bytes
  std::vector<Span> flushed = Spans(*db, 1);
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(flushed[0], span)) << flushed[0].DebugString();
  EXPECT_EQ(db->Stats().segments, 1u);
}

TEST_F(WriteBatchTest, SerializesAResourceWithRefusedSpans) {
  Span invalid = MakeSpan(2, 3);
  invalid.set_trace_id("abc");
  const std::string encoded = Unusual("cart", {MakeSpan(2, 2), invalid});
  google::protobuf::RepeatedPtrField<ResourceSpans> received;
  ASSERT_TRUE(received.Add()->ParseFromString(encoded));
  auto db = MustOpen();
  SpanBatch batch{.resource_spans = &received, .encoded = {encoded}};
  auto written = db->WriteBatch(batch);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->spans_written, 1);
  EXPECT_EQ(written->spans_rejected, 1);
  EXPECT_EQ(written->first_rejection,
            "span 1 of scope 0 of resource 0: trace_id must be 16 bytes, got 3");
  EXPECT_EQ(WalBytes().find(encoded), std::string::npos);
  ASSERT_EQ(received.Get(0).scope_spans(0).spans_size(), 1);
  db.reset();
  db = MustOpen();
  std::vector<Span> replayed = Spans(*db, 2);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(replayed[0], MakeSpan(2, 2)));
  EXPECT_EQ(db->Stats().spans, 1u);
}

TEST_F(WriteBatchTest, EncodingsThatDoNotMatchTheResourcesAreIgnored) {
  google::protobuf::RepeatedPtrField<ResourceSpans> received;
  ASSERT_TRUE(received.Add()->ParseFromString(Unusual("cart", {MakeSpan(3, 1)})));
  ASSERT_TRUE(received.Add()->ParseFromString(Unusual("shop", {MakeSpan(3, 2)})));
  auto db = MustOpen();
  // One encoding for two resources: neither is trusted.
  const std::string stray = Unusual("stray", {MakeSpan(4, 1)});
  SpanBatch batch{.resource_spans = &received, .encoded = {stray}};
  auto written = db->WriteBatch(batch);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->spans_written, 2);
  EXPECT_EQ(Spans(*db, 3).size(), 2u);
  EXPECT_TRUE(Spans(*db, 4).empty());
  EXPECT_EQ(WalBytes().find(stray), std::string::npos);
}

// A batch as the OTLP receivers make it: read in place, never decoded (views into the encodings,
// which must outlive it).
SpanBatch ReadInPlace(const std::vector<std::string_view>& encodings) {
  SpanBatch batch;
  for (std::string_view e : encodings) {
    EXPECT_TRUE(ReadEncodedResourceSpans(e, &batch.read.emplace_back()).ok());
  }
  return batch;
}

TEST_F(WriteBatchTest, StoresAResourceReadInPlaceAsReceived) {
  const Span span = MakeSpan(5, 1);
  const std::string encoded = Unusual("cart", {span});
  {
    auto db = MustOpen();
    SpanBatch batch = ReadInPlace({encoded});
    auto written = db->WriteBatch(batch);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(written->spans_written, 1);
    EXPECT_EQ(written->spans_rejected, 0);
    EXPECT_EQ(batch.resource_spans, nullptr);  // not decoded
    EXPECT_NE(WalBytes().find(encoded), std::string::npos);
    std::vector<Span> head = Spans(*db, 5);
    ASSERT_EQ(head.size(), 1u);
    EXPECT_TRUE(MessageDifferencer::Equals(head[0], span)) << head[0].DebugString();
    auto trace = db->GetTrace(std::string(15, '\0') + '\5');
    ASSERT_TRUE(trace.has_value());
    EXPECT_EQ(trace->resource_spans.at(0).resource().attributes(0).value().string_value(), "cart");
    EXPECT_EQ(trace->resource_spans.at(0).scope_spans(0).scope().name(), "lib");
    EXPECT_EQ(db->Services(), std::vector<std::string>{"cart"});
  }
  auto db = MustOpen();  // replayed from the WAL
  std::vector<Span> replayed = Spans(*db, 5);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(replayed[0], span)) << replayed[0].DebugString();
  ASSERT_TRUE(db->Flush().ok());
  std::vector<Span> flushed = Spans(*db, 5);
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(flushed[0], span)) << flushed[0].DebugString();
}

TEST_F(WriteBatchTest, StoresOnlyTheValidSpansOfAResourceReadInPlace) {
  Span invalid = MakeSpan(6, 3);
  invalid.set_trace_id("abc");
  const std::string encoded = Unusual("cart", {MakeSpan(6, 2), invalid});
  const std::string other = Unusual("shop", {invalid});
  auto db = MustOpen();
  SpanBatch batch = ReadInPlace({other, encoded});
  auto written = db->WriteBatch(batch);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->spans_written, 1);
  EXPECT_EQ(written->spans_rejected, 2);
  EXPECT_EQ(written->first_rejection,
            "span 0 of scope 0 of resource 0: trace_id must be 16 bytes, got 3");
  EXPECT_EQ(WalBytes().find(encoded), std::string::npos);
  db.reset();
  db = MustOpen();
  std::vector<Span> replayed = Spans(*db, 6);
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(replayed[0], MakeSpan(6, 2)));
  EXPECT_EQ(db->Stats().spans, 1u);
  EXPECT_EQ(db->Services(), std::vector<std::string>{"cart"});
}

TEST_F(WriteBatchTest, DecodeParsesABatchReadInPlace) {
  const std::string a = Unusual("cart", {MakeSpan(7, 1)});
  const std::string b = Unusual("shop", {MakeSpan(7, 2)});
  const std::string c = Unusual("shop", {MakeSpan(7, 3)});
  SpanBatch batch = ReadInPlace({a, b, c});
  auto decoded = batch.Decode();
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ((*decoded)->size(), 3);
  EXPECT_EQ((*decoded)->Get(1).scope_spans(0).spans(0).span_id(), MakeSpan(7, 2).span_id());
  EXPECT_EQ(batch.encoded, (std::vector<std::string_view>{a, b, c}));
  EXPECT_EQ(batch.read.size(), 3u);
  // The default WriteBatch of other writers decodes it.
  auto db = MustOpen();
  auto written = db->WriteBatch(batch);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->spans_written, 3);
}

}  // namespace
}  // namespace oriel::tracestore
