#include "tracestore/span_memory.h"

#include <string>

#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::Span;

// A span like the load generator's: 20 attributes, an event with attributes, a link, a status.
Span RealisticSpan() {
  Span span;
  span.set_trace_id(std::string(16, '\x01'));
  span.set_span_id(std::string(8, '\x02'));
  span.set_parent_span_id(std::string(8, '\x03'));
  span.set_name("GET /api/v1/orders/{id}");
  for (int i = 0; i < 20; ++i) {
    auto* kv = span.add_attributes();
    kv->set_key("attribute.key." + std::to_string(i));
    if (i % 3 == 0) {
      kv->mutable_value()->set_int_value(i);
    } else if (i % 3 == 1) {
      kv->mutable_value()->set_string_value("a value long enough to leave the inline buffer");
    } else {
      kv->mutable_value()->mutable_array_value()->add_values()->set_string_value("short");
    }
  }
  auto* event = span.add_events();
  event->set_name("exception");
  auto* kv = event->add_attributes();
  kv->set_key("exception.stacktrace");
  kv->mutable_value()->set_string_value(std::string(400, 'x'));
  auto* link = span.add_links();
  link->set_trace_id(std::string(16, '\x04'));
  link->set_span_id(std::string(8, '\x05'));
  span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  span.mutable_status()->set_message("boom");
  return span;
}

TEST(SpanMemoryTest, MallocChunks) {
  EXPECT_EQ(MallocChunkBytes(1), 32u);
  EXPECT_EQ(MallocChunkBytes(24), 32u);
  EXPECT_EQ(MallocChunkBytes(25), 48u);
  EXPECT_EQ(MallocChunkBytes(100), 112u);
}

// Protobuf's own reflection-based count (objects and buffers, without malloc's headers and
// rounding) is the reference: the estimate adds those, so it lies a little above.
TEST(SpanMemoryTest, EstimateTracksProtobufSpaceUsed) {
  const Span span = RealisticSpan();
  const size_t estimate = EstimatedSpanHeapBytes(span) + sizeof(Span);
  const size_t space_used = span.SpaceUsedLong();
  EXPECT_GE(estimate, space_used);
  EXPECT_LE(estimate, space_used * 3 / 2);
  // The point of the estimate: parsed spans cost several times their serialized size.
  EXPECT_GT(estimate, 3 * span.ByteSizeLong());
}

TEST(SpanMemoryTest, EmptySpanOwnsNothing) { EXPECT_EQ(EstimatedSpanHeapBytes(Span()), 0u); }

TEST(SpanMemoryTest, GrowsWithEveryPart) {
  Span span = RealisticSpan();
  size_t before = EstimatedSpanHeapBytes(span);
  span.mutable_events(0)->mutable_attributes(0)->mutable_value()->set_string_value(
      std::string(4000, 'y'));
  EXPECT_GE(EstimatedSpanHeapBytes(span), before + 3600);
  before = EstimatedSpanHeapBytes(span);
  span.mutable_links(0)->add_attributes()->set_key("k");
  EXPECT_GT(EstimatedSpanHeapBytes(span), before);
  before = EstimatedSpanHeapBytes(span);
  auto* kvlist = span.add_attributes()->mutable_value()->mutable_kvlist_value();
  kvlist->add_values()->set_key("nested");
  EXPECT_GT(EstimatedSpanHeapBytes(span), before);
}

}  // namespace
}  // namespace oriel::tracestore
