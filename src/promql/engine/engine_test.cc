#include "promql/engine/engine.h"

#include <filesystem>
#include <limits>

#include "gtest/gtest.h"
#include "model/sample.h"
#include "tsdb/db.h"

namespace oriel::promql {
namespace {

model::Labels L(std::vector<model::Label> l) { return model::Labels::FromUnsorted(std::move(l)); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("oriel-engine-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    tsdb::DbOptions opts;
    opts.head.out_of_order_time_window_ms = std::numeric_limits<int64_t>::max() / 4;
    auto db = tsdb::DB::Open(dir_.string(), opts);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Adds `values` at 0, step, 2*step, ... seconds.
  void Add(const model::Labels& l, int64_t step_s, std::vector<double> values) {
    model::MetricBatch b;
    model::SeriesData sd;
    sd.labels = l;
    for (size_t i = 0; i < values.size(); ++i) {
      sd.samples.push_back({static_cast<int64_t>(i) * step_s * 1000, values[i]});
    }
    b.series.push_back(std::move(sd));
    auto r = db_->Write(std::move(b));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  Vector Instant(std::string_view q, int64_t t_s) {
    auto r = engine_.InstantQuery(*db_, q, t_s * 1000);
    EXPECT_TRUE(r.ok()) << q << ": " << r.status();
    if (!r.ok()) return {};
    auto* v = std::get_if<Vector>(&r->value);
    EXPECT_NE(v, nullptr) << q;
    return v ? *v : Vector{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<tsdb::DB> db_;
  Engine engine_{EngineOptions{}};
};

TEST_F(EngineTest, LookbackIsLeftOpenAndStaleMarkerEndsSeries) {
  Add(L({{"__name__", "m"}}), 60, {1, 2, model::StaleNaN()});
  EXPECT_EQ(Instant("m", 60)[0].f, 2);
  // 0 + 5m is outside the left-open window (t-5m, t].
  EXPECT_EQ(Instant("m", 300).size(), 0u);  // the stale marker at 120s ends the series
  EXPECT_EQ(Instant("m", 119)[0].f, 2);
  EXPECT_EQ(Instant("m offset 1m", 60)[0].f, 1);
  EXPECT_EQ(Instant("m @ 0", 1000)[0].f, 1);
}

TEST_F(EngineTest, RateExtrapolates) {
  // A counter growing by 1 every 15s: rate is exactly 1/15 per second.
  std::vector<double> v;
  for (int i = 0; i <= 40; ++i) v.push_back(i);
  Add(L({{"__name__", "c_total"}, {"job", "a"}}), 15, v);
  auto r = Instant("rate(c_total[5m])", 600);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(r[0].f, 1.0 / 15, 1e-12);
  EXPECT_EQ(r[0].metric, L({{"job", "a"}}));  // rate drops the name
  auto inc = Instant("increase(c_total[1m])", 600);
  ASSERT_EQ(inc.size(), 1u);
  EXPECT_NEAR(inc[0].f, 4, 1e-9);
}

TEST_F(EngineTest, AggregationAndMatching) {
  Add(L({{"__name__", "m"}, {"job", "a"}, {"i", "1"}}), 60, {1});
  Add(L({{"__name__", "m"}, {"job", "a"}, {"i", "2"}}), 60, {2});
  Add(L({{"__name__", "n"}, {"job", "a"}}), 60, {10});
  auto s = Instant("sum by (job) (m)", 0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].f, 3);
  auto g = Instant("m * on(job) group_left n", 0);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].f + g[1].f, 30);
  auto err = engine_.InstantQuery(*db_, "n * on(job) m", 0);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(err.status().message().find("many-to-many matching not allowed"), std::string::npos)
      << err.status();
}

TEST_F(EngineTest, RangeQueryAndSubquery) {
  Add(L({{"__name__", "m"}}), 10, {0, 1, 2, 3, 4, 5, 6});
  auto r = engine_.RangeQuery(*db_, "m * 2", 0, 60000, 20000);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].floats.size(), 4u);
  EXPECT_EQ(m[0].floats[3].f, 12);
  // Subquery steps are aligned to multiples of the step: 20s, 40s, 60s within (0s, 60s].
  auto c = Instant("count_over_time(m[60s:20s])", 60);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].f, 3);
}

TEST_F(EngineTest, ErrorTypes) {
  auto parse = engine_.InstantQuery(*db_, "sum(", 0);
  EXPECT_EQ(parse.status().code(), absl::StatusCode::kInvalidArgument);
  auto matrix_range = engine_.RangeQuery(*db_, "m[5m]", 0, 1000, 1000);
  EXPECT_EQ(matrix_range.status().code(), absl::StatusCode::kInvalidArgument);
  Add(L({{"__name__", "m"}}), 1, std::vector<double>(100, 1));
  QueryOptions tight;
  tight.timeout = absl::Nanoseconds(1);
  auto slow = engine_.RangeQuery(*db_, "m", 0, 100000, 1000, tight);
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EngineTest, TooManySamplesInASubqueryFailsEarly) {
  Add(L({{"__name__", "m"}}), 60, {1, 2});
  EngineOptions opts;
  opts.max_samples = 1000;
  Engine small(opts);
  auto r = small.InstantQuery(*db_, "count_over_time(vector(1)[1y:1s])", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(EngineTest, FunctionsAndLiterals) {
  Add(L({{"__name__", "m"}, {"a", "x-y"}}), 60, {-2.5});
  auto r = Instant("label_replace(abs(m), \"b\", \"$1\", \"a\", \"(.*)-.*\")", 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].f, 2.5);
  EXPECT_EQ(r[0].metric, L({{"a", "x-y"}, {"b", "x"}}));
  auto s = engine_.InstantQuery(*db_, "1 + 2 * 3", 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::get<Scalar>(s->value).v, 7);
  auto str = engine_.InstantQuery(*db_, "\"hi\"", 0);
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(std::get<String>(str->value).v, "hi");
  auto absent = Instant("absent(nope{job=\"j\"})", 0);
  ASSERT_EQ(absent.size(), 1u);
  EXPECT_EQ(absent[0].metric, L({{"job", "j"}}));
}

}  // namespace
}  // namespace oriel::promql
