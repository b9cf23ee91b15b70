#include "loadgen/send_stats.h"

#include "gtest/gtest.h"

namespace oriel::loadgen {
namespace {

TEST(SendStatsTest, CountsAcknowledgedRejectedAndFailedSeparately) {
  SendStats stats;
  stats.Record(Signal::kMetrics, 2000, 100, 204, "", 0.002);
  stats.Record(Signal::kMetrics, 2000, 100, 200, "", 0.004);
  stats.Record(Signal::kMetrics, 500, 50, 404, "404 page not found", 0.001);
  stats.Record(Signal::kMetrics, 500, 50, 0, "Connection refused", 0.001);
  stats.Record(Signal::kTraces, 30, 9000, 400, "bad \"span\"\n", 0.01);
  const StatsSnapshot s = stats.Snapshot();
  const SignalTotals& m = s[static_cast<int>(Signal::kMetrics)];
  EXPECT_EQ(m.requests_sent, 4);
  EXPECT_EQ(m.items_sent, 5000);
  EXPECT_EQ(m.requests_acked, 2);
  EXPECT_EQ(m.items_acked, 4000);
  EXPECT_EQ(m.rejected_requests.at("404"), 1);
  EXPECT_EQ(m.rejected_items.at("404"), 500);
  EXPECT_EQ(m.transport_errors, 1);
  EXPECT_EQ(m.last_error, "Connection refused");
  EXPECT_GE(m.LatencyQuantile(0.99), 0.004);
  EXPECT_LE(m.LatencyQuantile(0.5), 0.0025);

  const std::string json = FormatJson(s, 2.0);
  EXPECT_NE(json.find("\"metrics\":{\"unit\":\"samples\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"items_acked\":4000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"achieved_rate\":2000.000"), std::string::npos) << json;
  EXPECT_NE(json.find("\"404\":{\"requests\":1,\"items\":500}"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("last_error":"HTTP 400: bad \"span\"\n")"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"logs\""), std::string::npos) << "unused signals are left out";

  const std::string text = FormatText(s, 2.0);
  EXPECT_NE(text.find("metrics: sent 5000 samples in 4 requests"), std::string::npos) << text;
  EXPECT_NE(text.find("1x404"), std::string::npos) << text;
}

TEST(SendStatsTest, GrpcStatusesAreCountedByName) {
  SendStats stats;
  stats.RecordGrpc(Signal::kTraces, 30, 900, 0, "", 0.002);
  stats.RecordGrpc(Signal::kTraces, 20, 600, 8, "too much", 0.002);
  stats.RecordGrpc(Signal::kTraces, 10, 300, 14, "failed to connect", 0.002);
  const StatsSnapshot snapshot = stats.Snapshot();
  const SignalTotals& t = snapshot[static_cast<int>(Signal::kTraces)];
  EXPECT_EQ(t.requests_acked, 1);
  EXPECT_EQ(t.items_acked, 30);
  EXPECT_EQ(t.rejected_items.at("RESOURCE_EXHAUSTED"), 20);
  EXPECT_EQ(t.rejected_items.at("UNAVAILABLE"), 10);
  EXPECT_EQ(t.transport_errors, 0);
  EXPECT_EQ(t.last_error, "gRPC UNAVAILABLE: failed to connect");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(99), "CODE_99");
}

TEST(SendStatsTest, JsonQuoteEscapesControlCharacters) {
  EXPECT_EQ(JsonQuote("a\"b\\c\x01"), "\"a\\\"b\\\\c\\u0001\"");
}

}  // namespace
}  // namespace oriel::loadgen
