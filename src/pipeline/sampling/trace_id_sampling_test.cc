#include "pipeline/sampling/trace_id_sampling.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace oriel::pipeline::sampling {
namespace {

std::string Bytes1To16() {
  std::string id;
  for (int i = 1; i <= 16; ++i) id.push_back(static_cast<char>(i));
  return id;
}

TEST(Fnv, MatchesPublishedVectors) {
  // From the FNV reference test suite (also what Go's hash/fnv produces).
  EXPECT_EQ(Fnv1a32("", ""), 0x811c9dc5u);
  EXPECT_EQ(Fnv1a32("", "a"), 0xe40c292cu);
  EXPECT_EQ(Fnv1a32("foo", "bar"), 0xbf9cf968u);
  EXPECT_EQ(Fnv1a64("", ""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("", "a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foo", "bar"), 0x85944171f73967e8ull);
}

TEST(HashSeedSampled, DecisionBoundaryMatchesTheCollectorsArithmetic) {
  // Computed independently (Python, float32 via struct) with the collector's formula:
  // FNV-1a32(seed LE, id) & 0x3fff is 13379 for seed 22 and 2004 for seed 1; the scaled rates
  // are uint32(float32(pct) * float32(163.84)): 81.6 -> 13369, 81.7 -> 13385, 12.2 -> 1998,
  // 12.3 -> 2015.
  const std::string id = Bytes1To16();
  EXPECT_EQ(Fnv1a32(std::string("\x16\0\0\0", 4), id) & 0x3fff, 13379u);
  EXPECT_FALSE(HashSeedSampled(id, 22, 81.6f));
  EXPECT_TRUE(HashSeedSampled(id, 22, 81.7f));
  EXPECT_FALSE(HashSeedSampled(id, 1, 12.2f));
  EXPECT_TRUE(HashSeedSampled(id, 1, 12.3f));
  EXPECT_TRUE(HashSeedSampled(id, 22, 100));
  EXPECT_TRUE(HashSeedSampled(id, 22, 250));
  EXPECT_FALSE(HashSeedSampled(id, 1, 0));
}

TEST(ProportionalThreshold, MatchesTheSamplingSpecification) {
  EXPECT_EQ(ProportionalThreshold(1, 4), 0u);
  EXPECT_EQ(ProportionalThreshold(0.5, 4), 0x80000000000000ull);
  EXPECT_EQ(ProportionalThreshold(0.25, 4), 0xc0000000000000ull);
  // 2/3 * 2^56 = 0xaaaaaaaaaaaaaa.aa.., rounded to 4 hex digits.
  EXPECT_EQ(ProportionalThreshold(1.0 / 3, 4), 0xaaab0000000000ull);
  EXPECT_EQ(ProportionalThreshold(0.1, 4), 0xe6660000000000ull);
  // Near zero one more digit is kept per leading f: 0.99 * 2^56 = 0xfd70a3d70a3d70...
  EXPECT_EQ(ProportionalThreshold(0.01, 4), 0xfd70a000000000ull);
  EXPECT_EQ(ProportionalThreshold(0.1, 14), (uint64_t{1} << 56) - 0x1999999999999aull);
  // Below the smallest probability it is raised to it.
  EXPECT_EQ(ProportionalThreshold(1e-30, 14), (uint64_t{1} << 56) - 1);
}

TEST(TraceIdRandomness, IsTheLastSevenBytesBigEndian) {
  EXPECT_EQ(TraceIdRandomness(Bytes1To16()), 0x0a0b0c0d0e0f10ull);
  EXPECT_EQ(TraceIdRandomness("short"), 0u);
}

TEST(ParseOtelTraceState, ReadsThresholdAndRandomness) {
  OtelTraceState ot = ParseOtelTraceState("vendor=x, ot=th:8;rv:0123456789abcd ,other=y");
  ASSERT_TRUE(ot.threshold.has_value());
  EXPECT_EQ(*ot.threshold, 0x80000000000000ull);
  ASSERT_TRUE(ot.randomness.has_value());
  EXPECT_EQ(*ot.randomness, 0x0123456789abcdull);
  EXPECT_EQ(*ParseOtelTraceState("ot=th:c1").threshold, 0xc1000000000000ull);
  EXPECT_EQ(*ParseOtelTraceState("ot=th:0").threshold, 0u);
  // Malformed or absent values are ignored.
  EXPECT_FALSE(ParseOtelTraceState("ot=th:XYZ").threshold.has_value());
  EXPECT_FALSE(ParseOtelTraceState("ot=th:123456789abcdef").threshold.has_value());  // 15 digits
  EXPECT_FALSE(ParseOtelTraceState("ot=rv:abc").randomness.has_value());  // not 14 digits
  EXPECT_FALSE(ParseOtelTraceState("xot=th:8").threshold.has_value());
  EXPECT_FALSE(ParseOtelTraceState("").threshold.has_value());
}

TEST(TailThreshold, RoundsLikeGoBigFloat) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(TailThreshold(1), kMax);
  EXPECT_EQ(TailThreshold(0), 0u);
  // MaxUint64 * 0.5 = 2^63 - 0.5 fits a 64-bit mantissa exactly, and Uint64() truncates.
  EXPECT_EQ(TailThreshold(0.5), (uint64_t{1} << 63) - 1);
  EXPECT_EQ(TailThreshold(0.25), (uint64_t{1} << 62) - 1);
  // MaxUint64 * 0.75 = 0xbfff..ff.4 needs 66 bits: rounded at 64 bits, then truncated.
  EXPECT_EQ(TailThreshold(0.75), 0xbfffffffffffffffull);
}

TEST(TailProbabilisticSampled, KeepsAboutTheRatio) {
  std::mt19937_64 rng(7);
  const uint64_t threshold = TailThreshold(0.2);
  int kept = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    std::string id(16, '\0');
    for (char& c : id) c = static_cast<char>(rng());
    if (TailProbabilisticSampled("", id, threshold)) ++kept;
  }
  EXPECT_NEAR(static_cast<double>(kept) / kN, 0.2, 0.015);
  // The default salt is the collector's.
  EXPECT_EQ(TailProbabilisticSampled("", "x", 1000), Fnv1a64("default-hash-seed", "x") <= 1000);
}

}  // namespace
}  // namespace oriel::pipeline::sampling
