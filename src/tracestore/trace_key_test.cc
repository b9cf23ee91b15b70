#include "tracestore/trace_key.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace oriel::tracestore {
namespace {

TEST(TraceKeyTest, OnlySixteenBytesMakeAKey) {
  EXPECT_FALSE(TraceKey::From("").has_value());
  EXPECT_FALSE(TraceKey::From(std::string(15, 'a')).has_value());
  EXPECT_FALSE(TraceKey::From(std::string(17, 'a')).has_value());
  const std::string id = "0123456789abcdef";
  auto key = TraceKey::From(id);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->view(), id);
}

// The flush sorts a segment's traces by key and readers binary-search that order, so keys
// must order exactly as the id strings do (bytes unsigned, first byte most significant).
TEST(TraceKeyTest, OrdersAsTheBytes) {
  std::mt19937_64 random(7);
  std::vector<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    std::string id(16, '\0');
    // Few distinct byte values, so that many ids share prefixes across the word boundary.
    for (char& c : id)
      c = static_cast<char>(std::vector<int>{0, 1, 0x7f, 0x80, 0xff}[random() % 5]);
    ids.push_back(id);
  }
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const auto a = *TraceKey::From(ids[i]);
    const auto b = *TraceKey::From(ids[i + 1]);
    EXPECT_EQ(a < b, ids[i] < ids[i + 1]) << i;
    EXPECT_EQ(a == b, ids[i] == ids[i + 1]) << i;
    EXPECT_EQ(b < a, ids[i + 1] < ids[i]) << i;
  }
  const auto max = TraceKey::Max();
  for (const std::string& id : ids) EXPECT_FALSE(max < *TraceKey::From(id));
}

TEST(TraceKeyTest, HashesEqualKeysAlike) {
  absl::flat_hash_set<TraceKey> set;
  set.insert(*TraceKey::From("0123456789abcdef"));
  EXPECT_TRUE(set.contains(*TraceKey::From(std::string("0123456789abcdef"))));
  EXPECT_FALSE(set.contains(*TraceKey::From("0123456789abcdeg")));
}

}  // namespace
}  // namespace oriel::tracestore
