#include "base/json.h"

#include <gtest/gtest.h>

namespace oriel {
namespace {

TEST(JsonTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonString("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  EXPECT_EQ(JsonString("ünïcode"), "\"ünïcode\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

}  // namespace
}  // namespace oriel
