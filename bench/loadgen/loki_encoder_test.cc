#include "loadgen/loki_encoder.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/compression.h"

namespace oriel::loadgen {
namespace {

TEST(LokiEncoderTest, StreamsPerServiceAndLevelWithTraceIdsAsMetadata) {
  TraceGenerator gen({.services = 5, .error_rate = 0.4, .seed = 12});
  std::vector<GeneratedTrace> traces;
  std::set<std::string> span_keys;
  int failures = 0;
  for (int i = 0; i < 30; ++i) {
    traces.push_back(gen.Next(1'700'000'000'000'000'000 + i * 1'000'000'000LL));
    for (const auto& g : traces.back().spans) {
      span_keys.insert(Hex(g.span.trace_id()) + "/" + Hex(g.span.span_id()));
    }
    failures += traces.back().error ? 1 : 0;
  }
  ASSERT_GT(failures, 0);
  const LokiBody body = EncodeLokiPush(BuildLokiPush(gen, traces));
  auto raw = net::SnappyDecode(body.body, 64 << 20);
  ASSERT_TRUE(raw.ok()) << raw.status();
  logproto::PushRequest decoded;
  ASSERT_TRUE(decoded.ParseFromString(*raw));
  ASSERT_GT(decoded.streams_size(), 5);
  std::set<std::string> labels;
  int errors = 0;
  for (const auto& stream : decoded.streams()) {
    EXPECT_TRUE(labels.insert(stream.labels()).second) << "one stream per label set";
    ASSERT_EQ(stream.labels().front(), '{');
    ASSERT_EQ(stream.labels().back(), '}');
    EXPECT_NE(stream.labels().find("service_name=\""), std::string::npos) << stream.labels();
    const bool error_stream = stream.labels().find("level=\"error\"") != std::string::npos;
    int64_t previous = 0;
    for (const auto& e : stream.entries()) {
      const int64_t t = e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos();
      EXPECT_GE(t, previous) << "entries in time order";
      previous = t;
      ASSERT_EQ(e.structuredmetadata_size(), 2);
      EXPECT_EQ(e.structuredmetadata(0).name(), "trace_id");
      EXPECT_EQ(e.structuredmetadata(0).value().size(), 32u);
      EXPECT_TRUE(
          span_keys.count(e.structuredmetadata(0).value() + "/" + e.structuredmetadata(1).value()));
      EXPECT_EQ(e.line().rfind(error_stream ? "level=error" : "level=", 0), 0u) << e.line();
      errors += error_stream ? 1 : 0;
    }
  }
  EXPECT_EQ(errors, failures);
  EXPECT_EQ(Hex(std::string("\x01\xab", 2)), "01ab");
}

}  // namespace
}  // namespace oriel::loadgen
