#include "tsdb/head.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <iterator>
#include <limits>

#include "model/sample.h"
#include "tsdb/series_iterator.h"

namespace oriel::tsdb {
namespace {

constexpr int64_t kHour = 3600 * 1000;

model::Labels L(std::vector<model::Label> l) { return model::Labels::FromUnsorted(std::move(l)); }

// What DB::Write does for one sample: check, then apply if accepted.
Verdict AppendFloat(Head& head, MemSeries& s, int64_t t, double v) {
  std::lock_guard lock(s.append_mu);
  Staged staged = Staged::Of(s);
  Verdict verdict = head.CheckFloat(s, staged, t, v, head.MaxTime());
  if (verdict == Verdict::kAppend || verdict == Verdict::kAppendOutOfOrder) {
    head.ApplyFloat(s, t, v);
  }
  return verdict;
}

Verdict AppendHistogram(Head& head, MemSeries& s, const model::HistogramSample& h) {
  std::lock_guard lock(s.append_mu);
  Staged staged = Staged::Of(s);
  Verdict verdict = head.CheckHistogram(s, staged, h, head.MaxTime());
  if (verdict == Verdict::kAppend) head.ApplyHistogram(s, h);
  return verdict;
}

MemSeries& Series(Head& head, const model::Labels& labels) {
  const model::Labels* p = &labels;
  auto got = head.GetOrCreate(std::span<const model::Labels* const>(&p, 1), 0, nullptr);
  EXPECT_TRUE(got.ok()) << got.status();
  return *(*got)[0];
}

// Every sample of `s` as (t, value bits), floats only; histograms as (t, count bits).
std::vector<std::pair<int64_t, uint64_t>> Read(const Head& head, const MemSeries& s,
                                               int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX) {
  std::vector<std::pair<int64_t, uint64_t>> out;
  auto snap = head.Snapshot(s, mint, maxt);
  if (!snap.has_value()) return out;
  SnapshotIterator it(std::make_shared<const SeriesSnapshot>(std::move(*snap)), mint, maxt);
  for (auto type = it.Next(); type != SampleIterator::ValueType::kNone; type = it.Next()) {
    double v = type == SampleIterator::ValueType::kFloat ? it.AtFloat() : it.AtHistogram().count;
    out.emplace_back(it.AtTime(), std::bit_cast<uint64_t>(v));
  }
  return out;
}

uint64_t B(double v) { return std::bit_cast<uint64_t>(v); }

// Label hash calls, counted by the hash function HashCountingOptions injects.
int g_label_hashes = 0;

HeadOptions HashCountingOptions() {
  HeadOptions options;
  options.label_hash = [](const model::Labels& l) -> uint64_t {
    ++g_label_hashes;
    return l.Hash();
  };
  return options;
}

TEST(HeadTest, TheHeadsOwnLabelSetFindsItsSeriesWithoutHashing) {
  Head head(HashCountingOptions());
  model::Labels fresh = L({{"__name__", "up"}, {"job", "a"}});
  MemSeries& up = Series(head, fresh);
  // The set the series was created from is the head's own copy now, and carries its ref.
  EXPECT_TRUE(fresh.SharesBufferWith(up.labels));
  EXPECT_EQ(fresh.IndexSlot(), up.ref);
  int hashes = g_label_hashes;
  EXPECT_EQ(&Series(head, fresh), &up);
  EXPECT_EQ(g_label_hashes, hashes);
  // An equal set in a buffer of its own is found by its hash.
  EXPECT_EQ(&Series(head, L({{"__name__", "up"}, {"job", "a"}})), &up);
  EXPECT_GT(g_label_hashes, hashes);
}

TEST(HeadTest, AStaleIndexSlotIsOnlyAHint) {
  Head head(HeadOptions{});
  MemSeries& a = Series(head, L({{"__name__", "a"}}));
  MemSeries& b = Series(head, L({{"__name__", "b"}}));
  // A set whose slot names another series (as another head may leave it) finds its own series.
  model::Labels b_copy = L({{"__name__", "b"}});
  b_copy.SetIndexSlot(a.ref);
  EXPECT_EQ(&Series(head, b_copy), &b);
  // A slot past the head's series, for a set the head does not have yet: a new series.
  model::Labels c = L({{"__name__", "c"}});
  c.SetIndexSlot(1000);
  MemSeries& created = Series(head, c);
  EXPECT_EQ(created.labels.ToString(), "c");
  EXPECT_EQ(head.NumSeries(), 3u);
  // Once a series is retired its slot no longer finds it.
  model::Labels a_labels = a.labels;
  const uint32_t old_ref = a.ref;
  EXPECT_EQ(head.TruncateBefore(0), 3u);  // none has samples
  MemSeries& again = Series(head, a_labels);
  EXPECT_NE(again.ref, old_ref);
  EXPECT_EQ(a_labels.IndexSlot(), again.ref);
  EXPECT_EQ(again.labels.ToString(), "a");
  EXPECT_EQ(head.NumSeries(), 1u);
  head.FreeRetired();
}

// Views of `labels`, which must outlive them.
model::LabelViews ViewsOf(const std::vector<model::LabelRef>& labels) {
  return {labels, model::Labels::HashOf(labels)};
}

TEST(HeadTest, FindLabelsHandsOutTheHeadsCopyOfKnownSeries) {
  Head head(HeadOptions{});
  MemSeries& up = Series(head, L({{"__name__", "up"}, {"job", "a"}}));
  std::vector<model::LabelRef> known = {{"__name__", "up"}, {"job", "a"}};
  std::vector<model::LabelRef> unknown = {{"__name__", "up"}, {"job", "b"}};
  std::vector<model::LabelRef> longer = {{"__name__", "up"}, {"job", "a"}, {"x", "y"}};
  std::vector<model::LabelViews> sets = {ViewsOf(known), ViewsOf(unknown), ViewsOf(longer)};
  // A wrong hash finds nothing either: the caller's hash is what the lookup goes by.
  sets.push_back({known, sets[0].hash + 1});
  std::vector<model::Labels> out(sets.size());
  out[1] = L({{"__name__", "left"}});
  head.FindLabels(sets, std::span<model::Labels>(out));
  EXPECT_TRUE(out[0].SharesBufferWith(up.labels));  // the head's own set, with the series' ref
  EXPECT_EQ(out[0].IndexSlot(), up.ref);
  EXPECT_EQ(out[1].ToString(), "left");  // not in the head: left alone
  EXPECT_TRUE(out[2].empty());
  EXPECT_TRUE(out[3].empty());
}

TEST(HeadTest, FindLabelsTellsCollidingSetsApart) {
  HeadOptions options;
  options.label_hash = [](const model::Labels&) -> uint64_t { return 42; };
  Head head(options);
  MemSeries& a = Series(head, L({{"__name__", "up"}, {"job", "a"}}));
  MemSeries& b = Series(head, L({{"__name__", "up"}, {"job", "b"}}));
  std::vector<model::LabelRef> want_b = {{"__name__", "up"}, {"job", "b"}};
  std::vector<model::LabelRef> want_c = {{"__name__", "up"}, {"job", "c"}};
  std::vector<model::LabelViews> sets = {ViewsOf(want_b), ViewsOf(want_c)};
  std::vector<model::Labels> out(sets.size());
  head.FindLabels(sets, std::span<model::Labels>(out));
  EXPECT_TRUE(out[0].SharesBufferWith(b.labels));
  EXPECT_FALSE(out[0].SharesBufferWith(a.labels));
  EXPECT_TRUE(out[1].empty());
}

TEST(HeadTest, InOrderSamplesAreCutIntoChunksOf120) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  // A value that packs no smaller than XOR stores it: the chunks stay XOR and run full (see
  // PackedChunksReadBackBitExact for those that pack).
  const double v = 1.0 / 3;
  for (int i = 0; i < 300; ++i) ASSERT_EQ(AppendFloat(head, s, i * 15000, v), Verdict::kAppend);
  ASSERT_EQ(s.chunks().size(), 3u);
  EXPECT_EQ(s.chunks()[0].num_samples(), 120);
  EXPECT_EQ(s.chunks()[2].num_samples(), 60);
  auto got = Read(head, s);
  ASSERT_EQ(got.size(), 300u);
  EXPECT_EQ(got[299], std::make_pair(int64_t{299 * 15000}, B(v)));
  // A range inside the middle chunk.
  auto mid = Read(head, s, 130 * 15000, 135 * 15000);
  ASSERT_EQ(mid.size(), 6u);
  EXPECT_EQ(mid.front().first, 130 * 15000);
  EXPECT_EQ(head.MinTime(), 0);
  EXPECT_EQ(head.MaxTime(), 299 * 15000);
}

// Float chunks are re-packed into the delta encoding when that is smaller, once half full (and
// then closed) or full; what reads back must be what was written, bit for bit, through every
// read path.
TEST(HeadTest, PackedChunksReadBackBitExact) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "packed"}}));
  const double kSpecials[] = {std::nan(""),
                              std::bit_cast<double>(uint64_t{0x7ff8000000000123}),
                              model::StaleNaN(),
                              INFINITY,
                              -INFINITY,
                              -0.0,
                              0.1 + 0.2,
                              1e300,
                              std::numeric_limits<double>::denorm_min()};
  std::vector<std::pair<int64_t, uint64_t>> want;
  int64_t t = -(int64_t{1} << 61);
  double counter = 0;
  for (int i = 0; i < 120 * 5 + 17; ++i) {
    // A counter at exporter resolution with the special values and huge timestamp gaps
    // sprinkled in (chunks 0-7, packed half full), then a chunk of a constant that is no
    // decimal: XOR stores it in a bit per sample, the delta encoding whole, so that chunk stays
    // XOR and runs full.
    double v;
    if (i / 120 == 4) {
      v = 1.0 / 3;
    } else if (i % 11 == 3) {
      v = kSpecials[(i / 11) % std::size(kSpecials)];
    } else {
      counter += 0.25 * (i % 5);
      v = counter;
    }
    ASSERT_EQ(AppendFloat(head, s, t, v), Verdict::kAppend) << i;
    want.emplace_back(t, B(v));
    t += i % 37 == 5 ? (int64_t{1} << 57) + i : 15000 + (i % 3) - 1;
  }
  ASSERT_EQ(s.chunks().size(), 10u);
  for (int c = 0; c < 8; ++c) {
    EXPECT_TRUE(s.chunks()[c].is_packed()) << c;
    EXPECT_EQ(s.chunks()[c].num_samples(), 60) << c;
  }
  EXPECT_FALSE(s.chunks()[8].is_packed()) << "it would not be smaller";
  EXPECT_EQ(s.chunks()[8].num_samples(), 120);
  EXPECT_FALSE(s.chunks()[9].is_packed()) << "the open chunk takes appends";

  EXPECT_EQ(Read(head, s), want);
  // Bulk reads, over the whole series and over a range cutting into packed chunks.
  for (auto [lo, hi] : {std::pair<size_t, size_t>{0, want.size() - 1}, {50, 300}, {130, 131}}) {
    const int64_t mint = want[lo].first, maxt = want[hi].first;
    auto snap = head.Snapshot(s, mint, maxt);
    ASSERT_TRUE(snap.has_value());
    SnapshotIterator it(std::make_shared<const SeriesSnapshot>(std::move(*snap)), mint, maxt);
    std::vector<model::Sample> bulk;
    it.AppendFloats(mint, maxt, &bulk, nullptr);
    ASSERT_EQ(bulk.size(), hi - lo + 1);
    for (size_t i = 0; i < bulk.size(); ++i) {
      EXPECT_EQ(std::make_pair(bulk[i].timestamp_ms, B(bulk[i].value)), want[lo + i]) << i;
    }
    EXPECT_EQ(Read(head, s, mint, maxt),
              std::vector(want.begin() + static_cast<ptrdiff_t>(lo),
                          want.begin() + static_cast<ptrdiff_t>(hi) + 1));
  }
  // Duplicate checks look into packed chunks (an out-of-order window makes them look).
  Head ooo_head({.out_of_order_time_window_ms = INT64_MAX});
  MemSeries& o = Series(ooo_head, L({{"__name__", "packed"}}));
  for (const auto& [wt, wv] : want)
    ASSERT_EQ(AppendFloat(ooo_head, o, wt, std::bit_cast<double>(wv)), Verdict::kAppend);
  ASSERT_TRUE(o.chunks()[0].is_packed());
  EXPECT_EQ(AppendFloat(ooo_head, o, want[3].first, std::bit_cast<double>(want[3].second)),
            Verdict::kDuplicate);
  EXPECT_EQ(AppendFloat(ooo_head, o, want[4].first, 12345), Verdict::kRejectDuplicate);
  EXPECT_EQ(AppendFloat(ooo_head, o, want[4].first + 1, 12345), Verdict::kAppendOutOfOrder);

  // Truncating into a packed chunk keeps the rest of it, still packed.
  head.TruncateBefore(want[200].first);
  ASSERT_FALSE(s.chunks().empty());
  EXPECT_TRUE(s.chunks()[0].is_packed());
  EXPECT_EQ(s.chunks()[0].num_samples(), 40);
  EXPECT_EQ(Read(head, s), std::vector(want.begin() + 200, want.end()));
}

TEST(HeadTest, SameTimestampSameValueIsADuplicateOtherwiseRejected) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  ASSERT_EQ(AppendFloat(head, s, 1000, 1), Verdict::kAppend);
  EXPECT_EQ(AppendFloat(head, s, 1000, 1), Verdict::kDuplicate);
  EXPECT_EQ(AppendFloat(head, s, 1000, 2), Verdict::kRejectDuplicate);
  EXPECT_EQ(VerdictMessage(Verdict::kRejectDuplicate), "duplicate sample for timestamp");
  ASSERT_EQ(AppendFloat(head, s, 2000, std::nan("")), Verdict::kAppend);
  EXPECT_EQ(AppendFloat(head, s, 2000, std::nan("")), Verdict::kDuplicate) << "same bits";
  EXPECT_EQ(AppendFloat(head, s, 2000, model::StaleNaN()), Verdict::kRejectDuplicate);
  EXPECT_EQ(Read(head, s).size(), 2u);
}

TEST(HeadTest, OlderSamplesAreOutOfOrderWithoutAWindow) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  ASSERT_EQ(AppendFloat(head, s, 10000, 1), Verdict::kAppend);
  EXPECT_EQ(AppendFloat(head, s, 9999, 1), Verdict::kRejectOutOfOrder);
  EXPECT_EQ(VerdictMessage(Verdict::kRejectOutOfOrder), "out of order sample");
  EXPECT_EQ(Read(head, s).size(), 1u);
}

TEST(HeadTest, SamplesOlderThanHeadMaxMinusAnHourAreTooOld) {
  Head head({});
  MemSeries& a = Series(head, L({{"__name__", "a"}}));
  MemSeries& b = Series(head, L({{"__name__", "b"}}));
  ASSERT_EQ(AppendFloat(head, a, 10 * kHour, 1), Verdict::kAppend);
  // A fresh series is still bound by the head's max time.
  EXPECT_EQ(AppendFloat(head, b, 9 * kHour - 1, 1), Verdict::kRejectTooOld);
  EXPECT_EQ(AppendFloat(head, b, 9 * kHour, 1), Verdict::kAppend);
  EXPECT_EQ(AppendFloat(head, b, 9 * kHour - 5, 1), Verdict::kRejectTooOld);
  EXPECT_EQ(VerdictMessage(Verdict::kRejectTooOld), "too old sample");
}

TEST(HeadTest, OutOfOrderWindowAcceptsIntoABufferMergedOnRead) {
  Head head({.out_of_order_time_window_ms = 2 * kHour});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(AppendFloat(head, s, 10 * kHour + i * 1000, i), Verdict::kAppend);
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour + 1500, 100), Verdict::kAppendOutOfOrder);
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour - 90 * 60 * 1000, 200), Verdict::kAppendOutOfOrder)
      << "older than the 1h bound but inside the window";
  EXPECT_EQ(AppendFloat(head, s, 8 * kHour - 1, 1), Verdict::kRejectTooOld);
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour + 1500, 100), Verdict::kDuplicate);
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour + 1500, 101), Verdict::kRejectDuplicate);
  // An out-of-order sample landing on an in-order timestamp.
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour + 3000, 3), Verdict::kDuplicate);
  EXPECT_EQ(AppendFloat(head, s, 10 * kHour + 3000, 4), Verdict::kRejectDuplicate);
  auto got = Read(head, s);
  ASSERT_EQ(got.size(), 12u);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LT(got[i - 1].first, got[i].first);
  EXPECT_EQ(got[0], std::make_pair(10 * kHour - 90 * 60 * 1000, B(200)));
  EXPECT_EQ(got[3], std::make_pair(10 * kHour + 1500, B(100)));
  // Seek lands on the out-of-order sample between two in-order ones.
  auto snap = head.Snapshot(s, INT64_MIN, INT64_MAX);
  SnapshotIterator it(std::make_shared<const SeriesSnapshot>(std::move(*snap)), INT64_MIN,
                      INT64_MAX);
  ASSERT_EQ(it.Seek(10 * kHour + 1001), SampleIterator::ValueType::kFloat);
  EXPECT_EQ(it.AtTime(), 10 * kHour + 1500);
  EXPECT_EQ(it.AtFloat(), 100);
  ASSERT_EQ(it.Next(), SampleIterator::ValueType::kFloat);
  EXPECT_EQ(it.AtTime(), 10 * kHour + 2000);
}

TEST(HeadTest, NewSeriesWithOnlyOutOfOrderDataStillDetectsDuplicates) {
  Head head({.out_of_order_time_window_ms = 3 * kHour});
  MemSeries& a = Series(head, L({{"__name__", "a"}}));
  MemSeries& b = Series(head, L({{"__name__", "b"}}));
  ASSERT_EQ(AppendFloat(head, a, 10 * kHour, 1), Verdict::kAppend);
  // Older than the 1h bound: b's first samples go to the out-of-order buffer.
  ASSERT_EQ(AppendFloat(head, b, 8 * kHour, 1), Verdict::kAppendOutOfOrder);
  ASSERT_EQ(AppendFloat(head, b, 8 * kHour + 2000, 2), Verdict::kAppendOutOfOrder);
  // In-order data older than the out-of-order samples is fine...
  ASSERT_EQ(AppendFloat(head, b, 9 * kHour + 1000, 3), Verdict::kAppend);
  ASSERT_EQ(AppendFloat(head, b, 8 * kHour + 1000, 4), Verdict::kAppendOutOfOrder);
  EXPECT_EQ(AppendFloat(head, b, 8 * kHour + 2000, 5), Verdict::kRejectDuplicate);
  auto got = Read(head, b);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2], std::make_pair(8 * kHour + 2000, B(2)));
}

TEST(HeadTest, StaleMarkersAreStoredAsSamples) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  ASSERT_EQ(AppendFloat(head, s, 1000, 1), Verdict::kAppend);
  ASSERT_EQ(AppendFloat(head, s, 2000, model::StaleNaN()), Verdict::kAppend);
  auto got = Read(head, s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].second, model::kStaleNaNBits);
}

model::HistogramSample H(int64_t t, double count) {
  model::HistogramSample h;
  h.timestamp_ms = t;
  h.count = count;
  h.sum = count * 2;
  h.positive_spans = {{0, 2}};
  h.positive_buckets = {count / 2, count / 2};
  return h;
}

TEST(HeadTest, HistogramRulesAndAlternationWithFloats) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "h"}}));
  ASSERT_EQ(AppendHistogram(head, s, H(1000, 4)), Verdict::kAppend);
  EXPECT_EQ(AppendHistogram(head, s, H(1000, 4)), Verdict::kDuplicate);
  EXPECT_EQ(AppendHistogram(head, s, H(1000, 6)), Verdict::kRejectDuplicate);
  EXPECT_EQ(AppendHistogram(head, s, H(500, 6)), Verdict::kRejectOutOfOrder);
  EXPECT_EQ(AppendFloat(head, s, 1000, 4), Verdict::kRejectDuplicate) << "another type";
  ASSERT_EQ(AppendFloat(head, s, 2000, 7), Verdict::kAppend);
  ASSERT_EQ(AppendHistogram(head, s, H(3000, 8)), Verdict::kAppend);
  EXPECT_EQ(s.chunks().size(), 3u) << "a type change cuts a chunk";
  auto got = Read(head, s);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(int64_t{1000}, B(4)));
  EXPECT_EQ(got[1], std::make_pair(int64_t{2000}, B(7)));
  EXPECT_EQ(got[2], std::make_pair(int64_t{3000}, B(8)));
}

TEST(HeadTest, StagedSamplesOfOneWriteAreSeenByLaterChecks) {
  Head head({});
  MemSeries& s = Series(head, L({{"__name__", "up"}}));
  std::lock_guard lock(s.append_mu);
  Staged st = Staged::Of(s);
  Verdict v = head.CheckFloat(s, st, 1000, 1, head.MaxTime());
  ASSERT_EQ(v, Verdict::kAppend);
  Head::RecordFloat(st, v, 1000, 1);
  EXPECT_EQ(head.CheckFloat(s, st, 1000, 2, 1000), Verdict::kRejectDuplicate);
  EXPECT_EQ(head.CheckFloat(s, st, 999, 2, 1000), Verdict::kRejectOutOfOrder);
  EXPECT_EQ(head.CheckFloat(s, st, 1001, 2, 1000), Verdict::kAppend);
}

TEST(HeadTest, SeriesAreFoundByLabelsAndTheLimitIsEnforced) {
  Head head({});
  model::Labels a = L({{"__name__", "a"}});
  model::Labels b = L({{"__name__", "b"}});
  model::Labels c = L({{"__name__", "c"}});
  std::vector<const model::Labels*> first = {&a, &b, &a};
  std::vector<bool> created;
  auto got = head.GetOrCreate(first, 2, &created);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0], (*got)[2]) << "the same labels twice in one batch";
  EXPECT_EQ(created, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(head.NumSeries(), 2u);
  std::vector<const model::Labels*> second = {&a, &c};
  auto over = head.GetOrCreate(second, 2, &created);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(head.NumSeries(), 2u);
  std::vector<const model::Labels*> existing = {&b};
  EXPECT_TRUE(head.GetOrCreate(existing, 2, nullptr).ok()) << "existing series need no room";
  EXPECT_EQ(head.Get((*got)[1]->ref)->labels, b);
}

TEST(HeadTest, HashCollisionsAreToldApartByLabels) {
  HeadOptions options;
  options.label_hash = [](const model::Labels&) -> uint64_t { return 42; };
  Head head(options);
  MemSeries& a = Series(head, L({{"__name__", "a"}}));
  MemSeries& b = Series(head, L({{"__name__", "b"}}));
  EXPECT_NE(&a, &b);
  EXPECT_EQ(&Series(head, L({{"__name__", "a"}})), &a);
  EXPECT_EQ(&Series(head, L({{"__name__", "b"}})), &b);
  EXPECT_EQ(head.NumSeries(), 2u);
  ASSERT_EQ(AppendFloat(head, a, 1000, 1), Verdict::kAppend);
  ASSERT_EQ(AppendFloat(head, b, 1000, 2), Verdict::kAppend) << "not a duplicate of a's sample";
  EXPECT_TRUE(head.CreateWithRef(7, L({{"__name__", "c"}})).ok());
  EXPECT_EQ(head.CreateWithRef(8, L({{"__name__", "a"}})).code(), absl::StatusCode::kDataLoss);
  // Retiring one of the colliding series (c has no samples) leaves the others found.
  EXPECT_EQ(head.TruncateBefore(0), 1u);
  EXPECT_EQ(&Series(head, L({{"__name__", "a"}})), &a);
  EXPECT_EQ(&Series(head, L({{"__name__", "b"}})), &b);
  EXPECT_EQ(head.NumSeries(), 2u);
  EXPECT_EQ(Series(head, L({{"__name__", "c"}})).ref, 8u);
  head.FreeRetired();
}

TEST(HeadTest, ReplayedRefsMustAgree) {
  Head head({});
  ASSERT_TRUE(head.CreateWithRef(5, L({{"__name__", "a"}})).ok());
  EXPECT_TRUE(head.CreateWithRef(5, L({{"__name__", "a"}})).ok());
  EXPECT_EQ(head.CreateWithRef(5, L({{"__name__", "b"}})).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(head.CreateWithRef(6, L({{"__name__", "a"}})).code(), absl::StatusCode::kDataLoss);
  // New series get refs after the replayed ones.
  MemSeries& s = Series(head, L({{"__name__", "c"}}));
  EXPECT_EQ(s.ref, 6u);
}

TEST(HeadTest, MetadataLatestWins) {
  Head head({});
  head.SetMetadata({"b_total", model::MetricType::kCounter, "old", ""});
  head.SetMetadata({"b_total", model::MetricType::kCounter, "new", ""});
  head.SetMetadata({"a", model::MetricType::kGauge, "g", "bytes"});
  auto all = head.Metadata("", 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].metric_family, "a");
  EXPECT_EQ(all[1].help, "new");
  EXPECT_EQ(head.Metadata("", 1).size(), 1u);
  ASSERT_EQ(head.Metadata("a", 0).size(), 1u);
  EXPECT_EQ(head.Metadata("a", 0)[0].unit, "bytes");
  EXPECT_TRUE(head.Metadata("nope", 0).empty());
}

TEST(ExemplarStorageTest, RingEvictsOldestOverallAndKeepsPerSeriesOrder) {
  ExemplarStorage ex(3);
  auto e = [](int64_t t) { return model::Exemplar{L({{"trace_id", "x"}}), double(t), t}; };
  ex.Add(1, e(10));
  ex.Add(2, e(20));
  ex.Add(1, e(30));
  EXPECT_EQ(ex.Get(1, 0, 100).size(), 2u);
  ex.Add(2, e(40));  // evicts series 1's t=10
  auto one = ex.Get(1, 0, 100);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].timestamp_ms, 30);
  ex.Add(3, e(50));  // evicts series 2's t=20
  ex.Add(3, e(60));  // evicts series 1's t=30: series 1 is gone
  EXPECT_TRUE(ex.Get(1, 0, 100).empty());
  EXPECT_FALSE(ex.Newest(1).has_value());
  auto three = ex.Get(3, 0, 100);
  ASSERT_EQ(three.size(), 2u);
  EXPECT_EQ(three[1].timestamp_ms, 60);
  EXPECT_EQ(ex.Get(3, 55, 100).size(), 1u);
  EXPECT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex.Newest(2)->timestamp_ms, 40);
}

TEST(ExemplarStorageTest, CountsCharactersNotBytes) {
  EXPECT_EQ(ExemplarLabelChars(L({{"ab", "\xc3\xa9t\xc3\xa9"}})), 5u);
}

}  // namespace
}  // namespace oriel::tsdb

namespace oriel::tsdb {
namespace {

std::vector<std::string> Names(const std::vector<MemSeries*>& series) {
  std::vector<std::string> out;
  for (const MemSeries* s : series) out.emplace_back(s->labels.Get("n"));
  return out;
}

// Selects sort by remembered label ranks; series created since (small and large selections)
// and the series of a selection that all come after the ranks must still sort by labels.
TEST(HeadTest, SortByLabelsWithRememberedRanks) {
  Head head(HeadOptions{});
  for (const char* n : {"d", "b", "e", "a", "c"}) Series(head, L({{"m", "x"}, {"n", n}}));
  std::vector<MemSeries*> all = head.Select({});
  head.SortByLabels(all);
  EXPECT_EQ(Names(all), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  // Two new series: a selection of one of them sorts directly, the whole head by new ranks.
  Series(head, L({{"m", "x"}, {"n", "bb"}}));
  Series(head, L({{"m", "x"}, {"n", "0"}}));
  auto one = head.Select(std::vector<model::Matcher>{
      *model::Matcher::Create(model::MatchType::kRegexMatch, "n", "bb|a")});
  head.SortByLabels(one);
  EXPECT_EQ(Names(one), (std::vector<std::string>{"a", "bb"}));
  all = head.Select({});
  std::reverse(all.begin(), all.end());
  head.SortByLabels(all);
  EXPECT_EQ(Names(all), (std::vector<std::string>{"0", "a", "b", "bb", "c", "d", "e"}));
  all = head.Select({});
  head.SortByLabels(all);
  EXPECT_EQ(Names(all), (std::vector<std::string>{"0", "a", "b", "bb", "c", "d", "e"}));
}

}  // namespace
}  // namespace oriel::tsdb
