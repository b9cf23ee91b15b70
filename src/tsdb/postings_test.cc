#include "tsdb/postings.h"

#include <gtest/gtest.h>

namespace oriel::tsdb {
namespace {

model::Matcher M(model::MatchType type, std::string name, std::string value) {
  auto m = model::Matcher::Create(type, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

using model::MatchType;

class PostingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 0: up{job=api,env=prod}  1: up{job=api}  2: up{job=db,env=dev}  3: down{job=db,env=prod}
    index_.Add(0,
               model::Labels::FromUnsorted({{"__name__", "up"}, {"job", "api"}, {"env", "prod"}}));
    index_.Add(1, model::Labels::FromUnsorted({{"__name__", "up"}, {"job", "api"}}));
    index_.Add(2, model::Labels::FromUnsorted({{"__name__", "up"}, {"job", "db"}, {"env", "dev"}}));
    index_.Add(3,
               model::Labels::FromUnsorted({{"__name__", "down"}, {"job", "db"}, {"env", "prod"}}));
  }
  std::vector<uint32_t> Select(std::vector<model::Matcher> ms) {
    return index_.Select(ms).ToVector();
  }
  PostingsIndex index_;
};

TEST_F(PostingsTest, EqualAndNotEqual) {
  EXPECT_EQ(Select({M(MatchType::kEqual, "__name__", "up")}), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "job", "api")}),
            (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Select({M(MatchType::kEqual, "__name__", "nope")}), std::vector<uint32_t>{});
  // env != "prod" also selects series without env (its value is "").
  EXPECT_EQ(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kNotEqual, "env", "prod")}),
      (std::vector<uint32_t>{1, 2}));
  // env != "" selects exactly the series that have env.
  EXPECT_EQ(Select({M(MatchType::kNotEqual, "env", "")}), (std::vector<uint32_t>{0, 2, 3}));
  // env = "" selects exactly the series without env.
  EXPECT_EQ(Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "env", "")}),
            (std::vector<uint32_t>{1}));
}

TEST_F(PostingsTest, RegexMatchersFollowTheEmptyStringRule) {
  EXPECT_EQ(Select({M(MatchType::kRegexMatch, "job", "a.*")}), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Select({M(MatchType::kRegexMatch, "env", "pro|dev")}), (std::vector<uint32_t>{2}))
      << "regexes are fully anchored";
  // "prod|" matches "": the series without env are selected too.
  EXPECT_EQ(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kRegexMatch, "env", "prod|")}),
      (std::vector<uint32_t>{0, 1}));
  // env !~ "prod" matches "": series without env are kept.
  EXPECT_EQ(Select({M(MatchType::kRegexNoMatch, "env", "prod")}), (std::vector<uint32_t>{1, 2}));
  // env !~ ".*" removes everything; env !~ "" keeps only series having env.
  EXPECT_EQ(Select({M(MatchType::kRegexNoMatch, "env", "")}), (std::vector<uint32_t>{0, 2, 3}));
  EXPECT_EQ(
      Select({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kRegexNoMatch, "job", ".*")}),
      std::vector<uint32_t>{});
  // Only empty-matching matchers: start from all series.
  EXPECT_EQ(Select({M(MatchType::kRegexMatch, "job", ".*")}), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(Select({}), (std::vector<uint32_t>{0, 1, 2, 3}));
}

TEST_F(PostingsTest, LabelNamesValuesAndRemoval) {
  EXPECT_EQ(index_.LabelNames(), (std::vector<std::string>{"__name__", "env", "job"}));
  EXPECT_EQ(index_.LabelValues("env"), (std::vector<std::string>{"dev", "prod"}));
  EXPECT_EQ(index_.LabelValues("nope"), std::vector<std::string>{});
  index_.Remove(2,
                model::Labels::FromUnsorted({{"__name__", "up"}, {"job", "db"}, {"env", "dev"}}));
  EXPECT_EQ(index_.LabelValues("env"), (std::vector<std::string>{"prod"}));
  EXPECT_EQ(Select({M(MatchType::kEqual, "job", "db")}), (std::vector<uint32_t>{3}));
  EXPECT_EQ(index_.all().Cardinality(), 3u);
}

TEST(BitmapTest, SetOperations) {
  Bitmap a, b;
  for (uint32_t i = 0; i < 100000; i += 2) a.Add(i);
  for (uint32_t i = 0; i < 100000; i += 3) b.Add(i);
  Bitmap both = a.Copy();
  both.And(b);
  EXPECT_EQ(both.Cardinality(), 16667u);  // multiples of 6 below 100000
  Bitmap either = a.Copy();
  either.Or(b);
  EXPECT_EQ(either.Cardinality(), 50000u + 33334u - 16667u);
  Bitmap only_a = a.Copy();
  only_a.AndNot(b);
  EXPECT_TRUE(only_a.Contains(2));
  EXPECT_FALSE(only_a.Contains(6));
  Bitmap moved = std::move(a);
  EXPECT_EQ(moved.Cardinality(), 50000u);
  EXPECT_TRUE(a.Empty());  // NOLINT: moved-from is a valid empty set
}

}  // namespace
}  // namespace oriel::tsdb
