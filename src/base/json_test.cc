#include "base/json.h"

#include <gtest/gtest.h>

namespace oriel {
namespace {

TEST(JsonTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonString("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(JsonString("ünïcode"), "\"ünïcode\"");
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("a<b>&c"), "\"a<b>&c\"");
}

TEST(JsonTest, GoEscapesHtmlCharactersAndLineSeparators) {
  EXPECT_EQ(GoJsonString("a<b>&c\"\x01"), "\"a\\u003cb\\u003e\\u0026c\\\"\\u0001\"");
  EXPECT_EQ(GoJsonString("x\u2028y\u2029z"), "\"x\\u2028y\\u2029z\"");
  EXPECT_EQ(GoJsonString("ünïcode"), "\"ünïcode\"");
}

}  // namespace
}  // namespace oriel
