#include "base/units.h"

#include <gtest/gtest.h>

namespace oriel {
namespace {

TEST(UnitsTest, ParsesPrometheusDurations) {
  EXPECT_EQ(*ParseDuration("15s"), absl::Seconds(15));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("1m30ms"), absl::Milliseconds(60030));
  EXPECT_EQ(*ParseDuration("2w1d"), absl::Hours(24 * 15));
  EXPECT_EQ(*ParseDuration("1y"), absl::Hours(24 * 365));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
  for (const char* bad : {"", "5", "5x", "1m1h", "1s1s", "-5s", "1.5h", "s"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(UnitsTest, FormatsDurationsLikePrometheus) {
  EXPECT_EQ(DurationString(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(DurationString(absl::ZeroDuration()), "0s");
  EXPECT_EQ(DurationString(absl::Hours(24 * 15)), "2w1d");
}

TEST(UnitsTest, ParsesByteSizes) {
  EXPECT_EQ(*ParseByteSize("512"), 512);
  EXPECT_EQ(*ParseByteSize("4KB"), 4096);
  EXPECT_EQ(*ParseByteSize("32MiB"), 32 << 20);
  EXPECT_EQ(*ParseByteSize("1GB"), int64_t{1} << 30);
  EXPECT_FALSE(ParseByteSize("12 parsecs").ok());
  EXPECT_FALSE(ParseByteSize("MB").ok());
  EXPECT_FALSE(ParseByteSize("99999999999TB").ok());
}

}  // namespace
}  // namespace oriel
