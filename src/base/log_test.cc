#include "base/log.h"

#include <gtest/gtest.h>

namespace oriel::log {
namespace {

TEST(LogTest, FormatsLogfmtWithQuotingAndEscapes) {
  std::string line = FormatLine(Level::kWarn, "cannot open file",
                                {{"path", "/tmp/a b"}, {"n", 3}, {"quote", "say \"hi\"\n"}});
  EXPECT_NE(line.find(" level=warn msg=\"cannot open file\" path=\"/tmp/a b\" n=3 "
                      "quote=\"say \\\"hi\\\"\\n\""),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u) << line;
}

TEST(LogTest, ParsesLevelsAndRejectsUnknown) {
  EXPECT_EQ(*ParseLevel("DEBUG"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  auto bad = ParseLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("loud"), std::string::npos);
}

TEST(LogTest, LevelFiltering) {
  SetLevel(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  SetLevel(Level::kInfo);
  EXPECT_TRUE(Enabled(Level::kInfo));
}

}  // namespace
}  // namespace oriel::log
