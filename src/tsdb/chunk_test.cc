#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "tsdb/bit_stream.h"
#include "tsdb/encoding.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {
namespace {

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

TEST(BitStreamTest, ReadsBackMixedFieldsAcrossBufferGrowth) {
  // Fields of every width at every bit offset, past several buffer growths (16, 32, ..., 64,
  // 96, ...); single bits and varints in between.
  std::mt19937_64 rng(7);
  struct Field {
    int nbits;  // 0: a single bit, -1: a varint
    uint64_t v;
  };
  std::vector<Field> fields;
  BitWriter w;
  for (int i = 0; i < 3000; ++i) {
    int kind = static_cast<int>(rng() % 66) - 1;
    uint64_t v = rng();
    if (kind == 0) {
      w.WriteBit(v & 1);
      v &= 1;
    } else if (kind == -1) {
      v >>= rng() % 64;
      w.WriteVarint(static_cast<int64_t>(v));
    } else {
      if (kind < 64) v &= (uint64_t{1} << kind) - 1;
      w.WriteBits(v, kind);
    }
    fields.push_back({kind, v});
  }
  BitReader r(w.bytes());
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.nbits == 0) {
      bool bit = false;
      ASSERT_TRUE(r.ReadBit(&bit)) << i;
      EXPECT_EQ(bit, f.v == 1) << i;
    } else if (f.nbits == -1) {
      int64_t got = 0;
      ASSERT_TRUE(r.ReadVarint(&got)) << i;
      EXPECT_EQ(static_cast<uint64_t>(got), f.v) << i;
    } else {
      uint64_t got = 0;
      ASSERT_TRUE(r.ReadBits(f.nbits, &got)) << i;
      EXPECT_EQ(got, f.v) << i;
    }
  }
  uint64_t rest = 0;
  EXPECT_FALSE(r.ReadBits(8, &rest));  // at most 7 padding bits remain
}

TEST(BitStreamTest, MovedWriterKeepsItsBytes) {
  BitWriter a;
  a.WriteBits(0xabcdef, 24);
  a.WriteBit(true);
  BitWriter b = std::move(a);
  EXPECT_EQ(b.bytes(), std::string_view("\xab\xcd\xef\x80", 4));
  EXPECT_TRUE(a.bytes().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  a = std::move(b);
  a.WriteBit(true);
  EXPECT_EQ(a.bytes(), std::string_view("\xab\xcd\xef\xc0", 4));
}

std::vector<std::pair<int64_t, double>> Decode(const XorChunk& c) {
  std::vector<std::pair<int64_t, double>> out;
  XorIterator it(c.bytes(), c.num_samples());
  while (it.Next()) out.emplace_back(it.t(), it.v());
  EXPECT_TRUE(it.status().ok()) << it.status();
  return out;
}

TEST(XorChunkTest, RoundTripsRandomValuesAndIrregularTimestampsBitExactly) {
  std::mt19937_64 rng(42);
  const double specials[] = {std::nan(""),
                             std::bit_cast<double>(uint64_t{0x7ff0000000000002}),  // stale
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             0.0,
                             -0.0,
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::max()};
  for (int round = 0; round < 200; ++round) {
    XorChunk c;
    std::vector<std::pair<int64_t, double>> want;
    int64_t t = static_cast<int64_t>(rng() % 2000000000000) - 1000000000000;
    int n = 1 + static_cast<int>(rng() % 150);
    for (int i = 0; i < n; ++i) {
      // Mixtures of regular steps, jitter, huge jumps (exercise every dod width).
      switch (rng() % 5) {
        case 0:
          t += 15000;
          break;
        case 1:
          t += 1 + static_cast<int64_t>(rng() % 100);
          break;
        case 2:
          t += static_cast<int64_t>(rng() % 1000000);
          break;
        case 3:
          t += static_cast<int64_t>(rng() % (int64_t{1} << 40));
          break;
        default:
          t += 15000 + static_cast<int64_t>(rng() % 20) - 10;
      }
      double v;
      switch (rng() % 4) {
        case 0:
          v = specials[rng() % std::size(specials)];
          break;
        case 1:
          v = std::bit_cast<double>(rng());
          break;
        case 2:
          v = want.empty() ? 1 : want.back().second;
          break;
        default:
          v = static_cast<double>(rng() % 1000) / 7;
      }
      c.Append(t, v);
      want.emplace_back(t, v);
    }
    auto got = Decode(c);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].first, want[i].first) << "round " << round << " sample " << i;
      ASSERT_EQ(Bits(got[i].second), Bits(want[i].second)) << "round " << round << " sample " << i;
    }
    EXPECT_EQ(c.min_time(), want.front().first);
    EXPECT_EQ(c.max_time(), want.back().first);
  }
}

TEST(XorChunkTest, ExtremeTimestampsRoundTrip) {
  XorChunk c;
  int64_t ts[] = {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()};
  for (int64_t t : ts) c.Append(t, 1.5);
  auto got = Decode(c);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(got[i].first, ts[i]);
}

TEST(XorChunkTest, StaleMarkerBitsArePreserved) {
  XorChunk c;
  c.Append(1000, 1);
  c.Append(2000, std::bit_cast<double>(uint64_t{0x7ff0000000000002}));
  c.Append(3000, std::nan(""));
  auto got = Decode(c);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Bits(got[1].second), 0x7ff0000000000002u);
  EXPECT_NE(Bits(got[2].second), 0x7ff0000000000002u);
  EXPECT_TRUE(std::isnan(got[2].second));
}

TEST(XorChunkTest, RegularCounterTakesWellUnderTwoBytesPerSample) {
  std::mt19937_64 rng(7);
  XorChunk c;
  double v = 1000;
  int64_t t = 1700000000000;
  const int n = 120;
  for (int i = 0; i < n; ++i) {
    c.Append(t, v);
    t += 15000;
    v += static_cast<double>(rng() % 10);  // a counter growing by small integers
  }
  double per_sample = static_cast<double>(c.bytes().size()) / n;
  EXPECT_LT(per_sample, 1.6) << c.bytes().size() << " bytes";
  ASSERT_EQ(Decode(c).size(), static_cast<size_t>(n));
}

TEST(XorChunkTest, SeekFindsFirstSampleAtOrAfter) {
  XorChunk c;
  for (int i = 0; i < 100; ++i) c.Append(i * 10, i);
  XorIterator it(c.bytes(), c.num_samples());
  ASSERT_TRUE(it.Seek(55));
  EXPECT_EQ(it.t(), 60);
  EXPECT_EQ(it.v(), 6);
  ASSERT_TRUE(it.Seek(10));  // already past: stays
  EXPECT_EQ(it.t(), 60);
  ASSERT_TRUE(it.Seek(60));
  EXPECT_EQ(it.t(), 60);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.t(), 70);
  EXPECT_FALSE(it.Seek(991));
  EXPECT_TRUE(it.status().ok());
}

TEST(XorChunkTest, TruncatedOrGarbageInputFailsCleanly) {
  XorChunk c;
  for (int i = 0; i < 50; ++i) c.Append(i * 1000 + (i % 3), i * 1.1);
  std::string bytes(c.bytes());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    XorIterator it(std::string_view(bytes).substr(0, cut), c.num_samples());
    int n = 0;
    while (it.Next()) ++n;
    EXPECT_LT(n, c.num_samples());
    EXPECT_FALSE(it.status().ok());
  }
  std::mt19937_64 rng(3);
  for (int round = 0; round < 500; ++round) {
    std::string garbage(rng() % 64, '\0');
    for (char& ch : garbage) ch = static_cast<char>(rng());
    XorIterator it(garbage, 200);
    while (it.Next()) {
    }
  }
}

model::HistogramSample RandomHistogram(std::mt19937_64& rng, int64_t t) {
  model::HistogramSample h;
  h.timestamp_ms = t;
  h.counter_reset = static_cast<model::HistogramSample::Reset>(rng() % 4);
  h.schema = static_cast<int32_t>(rng() % 13) - 4;
  h.zero_threshold = 1e-128;
  h.zero_count = static_cast<double>(rng() % 10);
  h.count = static_cast<double>(rng() % 1000);
  h.sum = rng() % 5 == 0 ? std::nan("") : static_cast<double>(rng() % 100000) / 3;
  int spans = static_cast<int>(rng() % 4);
  for (int i = 0; i < spans; ++i) {
    uint32_t len = 1 + static_cast<uint32_t>(rng() % 5);
    h.positive_spans.push_back({static_cast<int32_t>(rng() % 7) - 3, len});
    for (uint32_t j = 0; j < len; ++j)
      h.positive_buckets.push_back(static_cast<double>(rng() % 50));
  }
  if (rng() % 2) {
    h.negative_spans.push_back({-2, 1});
    h.negative_buckets.push_back(3);
  }
  return h;
}

void ExpectSameHistogram(const model::HistogramSample& a, const model::HistogramSample& b) {
  EXPECT_EQ(a.timestamp_ms, b.timestamp_ms);
  EXPECT_EQ(a.counter_reset, b.counter_reset);
  EXPECT_EQ(a.schema, b.schema);
  EXPECT_EQ(Bits(a.zero_threshold), Bits(b.zero_threshold));
  EXPECT_EQ(Bits(a.zero_count), Bits(b.zero_count));
  EXPECT_EQ(Bits(a.count), Bits(b.count));
  EXPECT_EQ(Bits(a.sum), Bits(b.sum));
  EXPECT_EQ(a.positive_spans, b.positive_spans);
  EXPECT_EQ(a.positive_buckets, b.positive_buckets);
  EXPECT_EQ(a.negative_spans, b.negative_spans);
  EXPECT_EQ(a.negative_buckets, b.negative_buckets);
  EXPECT_EQ(a.custom_values, b.custom_values);
}

TEST(HistogramChunkTest, RoundTripsRandomHistograms) {
  std::mt19937_64 rng(11);
  HistogramChunk c;
  std::vector<model::HistogramSample> want;
  int64_t t = -5000;
  for (int i = 0; i < 120; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 30000);
    want.push_back(RandomHistogram(rng, t));
    if (i == 7) {  // custom buckets
      want.back().schema = -53;
      want.back().custom_values = {0.1, 0.5, 1};
    }
    c.Append(want.back());
  }
  HistogramIterator it(c.bytes(), c.num_samples());
  for (const auto& h : want) {
    ASSERT_TRUE(it.Next()) << it.status();
    ExpectSameHistogram(it.at(), h);
  }
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.status().ok());

  HistogramIterator seek(c.bytes(), c.num_samples());
  ASSERT_TRUE(seek.Seek(want[50].timestamp_ms));
  EXPECT_EQ(seek.t(), want[50].timestamp_ms);
  ASSERT_TRUE(seek.Seek(want[50].timestamp_ms + 1));
  EXPECT_EQ(seek.t(), want[51].timestamp_ms);
}

TEST(HistogramChunkTest, TruncatedInputFailsCleanly) {
  std::mt19937_64 rng(5);
  HistogramChunk c;
  for (int i = 0; i < 10; ++i) c.Append(RandomHistogram(rng, i * 1000));
  std::string bytes(c.bytes());
  for (size_t cut = 0; cut < bytes.size(); cut += 3) {
    HistogramIterator it(std::string_view(bytes).substr(0, cut), c.num_samples());
    while (it.Next()) {
    }
    EXPECT_FALSE(it.status().ok());
  }
  // A huge claimed bucket count must not allocate.
  std::string hostile;
  PutVarint(hostile, 0);
  hostile.push_back(0);
  PutVarint(hostile, 0);
  for (int i = 0; i < 4; ++i) PutDouble(hostile, 0);
  PutUvarint(hostile, uint64_t{1} << 60);
  HistogramIterator it(hostile, 1);
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.status().ok());
}

TEST(EncodingTest, VarintsRoundTripAndRejectOverlongInput) {
  std::string out;
  int64_t values[] = {
      0, 1, -1, 63, -64, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) PutVarint(out, v);
  PutUvarint(out, std::numeric_limits<uint64_t>::max());
  ByteReader in(out);
  for (int64_t v : values) {
    int64_t got;
    ASSERT_TRUE(in.Varint(&got));
    EXPECT_EQ(got, v);
  }
  uint64_t u;
  ASSERT_TRUE(in.Uvarint(&u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(in.done());
  std::string overlong(11, '\xff');
  ByteReader bad(overlong);
  EXPECT_FALSE(bad.Uvarint(&u));
}

}  // namespace
}  // namespace oriel::tsdb
