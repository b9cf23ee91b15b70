#include "net/compression.h"

#include <gtest/gtest.h>

namespace oriel::net {
namespace {

TEST(CompressionTest, GzipRoundTrip) {
  std::string text(100000, 'x');
  std::string packed = Gzip(text);
  EXPECT_LT(packed.size(), text.size() / 10);
  auto back = Inflate(packed, ContentCoding::kGzip, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
}

TEST(CompressionTest, InflateEnforcesLimitAndRejectsGarbage) {
  std::string packed = Gzip(std::string(1 << 20, 'a'));
  auto limited = Inflate(packed, ContentCoding::kGzip, 1000);
  EXPECT_TRUE(absl::IsResourceExhausted(limited.status())) << limited.status();
  auto garbage = Inflate("not gzip at all", ContentCoding::kGzip, 1000);
  EXPECT_TRUE(absl::IsInvalidArgument(garbage.status())) << garbage.status();
  auto truncated = Inflate(packed.substr(0, packed.size() / 2), ContentCoding::kGzip, 2 << 20);
  EXPECT_FALSE(truncated.ok());
}

TEST(CompressionTest, SnappyRoundTripAndLimit) {
  std::string text = "hello hello hello hello";
  auto back = SnappyDecode(SnappyEncode(text), 100);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);
  EXPECT_TRUE(absl::IsResourceExhausted(SnappyDecode(SnappyEncode(text), 5).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(SnappyDecode("\xff\xff\xff\xff\xff", 100).status()));
}

TEST(CompressionTest, ParsesCodingsAndAcceptEncoding) {
  EXPECT_EQ(ParseContentCoding(" GZIP "), ContentCoding::kGzip);
  EXPECT_EQ(ParseContentCoding(""), ContentCoding::kIdentity);
  EXPECT_EQ(ParseContentCoding("br"), ContentCoding::kUnsupported);
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(AcceptsGzip("br;q=1.0, gzip;q=0.8"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("identity"));
}

}  // namespace
}  // namespace oriel::net
