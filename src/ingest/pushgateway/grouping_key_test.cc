#include "ingest/pushgateway/grouping_key.h"

#include <gtest/gtest.h>

namespace oriel::ingest {
namespace {

TEST(GroupingKeyTest, PlainLabelsAndJob) {
  auto key = ParseGroupingKey(false, "batch", "instance/host1/zone/eu%2Fwest");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(GroupingKeyString(*key), R"({instance="host1", job="batch", zone="eu/west"})");
  // A job label in the path is overridden by the job segment.
  key = ParseGroupingKey(false, "a", "job/other");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->at("job"), "a");
  EXPECT_EQ(key->size(), 1u);
}

TEST(GroupingKeyTest, TrailingSlashesLikeThePushgateway) {
  auto key = ParseGroupingKey(false, "a", "");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 1u);
  key = ParseGroupingKey(false, "a", "l/");  // /metrics/job/a/l/ -> l=""
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->at("l"), "");
  auto odd = ParseGroupingKey(false, "a", "odd");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().message(), "odd number of components in label string \"/odd\"");
  EXPECT_FALSE(ParseGroupingKey(false, "a", "x/1/").ok());
}

TEST(GroupingKeyTest, Base64ValuesAndJob) {
  auto key = ParseGroupingKey(true, "YWJj", "path@base64/L3Zhci90bXA=/empty@base64/=");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->at("job"), "abc");
  EXPECT_EQ(key->at("path"), "/var/tmp");
  EXPECT_EQ(key->at("empty"), "");
  // Unpadded and URL-safe alphabet ('-' and '_').
  key = ParseGroupingKey(false, "a", "v@base64/-_8");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->at("v"), "\xfb\xff");
  auto bad = ParseGroupingKey(true, "!!", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid base64 encoding in job name"), std::string::npos);
  EXPECT_FALSE(ParseGroupingKey(false, "a", "v@base64/a+b/").ok());  // '+' is not URL-safe
  auto empty_job = ParseGroupingKey(true, "=", "");
  ASSERT_FALSE(empty_job.ok());
  EXPECT_EQ(empty_job.status().message(), "job name is required");
}

TEST(GroupingKeyTest, ImproperLabelNames) {
  for (const char* labels : {"bad-name/v", "__x/1", "9a/1", "/1"}) {
    auto key = ParseGroupingKey(false, "a", labels);
    ASSERT_FALSE(key.ok()) << labels;
    EXPECT_NE(key.status().message().find("improper label name"), std::string::npos)
        << key.status();
  }
}

TEST(GroupingKeyTest, DecodeBase64Url) {
  EXPECT_EQ(*DecodeBase64Url("aGVsbG8gd29ybGQ="), "hello world");
  EXPECT_EQ(*DecodeBase64Url("aGVsbG8gd29ybGQ"), "hello world");
  EXPECT_EQ(*DecodeBase64Url("="), "");
  EXPECT_FALSE(DecodeBase64Url("a").ok());
  EXPECT_FALSE(DecodeBase64Url("ab c").ok());
}

}  // namespace
}  // namespace oriel::ingest
