#include "storage/crc32c.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace oriel::storage {
namespace {

// Test vectors of RFC 3720 (iSCSI), appendix B.4, plus the common "123456789" check value.
TEST(Crc32cTest, KnownValues) {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(zeros), 0x8a9136aau);
  EXPECT_EQ(Crc32c(ones), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(ascending), 0x46dd794eu);
  EXPECT_EQ(Crc32c(descending), 0x113fdb5cu);
  EXPECT_EQ(internal::Crc32cPortable(0, "123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string data = "The quick brown fox jumps over the lazy dog, twice or more.";
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t crc = Crc32cExtend(0, data.data(), split);
    crc = Crc32cExtend(crc, data.data() + split, data.size() - split);
    EXPECT_EQ(crc, Crc32c(data)) << "split at " << split;
  }
}

TEST(Crc32cTest, HardwareMatchesPortable) {
  if (!internal::Crc32cHardwareAvailable()) GTEST_SKIP() << "no SSE4.2";
  std::mt19937 rng(7);
  std::string data(4096 + 13, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start : {0, 1, 3, 7}) {
    for (size_t n : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096}) {
      EXPECT_EQ(internal::Crc32cHardware(0x1234, data.data() + start, n),
                internal::Crc32cPortable(0x1234, data.data() + start, n))
          << "start " << start << " n " << n;
    }
  }
}

}  // namespace
}  // namespace oriel::storage
