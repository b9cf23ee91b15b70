// SampleIterator::AppendFloats, the bulk read, against the Next-based iteration it replaces: the
// engine's iterators (blocks, head, merges) must return exactly what Seek and Next return.
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <random>

#include "base/status.h"
#include "gtest/gtest.h"
#include "tsdb/db.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/merge.h"
#include "tsdb/series_iterator.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

struct Read {
  std::vector<model::Sample> floats;
  std::vector<int64_t> histograms;
};

// What the default implementation (Seek and Next) reads, and what the native one reads.
Read Expected(SampleIterator& it, int64_t mint, int64_t maxt) {
  Read r;
  it.SampleIterator::AppendFloats(mint, maxt, &r.floats, &r.histograms);
  return r;
}
Read Bulk(SampleIterator& it, int64_t mint, int64_t maxt, bool with_histograms) {
  Read r;
  r.floats.push_back({-1, -1});  // appends after what is there
  it.AppendFloats(mint, maxt, &r.floats, with_histograms ? &r.histograms : nullptr);
  r.floats.erase(r.floats.begin());
  return r;
}

void ExpectSame(const Read& want, const Read& got, bool with_histograms, const std::string& what) {
  ASSERT_EQ(want.floats.size(), got.floats.size()) << what;
  for (size_t i = 0; i < want.floats.size(); ++i) {
    ASSERT_EQ(want.floats[i].timestamp_ms, got.floats[i].timestamp_ms) << what << " sample " << i;
    // Bit for bit: stale markers and other NaNs included.
    ASSERT_EQ(std::bit_cast<uint64_t>(want.floats[i].value),
              std::bit_cast<uint64_t>(got.floats[i].value))
        << what << " sample " << i;
  }
  if (with_histograms) EXPECT_EQ(want.histograms, got.histograms) << what;
}

model::HistogramSample Histogram(int64_t t, double count) {
  model::HistogramSample h;
  h.timestamp_ms = t;
  h.count = count;
  h.sum = count * 1.5;
  h.positive_spans = {{0, 2}};
  h.positive_buckets = {count / 2, count / 2};
  return h;
}

double RandomValue(std::mt19937_64& rng, int series, double* counter) {
  switch (series % 4) {
    case 0:  // a counter with 2 decimals (delta chunks' integer mode)
      return *counter = std::round((*counter + static_cast<double>(rng() % 500) / 100) * 100) / 100;
    case 1:  // random floats (float mode)
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 2:  // a gauge of integers
      return static_cast<double>(rng() % 7);
    default:
      return static_cast<double>(rng() % 1000) / 8;
  }
}

class BulkReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fmt::format("/tmp/bulk_read_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<DB> Open() {
    DbOptions options;
    options.background_maintenance = false;
    options.head.out_of_order_time_window_ms = 8 * kHour;
    auto db = DB::Open(dir_, options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // Every series of every select over `ranges`: the bulk read equals the Next-based one.
  void CheckAll(DB& db, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
    auto matcher = model::Matcher::Create(model::MatchType::kEqual, "__name__", "m");
    ASSERT_TRUE(matcher.ok());
    std::vector<model::Matcher> matchers = {*matcher};
    for (auto [mint, maxt] : ranges) {
      for (bool with_histograms : {true, false}) {
        auto set = db.Select(mint, maxt, matchers, nullptr);
        int series = 0;
        while (set->Next()) {
          ++series;
          auto a = set->Samples();
          auto b = set->Samples();
          std::string what = fmt::format("{} in [{}, {}]", set->labels().ToString(), mint, maxt);
          ExpectSame(Expected(*a, mint, maxt), Bulk(*b, mint, maxt, with_histograms),
                     with_histograms, what);
          // A narrower read than the select's range works too.
          auto c = set->Samples();
          auto d = set->Samples();
          int64_t mid = mint + (maxt - mint) / 3;
          ExpectSame(Expected(*c, mid, maxt - 1), Bulk(*d, mid, maxt - 1, with_histograms),
                     with_histograms, what + " (narrower)");
        }
        ASSERT_TRUE(set->status().ok()) << set->status();
        EXPECT_GT(series, 0);
      }
    }
  }

  std::string dir_;
  std::unique_ptr<DB> db_;
};

TEST_F(BulkReadTest, EqualsNextOverBlocksHeadOutOfOrderAndHistograms) {
  db_ = Open();
  ASSERT_NE(db_, nullptr);
  std::mt19937_64 rng(7);
  constexpr int kSeries = 12;
  std::vector<double> counters(kSeries, 1000);
  auto write = [&](int64_t from, int64_t to, bool late) {
    // A batch per 40 scrapes: fewer WAL syncs.
    model::MetricBatch b;
    b.series.resize(kSeries);
    int scrapes = 0;
    auto flush = [&] {
      std::erase_if(b.series, [](const model::SeriesData& d) {
        return d.samples.empty() && d.histograms.empty();
      });
      if (!b.series.empty()) ASSERT_TRUE(db_->Write(std::move(b)).ok());
      b = {};
      b.series.resize(kSeries);
    };
    for (int64_t t = from; t < to; t += 15'000 + static_cast<int64_t>(rng() % 3) * 1000) {
      if (++scrapes % 40 == 0) flush();
      for (int s = 0; s < kSeries; ++s) {
        if (late && rng() % 3 != 0) continue;
        model::SeriesData& d = b.series[s];
        d.labels = model::Labels::FromUnsorted({{"__name__", "m"}, {"s", std::to_string(s)}});
        // Series 5 and 11 switch to histograms for a while; some samples are stale markers.
        bool histogram = (s == 5 || s == 11) && (t / (45 * kMinute)) % 2 == 1;
        if (histogram && !late) {
          d.histograms.push_back(Histogram(t, static_cast<double>(rng() % 100)));
        } else if (rng() % 97 == 0) {
          d.samples.push_back({t, std::bit_cast<double>(model::kStaleNaNBits)});
        } else {
          d.samples.push_back({t, RandomValue(rng, s, &counters[s])});
        }
      }
    }
    flush();
  };
  // 7 h into blocks, then 2 more hours in the head, then late samples over the blocks' range
  // (some at timestamps the blocks hold: the blocks win), in the head's late buffer.
  write(0, 7 * kHour, false);
  ASSERT_TRUE(db_->CompactHead().ok());
  write(7 * kHour, 9 * kHour, false);
  write(4 * kHour + 7000, 6 * kHour, true);
  write(5 * kHour, 5 * kHour + 30 * kMinute, true);
  // Out-of-order samples inside the head's range, some on timestamps the head holds.
  write(8 * kHour + 5000, 8 * kHour + 40 * kMinute, true);
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 9 * kHour},
      {-kHour, 20 * kHour},
      {2 * kHour + 1, 4 * kHour + 123},
      {5 * kHour, 8 * kHour},
      {8 * kHour + 10 * kMinute, 8 * kHour + 20 * kMinute}};
  CheckAll(*db_, ranges);
  // The late samples become out-of-order blocks overlapping the others; then again with the
  // same data read from blocks only, after a reopen.
  ASSERT_TRUE(db_->CompactHead().ok());
  write(9 * kHour, 10 * kHour, false);
  write(3 * kHour, 3 * kHour + 20 * kMinute, true);
  CheckAll(*db_, ranges);
  db_.reset();
  db_ = Open();
  ASSERT_NE(db_, nullptr);
  CheckAll(*db_, ranges);
}

// A snapshot of XOR, decoded, packed and histogram chunks and out-of-order samples, iterated
// directly (and merged with another), over random ranges.
TEST(BulkReadSnapshotTest, EqualsNextOnRandomSnapshots) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    auto make = [&](int64_t start) {
      auto snap = std::make_shared<SeriesSnapshot>();
      int64_t t = start;
      double counter = 0;
      for (int c = 0; c < 1 + static_cast<int>(rng() % 4); ++c) {
        SeriesSnapshot::Chunk chunk;
        int n = 1 + static_cast<int>(rng() % 50);
        int kind = static_cast<int>(rng() % 4);  // XOR, decoded, histogram, packed
        XorChunk xor_chunk;
        HistogramChunk hist_chunk;
        chunk.min_time = t;
        for (int i = 0; i < n; ++i) {
          double v = rng() % 20 == 0 ? std::bit_cast<double>(model::kStaleNaNBits)
                                     : RandomValue(rng, static_cast<int>(rng() % 4), &counter);
          if (kind == 0) xor_chunk.Append(t, v);
          if (kind == 1 || kind == 3) chunk.samples.push_back({t, v});
          if (kind == 2) hist_chunk.Append(Histogram(t, static_cast<double>(i)));
          chunk.max_time = t;
          t += 1 + static_cast<int64_t>(rng() % 20);
        }
        chunk.num_samples = n;
        chunk.is_float = kind != 2;
        if (kind == 0) chunk.bytes = std::string(xor_chunk.bytes());
        if (kind == 2) chunk.bytes = std::string(hist_chunk.bytes());
        if (kind == 3) {
          chunk.bytes = EncodeDeltaChunk(chunk.samples, DeltaLayout::kPacked);
          chunk.is_delta = true;
          chunk.samples.clear();
        }
        snap->chunks.push_back(std::move(chunk));
      }
      // Out-of-order samples anywhere, some on in-order timestamps.
      std::vector<int64_t> ooo_times;
      for (int i = 0; i < static_cast<int>(rng() % 30); ++i) {
        ooo_times.push_back(start - 10 + static_cast<int64_t>(rng() % (t - start + 20)));
      }
      std::sort(ooo_times.begin(), ooo_times.end());
      ooo_times.erase(std::unique(ooo_times.begin(), ooo_times.end()), ooo_times.end());
      for (int64_t ot : ooo_times) snap->ooo.push_back({ot, static_cast<double>(rng() % 100)});
      return std::shared_ptr<const SeriesSnapshot>(std::move(snap));
    };
    auto s1 = make(1000);
    auto s2 = make(1000 + static_cast<int64_t>(rng() % 2000));
    int64_t mint = 900 + static_cast<int64_t>(rng() % 1500);
    int64_t maxt = mint + static_cast<int64_t>(rng() % 3000);
    for (bool with_histograms : {true, false}) {
      std::string what = fmt::format("round {} [{}, {}]", round, mint, maxt);
      SnapshotIterator a(s1, mint, maxt), b(s1, mint, maxt);
      ExpectSame(Expected(a, mint, maxt), Bulk(b, mint, maxt, with_histograms), with_histograms,
                 what);
      auto merged = [&] {
        std::vector<std::unique_ptr<SampleIterator>> its;
        its.push_back(std::make_unique<SnapshotIterator>(s1, mint, maxt));
        its.push_back(std::make_unique<SnapshotIterator>(s2, mint, maxt));
        return MergeIterator(std::move(its));
      };
      MergeIterator c = merged(), d = merged();
      ExpectSame(Expected(c, mint, maxt), Bulk(d, mint, maxt, with_histograms), with_histograms,
                 what + " merged");
    }
  }
}

// AppendXorFloats against XorIterator on chunks with every timestamp width and value window,
// whole and truncated (corrupt input ends both at the same sample, with an error).
TEST(BulkReadXorTest, EqualsXorIteratorIncludingTruncatedChunks) {
  std::mt19937_64 rng(3);
  static constexpr int64_t kJumps[] = {0, 1, 1000, 9000, 70'000, 600'000, int64_t{1} << 40};
  for (int round = 0; round < 300; ++round) {
    XorChunk chunk;
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
    double v = 0;
    const int n = 1 + static_cast<int>(rng() % 150);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 5) {
        case 0:
          break;  // same value
        case 1:
          v = std::bit_cast<double>(model::kStaleNaNBits);
          break;
        case 2:
          v = std::bit_cast<double>(rng());
          break;
        default:
          v = static_cast<double>(rng() % 100000) / 100;
      }
      chunk.Append(t, v);
      t += 15'000 + (rng() % 4 == 0 ? kJumps[rng() % 7] : 0);
    }
    std::string bytes(chunk.bytes());
    const size_t cut = rng() % 3 == 0 ? rng() % (bytes.size() + 1) : bytes.size();
    std::string_view data = std::string_view(bytes).substr(0, cut);
    const int64_t mint = rng() % 2 ? INT64_MIN : chunk.min_time() + 15'000 * (n / 4);
    const int64_t maxt = rng() % 2 ? INT64_MAX : chunk.max_time() - 15'000 * (n / 4);
    std::vector<model::Sample> want, got;
    XorIterator it(data, n);
    while (it.Next() && it.t() <= maxt) {
      if (it.t() >= mint) want.push_back({it.t(), it.v()});
    }
    absl::Status s = AppendXorFloats(data, n, mint, maxt, &got);
    ASSERT_EQ(want.size(), got.size()) << "round " << round;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(want[i].timestamp_ms, got[i].timestamp_ms) << "round " << round << " " << i;
      ASSERT_EQ(std::bit_cast<uint64_t>(want[i].value), std::bit_cast<uint64_t>(got[i].value))
          << "round " << round << " " << i;
    }
    if (maxt == INT64_MAX) EXPECT_EQ(it.status().ok(), s.ok()) << "round " << round << " " << s;
  }
}

}  // namespace
}  // namespace oriel::tsdb
