#include "loadgen/remote_write_encoder.h"

#include <string>

#include "gtest/gtest.h"
#include "net/compression.h"

namespace oriel::loadgen {
namespace {

bool HasHeader(const RemoteWriteBody& b, std::string_view h) {
  for (const std::string& x : b.headers) {
    if (x == h) return true;
  }
  return false;
}

TEST(RemoteWriteEncoderTest, V1RoundTripsThroughSnappyAndProtobuf) {
  NodeSeriesSet set({.series = 3000, .seed = 5});
  set.Advance();
  const RemoteWriteBody body =
      EncodeRemoteWrite(BuildWriteRequestV1(set, 1000, 3000, 1700000000123));
  EXPECT_TRUE(HasHeader(body, "Content-Encoding: snappy"));
  EXPECT_TRUE(HasHeader(body, "X-Prometheus-Remote-Write-Version: 0.1.0"));
  EXPECT_TRUE(HasHeader(body, "Content-Type: application/x-protobuf"));
  auto raw = net::SnappyDecode(body.body, 64 << 20);
  ASSERT_TRUE(raw.ok()) << raw.status();
  prometheus::WriteRequest decoded;
  ASSERT_TRUE(decoded.ParseFromString(*raw));
  ASSERT_EQ(decoded.timeseries_size(), 2000);
  for (int s = 0; s < decoded.timeseries_size(); ++s) {
    const auto& ts = decoded.timeseries(s);
    const size_t i = 1000 + s;
    ASSERT_EQ(ts.labels_size(), static_cast<int>(set.Labels(i).size()));
    for (int l = 0; l < ts.labels_size(); ++l) {
      EXPECT_EQ(ts.labels(l).name(), set.Symbol(set.Labels(i)[l].name));
      EXPECT_EQ(ts.labels(l).value(), set.Symbol(set.Labels(i)[l].value));
    }
    ASSERT_EQ(ts.samples_size(), 1);
    EXPECT_EQ(ts.samples(0).timestamp(), 1700000000123);
    EXPECT_EQ(ts.samples(0).value(), set.Value(i));
  }
}

TEST(RemoteWriteEncoderTest, V2UsesASymbolTableStartingWithTheEmptyString) {
  NodeSeriesSet set({.series = 2500, .seed = 5});
  const RemoteWriteBody body = EncodeRemoteWrite(BuildWriteRequestV2(set, 0, 2500, 42));
  EXPECT_TRUE(HasHeader(body, "X-Prometheus-Remote-Write-Version: 2.0.0"));
  EXPECT_TRUE(
      HasHeader(body, "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request"));
  auto raw = net::SnappyDecode(body.body, 64 << 20);
  ASSERT_TRUE(raw.ok()) << raw.status();
  io::prometheus::write::v2::Request decoded;
  ASSERT_TRUE(decoded.ParseFromString(*raw));
  ASSERT_GT(decoded.symbols_size(), 0);
  EXPECT_EQ(decoded.symbols(0), "");
  ASSERT_EQ(decoded.timeseries_size(), 2500);
  bool saw_counter = false, saw_histogram = false;
  for (int s = 0; s < decoded.timeseries_size(); ++s) {
    const auto& ts = decoded.timeseries(s);
    ASSERT_EQ(ts.labels_refs_size() % 2, 0);
    ASSERT_EQ(ts.labels_refs_size() / 2, static_cast<int>(set.Labels(s).size()));
    for (int l = 0; l < ts.labels_refs_size(); ++l) {
      ASSERT_LT(ts.labels_refs(l), static_cast<uint32_t>(decoded.symbols_size()));
      ASSERT_GT(ts.labels_refs(l), 0u) << "no label name or value is empty";
    }
    for (int l = 0; l < ts.labels_refs_size() / 2; ++l) {
      EXPECT_EQ(decoded.symbols(ts.labels_refs(2 * l)), set.Symbol(set.Labels(s)[l].name));
      EXPECT_EQ(decoded.symbols(ts.labels_refs(2 * l + 1)), set.Symbol(set.Labels(s)[l].value));
    }
    EXPECT_EQ(ts.samples(0).timestamp(), 42);
    saw_counter |= ts.metadata().type() == io::prometheus::write::v2::Metadata::METRIC_TYPE_COUNTER;
    saw_histogram |=
        ts.metadata().type() == io::prometheus::write::v2::Metadata::METRIC_TYPE_HISTOGRAM;
  }
  EXPECT_TRUE(saw_counter);
  EXPECT_TRUE(saw_histogram);
  // Symbols are interned: far fewer than two per label.
  EXPECT_LT(decoded.symbols_size(), 2500);
}

}  // namespace
}  // namespace oriel::loadgen
