#include "tsdb/zstd_codec.h"

#include <gtest/gtest.h>

#include <random>

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

}  // namespace
}  // namespace oriel::tsdb
