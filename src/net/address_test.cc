#include "net/address.h"

#include <gtest/gtest.h>

namespace oriel::net {
namespace {

TEST(AddressTest, ParsesCommonForms) {
  auto a = ParseHostPort("127.0.0.1:9090");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9090);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->ToString(), "[::1]:0");
  auto c = ParseHostPort(":4318");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "");
}

TEST(AddressTest, RejectsBadAddressesWithReason) {
  EXPECT_NE(ParseHostPort("localhost").status().message().find("missing port"), std::string::npos);
  EXPECT_NE(ParseHostPort("1.2.3.4:99999").status().message().find("0 to 65535"),
            std::string::npos);
  EXPECT_NE(ParseHostPort("1.2.3.4:http").status().message().find("\"http\""), std::string::npos);
  EXPECT_NE(ParseHostPort("::1:80").status().message().find("brackets"), std::string::npos);
  EXPECT_FALSE(ParseHostPort("a b:80").ok());
}

}  // namespace
}  // namespace oriel::net
