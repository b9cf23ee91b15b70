#include "promql/engine/engine.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>

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

// A table over a selector decodes it block by block; the samples of all blocks together are
// what max_samples limits, as when the selector is loaded at once.
TEST_F(EngineTest, TooManySamplesAcrossStreamedBlocks) {
  for (int i = 0; i < 40; ++i) {
    Add(L({{"__name__", "c_total"}, {"i", std::to_string(i)}}), 10, std::vector<double>(30, i));
  }
  for (const char* q : {"sum(rate(c_total[1m]))", "rate(c_total[1m])"}) {
    for (int64_t max_samples : {1199, 1200}) {
      EngineOptions opts;
      opts.max_samples = max_samples;
      opts.range_block_bytes = 1;  // one series a block after the first
      Engine small(opts);
      auto r = small.RangeQuery(*db_, q, 0, 290'000, 10'000);
      if (max_samples < 1200) {
        ASSERT_FALSE(r.ok()) << q;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << q;
      } else {
        EXPECT_TRUE(r.ok()) << q << ": " << r.status();
      }
    }
  }
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

// A range query reuses per-query state across steps (windows viewed in the loaded samples, group
// ids, output series found by label identity): every step must still equal the instant query at
// that time, on series that start late, end with a stale marker, reset, and tie.
TEST_F(EngineTest, RangeQueryStepsEqualInstantQueries) {
  const double stale = model::StaleNaN();
  Add(L({{"__name__", "c_total"}, {"job", "a"}, {"i", "1"}}), 15,
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21});
  Add(L({{"__name__", "c_total"}, {"job", "a"}, {"i", "2"}}), 15,
      {5, 7, 9, 2, 4, 6, 8, stale, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  Add(L({{"__name__", "c_total"}, {"job", "b"}, {"i", "3"}}), 15,
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, stale});
  Add(L({{"__name__", "g"}, {"job", "a"}, {"i", "1"}}), 30, {1, 2, 2, 3, 1, 2, 2, 3, 1, 2, 2});
  Add(L({{"__name__", "g"}, {"job", "b"}, {"i", "3"}}), 30, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2});
  const char* queries[] = {
      "c_total",
      "rate(c_total[1m])",
      "sum by (job) (rate(c_total[1m]))",
      "sum without (i) (increase(c_total[1m]))",
      "topk(1, g)",
      "bottomk(2, c_total)",
      "count_values(\"v\", g)",
      "avg_over_time(g[1m])",
      "max_over_time(rate(c_total[1m])[1m:15s])",
      "g / on (job, i) rate(c_total[1m])",
      "c_total - c_total offset 30s",
      "sum by (x) (label_replace(c_total, \"x\", \"$1\", \"i\", \"(.*)\"))",
      "quantile by (job) (0.5, c_total)",
  };
  const int64_t start = 0, end = 330, step = 15;
  for (const char* q : queries) {
    auto range = engine_.RangeQuery(*db_, q, start * 1000, end * 1000, step * 1000);
    ASSERT_TRUE(range.ok()) << q << ": " << range.status();
    const Matrix& m = std::get<Matrix>(range->value);
    size_t points = 0;
    for (int64_t t = start; t <= end; t += step) {
      Vector want = Instant(q, t);
      for (const Sample& w : want) {
        auto series =
            std::find_if(m.begin(), m.end(), [&](const Series& s) { return s.metric == w.metric; });
        ASSERT_NE(series, m.end()) << q << " at " << t << ": no series " << w.metric.ToString();
        auto p = std::find_if(series->floats.begin(), series->floats.end(),
                              [&](const FloatPoint& fp) { return fp.t == t * 1000; });
        ASSERT_NE(p, series->floats.end()) << q << " at " << t << ": " << w.metric.ToString();
        EXPECT_DOUBLE_EQ(p->f, w.f) << q << " at " << t << ": " << w.metric.ToString();
      }
      points += want.size();
    }
    size_t got = 0;
    for (const Series& s : m) got += s.floats.size();
    EXPECT_EQ(got, points) << q;
    EXPECT_GT(points, 0u) << q;
  }
}

// Range queries compute window functions, aggregations of them and histogram_quantile as tables
// over all steps, split over threads (range_table.h). Every step must give exactly (bit for bit)
// the floats and annotations of the instant query at that time, which never uses tables, on data
// with resets, gaps, stale markers, NaN and Inf, histograms with a malformed `le` and
// non-monotonic buckets, and enough series and steps for the work to be split.
TEST_F(EngineTest, TableEvaluationEqualsInstantQueries) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const double stale = model::StaleNaN();
  const int64_t kSteps = 120, kScrape = 15;
  model::MetricBatch b;
  auto add = [&](model::Labels l, auto value_at) {
    model::SeriesData sd;
    sd.labels = std::move(l);
    double v = 0;
    for (int64_t i = 0; i < kSteps; ++i) {
      if (u(rng) < 0.05) continue;  // a missed scrape
      int64_t jitter = static_cast<int64_t>(u(rng) * 2000) - 1000;
      sd.samples.push_back({std::max<int64_t>(0, i * kScrape * 1000 + jitter), value_at(i, v)});
    }
    b.series.push_back(std::move(sd));
  };
  for (int inst = 0; inst < 12; ++inst) {
    for (const char* code : {"200", "500", "404"}) {
      add(L({{"__name__", "req_total"}, {"instance", std::to_string(inst)}, {"code", code}}),
          [&](int64_t i, double& v) {
            if (inst == 3 && i == 80) return stale;
            if (u(rng) < 0.02) v = 0;  // a counter reset
            v += u(rng) * 10;
            return v;
          });
    }
    add(L({{"__name__", "temp"}, {"instance", std::to_string(inst)}}), [&](int64_t i, double&) {
      if (inst == 1 && i % 50 == 7) return std::nan("");
      if (inst == 2 && i == 100) return std::numeric_limits<double>::infinity();
      return std::round(u(rng) * 8) / 4;
    });
    for (const char* handler : {"/a", "/b"}) {
      double le_counts[4] = {0, 0, 0, 0};
      const char* les[] = {"0.1", "1", "10", "+Inf"};
      for (int k = 0; k < 4; ++k) {
        add(L({{"__name__", "lat_bucket"},
               {"instance", std::to_string(inst)},
               {"handler", handler},
               {"le", les[k]}}),
            [&, k](int64_t, double&) {
              // Cumulative, except for one histogram whose buckets are not monotonic.
              le_counts[k] += (k + 1) * u(rng) * (inst == 5 && k == 2 ? 0.1 : 5);
              return le_counts[k];
            });
      }
    }
  }
  add(L({{"__name__", "lat_bucket"}, {"instance", "0"}, {"handler", "/x"}, {"le", "abc"}}),
      [&](int64_t i, double&) { return static_cast<double>(i); });
  add(L({{"__name__", "bytes"}, {"instance", "0"}}),
      [&](int64_t i, double&) { return static_cast<double>(i * i); });
  // Enough series for the table build to be split over threads.
  for (int i = 0; i < 700; ++i) {
    add(L({{"__name__", "many_total"}, {"i", std::to_string(i)}, {"g", std::to_string(i % 7)}}),
        [&](int64_t, double& v) { return v += u(rng) * 100; });
  }
  ASSERT_TRUE(db_->Write(std::move(b)).ok());

  const char* queries[] = {
      "rate(req_total[1m])",
      "increase(req_total[2m])",
      "delta(temp[1m])",
      "irate(req_total[1m])",
      "idelta(temp[1m])",
      "deriv(temp[2m])",
      "changes(temp[2m])",
      "resets(req_total[2m])",
      "avg_over_time(temp[1m])",
      "sum_over_time(temp[1m])",
      "count_over_time(temp[1m])",
      "min_over_time(temp[1m])",
      "max_over_time(temp[1m])",
      "stddev_over_time(temp[1m])",
      "stdvar_over_time(temp[1m])",
      "last_over_time(temp[1m])",
      "first_over_time(temp[1m])",
      "present_over_time(temp[1m])",
      "rate(bytes[1m])",
      // Counter functions over a gauge with NaN and Inf: resets are found by the same compare.
      "rate(temp[2m])",
      "increase(temp[1m])",
      "sum by (instance) (rate(req_total{code!=\"200\"}[1m]))",
      "sum without (code) (rate(req_total[1m]))",
      "sum by (__name__) (rate(req_total[1m]))",
      "avg by (code) (rate(req_total[1m]))",
      "avg(avg_over_time(temp[1m]))",
      "count by (code) (irate(req_total[1m]))",
      "group by (code) (irate(req_total[1m]))",
      "min by (code) (rate(req_total[1m]))",
      "max by (code) (max_over_time(temp[1m]))",
      "stddev by (code) (rate(req_total[1m]))",
      "stdvar (rate(req_total[1m]))",
      "sum by (g) (rate(many_total[1m]))",
      "rate(many_total[1m])",
      "histogram_quantile(0.9, sum by (le, handler) (rate(lat_bucket[1m])))",
      "histogram_quantile(0.5, rate(lat_bucket[1m]))",
      "histogram_quantile(1.5, sum by (le) (rate(lat_bucket{handler=\"/a\"}[1m])))",
      "topk(3, rate(req_total[1m]))",
      "topk(2, sum by (instance) (rate(req_total[1m])))",
      "topk(3, max_over_time(temp[1m]))",
      "bottomk by (instance) (1, last_over_time(temp[1m]))",
      "topk by (g) (2, rate(many_total[1m]))",
      "limitk(2, rate(req_total[1m]))",
      "sum(topk(5, rate(req_total[1m])))",
      "topk(4, bottomk by (code) (3, rate(req_total[1m])))",
      "bottomk(3, sum by (instance) (rate(req_total[1m])))",
      "sum(rate(req_total[1m])) / sum(rate(many_total[1m]))",
      "rate({__name__=~\"req_total|many_total\"}[1m])",
      "sum by (instance) (last_over_time({__name__=~\"temp|bytes\"}[1m]))",
      "last_over_time({__name__=~\"temp|bytes\"}[1m])",
      // The subquery's steps load the selector before some of them (the range query's steps)
      // build the table over it.
      "max_over_time(sum by (instance) (rate(req_total[1m]))[1m:1s])",
  };
  EngineOptions options;
  options.parse_options.enable_experimental_functions = true;  // first_over_time
  Engine engine(options);
  // Tables over a selector decode it in blocks: here of one series each after the first, so
  // that aggregates add up groups across blocks.
  EngineOptions tiny_blocks = options;
  tiny_blocks.range_block_bytes = 1;
  Engine blocks_engine(tiny_blocks);
  for (auto [step, range_engine] : {std::pair{15, &engine}, std::pair{45, &engine},
                                    std::pair{15, &blocks_engine}, std::pair{45, &blocks_engine}}) {
    const int64_t start = 17, end = kSteps * kScrape - 5;
    for (const char* q : queries) {
      auto range = range_engine->RangeQuery(*db_, q, start * 1000, end * 1000, step * 1000);
      ASSERT_TRUE(range.ok()) << q << ": " << range.status();
      const Matrix& m = std::get<Matrix>(range->value);
      size_t points = 0;
      std::set<std::string> want_notes;
      for (int64_t t = start; t <= end; t += step) {
        auto r = engine.InstantQuery(*db_, q, t * 1000);
        ASSERT_TRUE(r.ok()) << q << ": " << r.status();
        for (auto& w : r->warnings) want_notes.insert("w" + w);
        for (auto& i : r->infos) want_notes.insert("i" + i);
        for (const Sample& w : std::get<Vector>(r->value)) {
          auto series = std::find_if(m.begin(), m.end(),
                                     [&](const Series& s) { return s.metric == w.metric; });
          ASSERT_NE(series, m.end()) << q << " at " << t << ": no series " << w.metric.ToString();
          auto p = std::find_if(series->floats.begin(), series->floats.end(),
                                [&](const FloatPoint& fp) { return fp.t == t * 1000; });
          ASSERT_NE(p, series->floats.end()) << q << " at " << t << ": " << w.metric.ToString();
          EXPECT_TRUE(std::bit_cast<uint64_t>(p->f) == std::bit_cast<uint64_t>(w.f) ||
                      (std::isnan(p->f) && std::isnan(w.f)))
              << q << " step " << step << " at " << t << ": " << w.metric.ToString() << " " << p->f
              << " != " << w.f;
          ++points;
        }
      }
      size_t got = 0;
      for (const Series& s : m) got += s.floats.size();
      EXPECT_EQ(got, points) << q;
      EXPECT_GT(points, 0u) << q;
      std::set<std::string> notes;
      for (auto& w : range->warnings) notes.insert("w" + w);
      for (auto& i : range->infos) notes.insert("i" + i);
      EXPECT_EQ(notes, want_notes) << q;
    }
  }
}

// Groups are assigned once per query: each step must still put every series into its own group.
TEST_F(EngineTest, RangeAggregationGroups) {
  Add(L({{"__name__", "m"}, {"job", "a"}, {"i", "1"}}), 15, {1, 2, 3});
  Add(L({{"__name__", "m"}, {"job", "a"}, {"i", "2"}}), 15, {10, 20, 30});
  Add(L({{"__name__", "m"}, {"job", "b"}, {"i", "3"}}), 15, {100, 200, 300});
  auto r = engine_.RangeQuery(*db_, "sum by (job) (m)", 0, 30000, 15000);
  ASSERT_TRUE(r.ok()) << r.status();
  const Matrix& m = std::get<Matrix>(r->value);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].metric, L({{"job", "a"}}));
  EXPECT_EQ(m[1].metric, L({{"job", "b"}}));
  ASSERT_EQ(m[0].floats.size(), 3u);
  ASSERT_EQ(m[1].floats.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m[0].floats[i].t, static_cast<int64_t>(i) * 15000);
    EXPECT_EQ(m[0].floats[i].f, 11.0 * static_cast<double>(i + 1));
    EXPECT_EQ(m[1].floats[i].f, 100.0 * static_cast<double>(i + 1));
  }
}

// topk keeps the k largest, ties in input order, as Prometheus' stable heap does.
TEST_F(EngineTest, TopkTiesAndNaN) {
  Add(L({{"__name__", "t"}, {"i", "1"}}), 60, {std::nan("")});
  Add(L({{"__name__", "t"}, {"i", "2"}}), 60, {3});
  Add(L({{"__name__", "t"}, {"i", "3"}}), 60, {5});
  Add(L({{"__name__", "t"}, {"i", "4"}}), 60, {3});
  auto top = Instant("topk(3, t)", 0);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].f, 5);
  EXPECT_EQ(top[1].metric.Get("i"), "2");
  EXPECT_EQ(top[2].metric.Get("i"), "4");
  auto bottom = Instant("bottomk(4, t)", 0);
  ASSERT_EQ(bottom.size(), 4u);
  EXPECT_EQ(bottom[0].metric.Get("i"), "2");
  EXPECT_EQ(bottom[1].metric.Get("i"), "4");
  EXPECT_EQ(bottom[2].f, 5);
  EXPECT_TRUE(std::isnan(bottom[3].f));
}

}  // namespace
}  // namespace oriel::promql
