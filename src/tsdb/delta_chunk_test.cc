#include "tsdb/delta_chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "model/sample.h"

namespace oriel::tsdb {
namespace {

void ExpectRoundTrip(const std::vector<model::Sample>& in) {
  for (DeltaLayout layout : {DeltaLayout::kBytePlanes, DeltaLayout::kPacked}) {
    std::string enc = EncodeDeltaChunk(in, layout);
    absl::StatusOr<std::vector<model::Sample>> out =
        DecodeDeltaChunk(enc, static_cast<int>(in.size()));
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ((*out)[i].timestamp_ms, in[i].timestamp_ms) << i;
      EXPECT_EQ(std::bit_cast<uint64_t>((*out)[i].value), std::bit_cast<uint64_t>(in[i].value))
          << i << ": " << in[i].value << " layout " << static_cast<int>(layout);
    }
  }
}

TEST(DeltaChunkTest, RoundTripsDecimalValuesWithJitterAndGaps) {
  std::mt19937_64 rng(7);
  for (int scale : {0, 2, 3, 9}) {
    std::vector<model::Sample> s;
    int64_t t = 1700000000000, units = 123456;
    for (int i = 0; i < 300; ++i) {
      t += 15000;
      if (rng() % 10 == 0) t += static_cast<int64_t>(rng() % 40) - 5;  // late or early scrape
      if (i == 100) t += 3600000;                                      // an outage
      if (i == 200) t += 7;                                            // a restart off the grid
      units += static_cast<int64_t>(rng() % 5000);
      if (i == 150) units = 0;  // a counter reset
      s.push_back({t, static_cast<double>(units) / std::pow(10.0, scale)});
    }
    ExpectRoundTrip(s);
  }
  ExpectRoundTrip({{-5, -0.25}});  // one sample, negative time and value
  ExpectRoundTrip({{0, 1e14}, {1, -1e14}, {INT64_MAX, 4.5}});
}

TEST(DeltaChunkTest, RegularCounterTakesAboutTwoBytesPerSampleBeforeCompression) {
  std::vector<model::Sample> s;
  for (int i = 0; i < 120; ++i) s.push_back({i * 15000LL, 1000.0 + i * 3});
  std::string enc = EncodeDeltaChunk(s, DeltaLayout::kBytePlanes);
  // One byte of timestamp residual and one of value difference per sample.
  EXPECT_LE(enc.size(), 2 * s.size() + 12);
  EXPECT_NE(enc[0], 0x20);  // integer mode
}

TEST(DeltaChunkTest, FloatModeKeepsEveryBit) {
  uint64_t payload_nan = 0x7ff8000000dead01ULL;
  for (double odd : {model::StaleNaN(), std::bit_cast<double>(payload_nan),
                     std::numeric_limits<double>::infinity(), -0.0, 1.0 / 3, 0.1 + 0.2, 1e300,
                     9007199254740993.0 * 1024, 1e-10, std::numeric_limits<double>::denorm_min()}) {
    std::vector<model::Sample> s = {{0, 1}, {15000, odd}, {30000, 2}};
    EXPECT_EQ(EncodeDeltaChunk(s, DeltaLayout::kBytePlanes)[0], 0x20) << odd;
    ExpectRoundTrip(s);
  }
  std::mt19937_64 rng(11);
  std::vector<model::Sample> noisy;
  for (int i = 0; i < 200; ++i) {
    noisy.push_back({i * 10000LL, std::uniform_real_distribution<double>(0.001, 0.003)(rng)});
  }
  ExpectRoundTrip(noisy);
}

TEST(DeltaChunkTest, PackedKeepsOddValuesAsExceptions) {
  // A stale marker, a NaN with a payload, -0 and a value off the scale amid a counter at two
  // decimals: the chunk stays packed, the odd values come back bit for bit.
  std::mt19937_64 rng(5);
  std::vector<model::Sample> s;
  int64_t units = 1000;
  for (int i = 0; i < 120; ++i) {
    units += 100 + static_cast<int64_t>(rng() % 200);
    s.push_back({i * 15000LL, static_cast<double>(units) / 100});
  }
  s[0].value = 1716.6000255793333;
  s[40].value = model::StaleNaN();
  s[41].value = std::bit_cast<double>(0x7ff8000000dead01ULL);
  s[80].value = -0.0;
  std::string enc = EncodeDeltaChunk(s, DeltaLayout::kPacked);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]) & 0xf0, 0x40);  // packed, first order
  EXPECT_EQ(enc[0] & 0x0f, 2);                           // two decimals
  ExpectRoundTrip(s);
  // The 115 differences take 10 bits each (across the gap at 40-41 a difference spans three
  // increments in [100, 300)), the timestamps a byte each, the four exceptions ~10 bytes each.
  EXPECT_LE(enc.size(), 120 + 115 * 10 / 8 + 4 * 10 + 20);
}

TEST(DeltaChunkTest, PackedSteadyRateCostsOnlyTimestamps) {
  std::vector<model::Sample> s;
  for (int i = 0; i < 120; ++i) s.push_back({i * 15000LL, 1000.0 + i * 3});
  std::string enc = EncodeDeltaChunk(s, DeltaLayout::kPacked);
  EXPECT_LE(enc.size(), 119 + 16);  // one zero residual a sample, no value bits
  ExpectRoundTrip(s);
  // Gauges going both ways and a wide range need every width up to 64 bits.
  std::vector<model::Sample> wide = {
      {0, 0}, {1, 9007199254740991.0}, {2, -9007199254740991.0}, {3, 5}, {4, -3}, {5, 1e15}};
  ExpectRoundTrip(wide);
}

TEST(DeltaChunkTest, PackedHostileInputFailsCleanly) {
  std::vector<model::Sample> s;
  for (int i = 0; i < 50; ++i) s.push_back({i * 1000LL, i % 7 == 3 ? 0.1 + 0.2 : i * 0.5});
  std::string good = EncodeDeltaChunk(s, DeltaLayout::kPacked);
  ASSERT_EQ(static_cast<uint8_t>(good[0]) & 0x40, 0x40);
  ASSERT_TRUE(DecodeDeltaChunk(good, 50).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeDeltaChunk(good.substr(0, n), 50).ok()) << n;
  }
  EXPECT_FALSE(DecodeDeltaChunk(good + "x", 50).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, 49).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, 51).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, std::numeric_limits<int>::max()).ok());
  std::mt19937 rng(4);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    for (int j = 0; j < 3; ++j) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)DecodeDeltaChunk(bad, 50);  // must not crash
  }
}

TEST(DeltaChunkTest, HostileInputFailsCleanly) {
  std::vector<model::Sample> s;
  for (int i = 0; i < 50; ++i) s.push_back({i * 1000LL, i * 0.5});
  std::string good = EncodeDeltaChunk(s, DeltaLayout::kBytePlanes);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeDeltaChunk(good.substr(0, n), 50).ok()) << n;
  }
  EXPECT_FALSE(DecodeDeltaChunk(good + "x", 50).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, 49).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, 51).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, 0).ok());
  EXPECT_FALSE(DecodeDeltaChunk(good, std::numeric_limits<int>::max()).ok());
  std::string bad_header = good;
  bad_header[0] = static_cast<char>(0x0f);  // scale 15
  EXPECT_FALSE(DecodeDeltaChunk(bad_header, 50).ok());
  bad_header[0] = static_cast<char>(0x81);  // unknown flag
  EXPECT_FALSE(DecodeDeltaChunk(bad_header, 50).ok());
  std::vector<model::Sample> floats = {{0, 0.1}, {1, 0.2}};
  std::string f = EncodeDeltaChunk(floats, DeltaLayout::kBytePlanes);
  for (size_t n = 0; n < f.size(); ++n) EXPECT_FALSE(DecodeDeltaChunk(f.substr(0, n), 2).ok());
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    for (int j = 0; j < 3; ++j) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)DecodeDeltaChunk(bad, 50);  // must not crash
  }
}

}  // namespace
}  // namespace oriel::tsdb
