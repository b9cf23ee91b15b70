#include "tsdb/zstd_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace oriel::tsdb {
namespace {

TEST(ZstdCodecTest, RoundTripsAndRefusesLies) {
  std::string data(200000, 'a');
  std::mt19937 rng(5);
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(rng());
  absl::StatusOr<std::string> frame = ZstdCompress(data, 9);
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<std::string> back = ZstdDecompress(*frame, data.size(), uint64_t{1} << 32);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);

  // Wrong recorded size, over the limit, truncated, corrupt, or a size no frame that short can
  // hold: all kDataLoss.
  EXPECT_EQ(ZstdDecompress(*frame, data.size() - 1, 1 << 30).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ZstdDecompress(*frame, data.size(), 1000).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      ZstdDecompress(frame->substr(0, frame->size() / 2), data.size(), 1 << 30).status().code(),
      absl::StatusCode::kDataLoss);
  std::string bad = *frame;
  bad[bad.size() / 2] ^= 0x55;
  absl::StatusOr<std::string> corrupt = ZstdDecompress(bad, data.size(), 1 << 30);
  EXPECT_TRUE(!corrupt.ok() || *corrupt != data);
  EXPECT_EQ(ZstdDecompress("abc", uint64_t{1} << 31, uint64_t{1} << 32).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ZstdDecompress("", 0, 10).status().code(), absl::StatusCode::kDataLoss);
}

// The thread's decompression context is reused: a frame that failed halfway (truncated, corrupt)
// must not leave state behind that changes the next frame's result, on this thread or another.
TEST(ZstdCodecTest, AFailedFrameDoesNotAffectTheNext) {
  std::string a(70000, 'x'), b(65536, 'y');
  std::mt19937 rng(7);
  for (size_t i = 0; i < a.size(); i += 5) a[i] = static_cast<char>(rng());
  for (size_t i = 0; i < b.size(); i += 3) b[i] = static_cast<char>(rng());
  absl::StatusOr<std::string> fa = ZstdCompress(a, 3), fb = ZstdCompress(b, 3);
  ASSERT_TRUE(fa.ok() && fb.ok());
  for (int round = 0; round < 3; ++round) {
    EXPECT_FALSE(ZstdDecompress(fa->substr(0, fa->size() - 9), a.size(), 1 << 30).ok());
    absl::StatusOr<std::string> back_b = ZstdDecompress(*fb, b.size(), 1 << 30);
    ASSERT_TRUE(back_b.ok()) << back_b.status();
    EXPECT_EQ(*back_b, b);
    absl::StatusOr<std::string> back_a = ZstdDecompress(*fa, a.size(), 1 << 30);
    ASSERT_TRUE(back_a.ok()) << back_a.status();
    EXPECT_EQ(*back_a, a);
  }
  std::thread other([&] {
    absl::StatusOr<std::string> back = ZstdDecompress(*fb, b.size(), 1 << 30);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, b);
  });
  other.join();
}

}  // namespace
}  // namespace oriel::tsdb
