#include "model/matcher.h"

#include <gtest/gtest.h>

namespace oriel::model {
namespace {

TEST(MatcherTest, RegexIsFullyAnchored) {
  auto m = Matcher::Create(MatchType::kRegexMatch, "job", "api|web");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Matches("api"));
  EXPECT_FALSE(m->Matches("api-server"));
  EXPECT_FALSE(m->Matches(""));
  auto nm = Matcher::Create(MatchType::kRegexNoMatch, "job", "a.*");
  EXPECT_TRUE(nm->Matches("b"));
  EXPECT_FALSE(nm->Matches("abc"));
  auto dot = Matcher::Create(MatchType::kRegexMatch, "x", "a.b");
  EXPECT_TRUE(dot->Matches("a\nb"));
}

TEST(MatcherTest, EqualityTreatsEmptyAsAbsent) {
  auto m = Matcher::Create(MatchType::kEqual, "env", "");
  EXPECT_TRUE(m->Matches(""));
  EXPECT_FALSE(m->Matches("prod"));
  EXPECT_EQ(Matcher::Create(MatchType::kNotEqual, "a", "x\"y")->ToString(), "a!=\"x\\\"y\"");
}

TEST(MatcherTest, BadRegexIsAnErrorNamingIt) {
  auto m = Matcher::Create(MatchType::kRegexMatch, "job", "a(b");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("\"a(b\""), std::string::npos);
}

}  // namespace
}  // namespace oriel::model
