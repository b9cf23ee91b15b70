// Out-of-order samples whose time range is already in blocks (issue #3): accepted inside the
// out-of-order window whatever is persisted, refused outside it, queryable at once, durable
// across restart and crash (their own WAL record type), persisted into out-of-order blocks that
// compaction merges with the others, and dropped by retention like the rest. Each scenario is
// checked against a DB without a directory (nothing ever persisted) holding the same writes.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <deque>
#include <filesystem>
#include <thread>

#include "base/metrics.h"
#include "base/status.h"
#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/wal_records.h"

namespace oriel::tsdb {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRange = 120000;   // 2 minutes
constexpr int64_t kWindow = 150000;  // out-of-order window

model::Labels Series(std::string job) {
  return model::Labels::FromUnsorted({{"__name__", "req_total"}, {"job", std::move(job)}});
}

std::string Dump(DB& db, int64_t mint = INT64_MIN, int64_t maxt = INT64_MAX) {
  std::vector<model::Matcher> ms = {
      *model::Matcher::Create(model::MatchType::kRegexMatch, "__name__", ".+")};
  std::string out;
  auto set = db.Select(mint, maxt, ms, nullptr);
  while (set->Next()) {
    out += set->labels().ToString() + ":";
    auto it = set->Samples();
    int64_t prev = INT64_MIN;
    for (auto vt = it->Next(); vt != SampleIterator::ValueType::kNone; vt = it->Next()) {
      EXPECT_GT(it->AtTime(), prev) << "samples not sorted and unique";
      prev = it->AtTime();
      out += fmt::format(" {}={}", it->AtTime(), it->AtFloat());
    }
    out += "\n";
  }
  EXPECT_TRUE(set->status().ok()) << set->status();
  return out;
}

class OutOfOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("ooo_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    auto wal = storage::Wal::Open((root_ / "ref_wal").string());
    ASSERT_TRUE(wal.ok());
    auto ref = DB::Open(std::move(*wal), Options(kWindow));
    ASSERT_TRUE(ref.ok()) << ref.status();
    ref_ = std::move(*ref);
  }
  void TearDown() override {
    ref_.reset();
    fs::remove_all(root_);
  }

  DbOptions Options(int64_t window) {
    DbOptions o;
    o.block_range_ms = kRange;
    o.background_maintenance = false;
    o.compaction_factor = 0;
    o.head.samples_per_chunk = 5;
    o.head.out_of_order_time_window_ms = window;
    return o;
  }

  std::unique_ptr<DB> Open(const std::string& name, DbOptions o) {
    o.registry = &registries_.emplace_back();
    auto db = DB::Open((root_ / name).string(), o);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Writes one sample to `db` and, when `db` accepts it, to the reference; returns the result.
  WriteResult Write(DB& db, const std::string& job, int64_t t, double v) {
    model::MetricBatch b;
    b.series.push_back({Series(job), {{t, v}}, {}, {}});
    auto r = db.Write(b);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    if (r->samples_rejected == 0) {
      auto rr = ref_->Write(std::move(b));
      EXPECT_TRUE(rr.ok() && rr->samples_rejected == 0);
    }
    return *r;
  }

  // In-order data every 10s over [from, to) for jobs "a" and "b".
  void WriteInOrder(DB& db, int64_t from, int64_t to) {
    for (int64_t t = from; t < to; t += 10000) {
      for (const char* job : {"a", "b"}) {
        WriteResult r = Write(db, job, t, static_cast<double>(t) / 1000);
        ASSERT_EQ(r.samples_rejected, 0) << r.first_rejection;
      }
    }
  }

  std::string Exposed(size_t registry) { return registries_[registry].Expose(); }

  fs::path root_;
  std::unique_ptr<DB> ref_;
  std::deque<metrics::Registry> registries_;
};

TEST_F(OutOfOrderTest, AcceptedAfterCompactHeadInsideTheWindowRefusedOutside) {
  auto db = Open("db", Options(kWindow));
  WriteInOrder(*db, 0, 300000);  // newest 290000: the window starts at 140000
  ASSERT_TRUE(db->CompactHead().ok());
  ASSERT_EQ(db->head().MinValidTime(), 290001);

  // Inside the window, between the in-order samples: accepted although persisted.
  for (int64_t t : {195000, 285000}) {
    WriteResult r = Write(*db, "a", t, -1.0 * static_cast<double>(t));
    EXPECT_EQ(r.samples_rejected, 0) << t << ": " << r.first_rejection;
    EXPECT_EQ(r.samples_written, 1);
  }
  // The oldest accepted timestamp, with the value a block already holds there: a duplicate,
  // stored as a late sample (blocks are not searched on write) and read once.
  EXPECT_EQ(Write(*db, "a", 290000 - kWindow, 140).samples_rejected, 0);
  // A new series, only out of order.
  EXPECT_EQ(Write(*db, "c", 250000, 1).samples_rejected, 0);
  // Outside: the existing error.
  WriteResult old = Write(*db, "a", 290000 - kWindow - 1, 1);
  EXPECT_EQ(old.samples_rejected, 1);
  EXPECT_NE(old.first_rejection.find("too old sample"), std::string::npos) << old.first_rejection;
  // The same late sample again: a duplicate, accepted; another value at its timestamp: refused,
  // the first value stays (Prometheus drops such out-of-order inserts too).
  EXPECT_EQ(Write(*db, "a", 195000, -195000).samples_rejected, 0);
  WriteResult dup = Write(*db, "a", 195000, 7);
  EXPECT_EQ(dup.samples_rejected, 1);
  EXPECT_NE(dup.first_rejection.find("duplicate sample"), std::string::npos);

  EXPECT_EQ(db->head().NumLate(), 4);
  // Queryable at once, merged with the blocks in time order.
  std::string want = Dump(*ref_);
  EXPECT_NE(want.find(" 130000=130 140000=140 150000=150"), std::string::npos) << want;
  EXPECT_NE(want.find(" 190000=190 195000=-195000 200000=200"), std::string::npos) << want;
  EXPECT_EQ(Dump(*db), want);
  EXPECT_EQ(Dump(*db, 192000, 196000), Dump(*ref_, 192000, 196000));

  std::string m = Exposed(0);
  EXPECT_NE(m.find("oriel_tsdb_out_of_order_samples_appended_total 4"), std::string::npos) << m;
  EXPECT_NE(m.find("oriel_tsdb_head_late_samples 4"), std::string::npos) << m;
  EXPECT_NE(m.find("oriel_tsdb_rejected_samples_total{type=\"float\",reason=\"too_old\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("oriel_tsdb_rejected_samples_total{type=\"float\",reason=\"duplicate\"} 1"),
            std::string::npos)
      << m;
}

TEST_F(OutOfOrderTest, WindowZeroRefusesPersistedRanges) {
  auto db = Open("db", Options(0));
  WriteInOrder(*db, 0, 300000);
  ASSERT_TRUE(db->CompactHead().ok());
  WriteResult r = Write(*db, "a", 285000, 1);
  EXPECT_EQ(r.samples_rejected, 1);
  EXPECT_NE(r.first_rejection.find("too old sample"), std::string::npos);
  EXPECT_EQ(db->head().NumLate(), 0);
}

TEST_F(OutOfOrderTest, SurvivesRestartAndCrash) {
  auto db = Open("db", Options(kWindow));
  WriteInOrder(*db, 0, 300000);
  ASSERT_TRUE(db->CompactHead().ok());
  for (int64_t t : {195000, 205000, 285000}) {
    ASSERT_EQ(Write(*db, "b", t, 0.5).samples_rejected, 0);
  }
  WriteInOrder(*db, 300000, 320000);  // in order after the late ones, in the same WAL segment
  // A crash: the directory as it is while the DB is open (no Close, no checkpoint).
  fs::copy(root_ / "db", root_ / "crashed", fs::copy_options::recursive);
  const std::string want = Dump(*ref_);

  auto crashed = Open("crashed", Options(kWindow));
  ASSERT_NE(crashed, nullptr);
  EXPECT_EQ(crashed->head().NumLate(), 3);
  EXPECT_EQ(Dump(*crashed), want);

  db.reset();
  db = Open("db", Options(kWindow));
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Dump(*db), want);
  // Late samples still come in after the restart, inside the window only.
  ASSERT_EQ(Write(*db, "b", 215000, 0.25).samples_rejected, 0);
  EXPECT_EQ(Write(*db, "b", 310000 - kWindow - 1, 0.25).samples_rejected, 1);

  // Persisted into an out-of-order block, then the WAL is checkpointed without them.
  ASSERT_TRUE(db->CompactHead().ok());
  EXPECT_EQ(db->head().NumLate(), 0);
  // One block per block range the late samples fall in, cut to the samples' range.
  std::vector<std::pair<int64_t, int64_t>> ranges;
  uint64_t samples = 0;
  for (const auto& b : db->Blocks()) {
    if (!b->meta().out_of_order) continue;
    ranges.emplace_back(b->meta().min_time, b->meta().max_time);
    samples += b->meta().num_samples;
  }
  EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{{195000, 215000}, {285000, 285000}}));
  EXPECT_EQ(samples, 4u);
  EXPECT_NE(Exposed(2).find("oriel_tsdb_out_of_order_blocks_written_total 2"), std::string::npos);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
  db.reset();
  db = Open("db", Options(kWindow));
  EXPECT_EQ(db->head().NumLate(), 0);
  EXPECT_EQ(Dump(*db), Dump(*ref_));

  // A crash after the out-of-order block was written but before the WAL was truncated: the
  // late samples are replayed again and merge with the block's copies.
  ASSERT_EQ(Write(*db, "a", 275000, 3).samples_rejected, 0);
  fs::remove_all(root_ / "crashed");
  fs::copy(root_ / "db", root_ / "crashed", fs::copy_options::recursive);
  ASSERT_TRUE(db->CompactHead().ok());
  for (const auto& e : fs::directory_iterator(root_ / "db")) {
    std::string name = e.path().filename().string();
    if (name.rfind("block-", 0) == 0 && !fs::exists(root_ / "crashed" / name)) {
      fs::copy(e.path(), root_ / "crashed" / name, fs::copy_options::recursive);
    }
  }
  crashed = Open("crashed", Options(kWindow));
  ASSERT_NE(crashed, nullptr);
  EXPECT_EQ(crashed->head().NumLate(), 1);
  EXPECT_EQ(Dump(*crashed), Dump(*ref_));
}

TEST_F(OutOfOrderTest, CheckpointKeepsOutOfOrderSamplesBesideTheChunks) {
  auto db = Open("db", Options(kWindow));
  WriteInOrder(*db, 0, 600000);
  // Out of order but inside the head's range: held in the series' buffer, not as late samples.
  for (int64_t t : {495000, 545000, 585000}) {
    ASSERT_EQ(Write(*db, "b", t, 0.5).samples_rejected, 0);
  }
  ASSERT_TRUE(db->Maintain().ok());
  ASSERT_EQ(db->head().MinTime(), 4 * kRange);
  db.reset();

  // The checkpoint holds the float series as chunks and the buffered samples as samples.
  std::vector<fs::path> checkpoints;
  for (const auto& e : fs::directory_iterator(root_ / "db")) {
    if (e.path().filename().string().rfind("checkpoint.", 0) == 0) checkpoints.push_back(e.path());
  }
  ASSERT_EQ(checkpoints.size(), 1u);
  auto wal = storage::Wal::Open(checkpoints[0].string());
  ASSERT_TRUE(wal.ok());
  size_t chunk_samples = 0, loose_samples = 0;
  ASSERT_TRUE((*wal)
                  ->Replay(0,
                           [&](std::string_view bytes) {
                             auto rec = DecodeWalRecord(bytes);
                             if (!rec.ok()) return rec.status();
                             if (rec->type == WalRecordType::kFloatChunks) {
                               chunk_samples += rec->samples.size();
                             } else if (rec->type == WalRecordType::kSamples) {
                               loose_samples += rec->samples.size();
                             }
                             return absl::OkStatus();
                           })
                  .ok());
  EXPECT_EQ(chunk_samples, 2u * 12);  // 480..590s for "a" and "b"
  EXPECT_EQ(loose_samples, 3u);
  wal->reset();

  db = Open("db", Options(kWindow));
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
  // The buffered samples are out of order again: a sample between them is still accepted.
  ASSERT_EQ(Write(*db, "b", 555000, 0.75).samples_rejected, 0);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
}

TEST_F(OutOfOrderTest, MaintainPersistsLateSamplesWithTheNextWindow) {
  auto db = Open("db", Options(kWindow));
  WriteInOrder(*db, 0, 600000);
  ASSERT_TRUE(db->Maintain().ok());  // windows up to 480000 in blocks
  ASSERT_EQ(db->head().MinValidTime(), 4 * kRange);
  ASSERT_EQ(Write(*db, "a", 475000, 9).samples_rejected, 0);
  ASSERT_EQ(Write(*db, "a", 485000, 9).samples_rejected, 0);  // still in the head's range
  EXPECT_EQ(db->head().NumLate(), 1);
  WriteInOrder(*db, 600000, 720000);
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->head().NumLate(), 0);
  int ooo_blocks = 0;
  for (const auto& b : db->Blocks()) ooo_blocks += b->meta().out_of_order ? 1 : 0;
  EXPECT_EQ(ooo_blocks, 1);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
  db.reset();
  db = Open("db", Options(kWindow));
  EXPECT_EQ(Dump(*db), Dump(*ref_));
}

TEST_F(OutOfOrderTest, CompactionMergesOverlappingBlocks) {
  DbOptions o = Options(kWindow);
  o.compaction_factor = 3;  // compaction windows of 360000
  auto db = Open("db", o);
  WriteInOrder(*db, 0, 300000);
  ASSERT_TRUE(db->CompactHead().ok());
  ASSERT_EQ(db->Blocks().size(), 1u);
  // Late samples, one of them a same-value duplicate of a persisted sample.
  for (int64_t t : {195000, 200000, 255000}) {
    ASSERT_EQ(Write(*db, "a", t, static_cast<double>(t) / 1000).samples_rejected, 0);
  }
  ASSERT_TRUE(db->CompactHead().ok());
  auto blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_FALSE(blocks[0]->meta().out_of_order);
  EXPECT_EQ(blocks[0]->meta().level, 3);  // over the level-2 block of the first CompactHead
  // 30 in-order samples per series plus two new late ones; the duplicate is stored once.
  EXPECT_EQ(blocks[0]->meta().num_samples, 62u);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
  db.reset();
  db = Open("db", o);
  ASSERT_EQ(db->Blocks().size(), 1u);
  EXPECT_EQ(Dump(*db), Dump(*ref_));
}

TEST_F(OutOfOrderTest, RetentionDropsOutOfOrderBlocks) {
  DbOptions o = Options(kWindow);
  auto db = Open("db", o);
  WriteInOrder(*db, 0, 300000);
  ASSERT_TRUE(db->CompactHead().ok());
  ASSERT_EQ(Write(*db, "a", 195000, 1).samples_rejected, 0);
  ASSERT_TRUE(db->CompactHead().ok());
  ASSERT_EQ(db->Blocks().size(), 4u);  // three windows and the out-of-order block
  db.reset();
  o.retention_time_ms = 150000;
  db = Open("db", o);
  WriteInOrder(*db, 300000, 360000);  // newest 350000: blocks ending before 200000 expire
  ASSERT_TRUE(db->Maintain().ok());
  auto blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  for (const auto& b : blocks) EXPECT_FALSE(b->meta().out_of_order);
  EXPECT_EQ(blocks[0]->meta().min_time, kRange);
  EXPECT_NE(Exposed(1).find("oriel_tsdb_retention_deletions_total 2"), std::string::npos);
}

// Late samples written while CompactHead persists and truncates: none is lost or doubled.
TEST_F(OutOfOrderTest, ConcurrentWritesDuringCompactHead) {
  auto db = Open("db", Options(kWindow));
  constexpr int kSamples = 1000;
  std::atomic<bool> done{false};
  std::atomic<int> rejected{0};
  std::thread writer([&] {
    for (int i = 0; i < kSamples; ++i) {
      int64_t t = 100000 + int64_t{i} * 1000;
      model::MetricBatch b;
      b.series.push_back({Series("a"), {{t, 1}}, {}, {}});
      // 50s behind "a": in order for "b", but late once CompactHead cut past it.
      b.series.push_back({Series("b"), {{t - 50000, static_cast<double>(i)}}, {}, {}});
      auto r = db->Write(std::move(b));
      if (!r.ok() || r->samples_rejected > 0) rejected.fetch_add(1);
    }
    done = true;
  });
  int compactions = 0;
  while (!done.load()) {
    ASSERT_TRUE(db->CompactHead().ok());
    ++compactions;
  }
  writer.join();
  ASSERT_TRUE(db->CompactHead().ok());
  EXPECT_EQ(rejected.load(), 0);
  EXPECT_GT(compactions, 1);
  auto count = [](DB& d) {
    std::vector<model::Matcher> ms = {
        *model::Matcher::Create(model::MatchType::kEqual, "job", "b")};
    auto set = d.Select(INT64_MIN, INT64_MAX, ms, nullptr);
    int n = 0;
    int64_t prev = INT64_MIN;
    while (set->Next()) {
      auto it = set->Samples();
      while (it->Next() != SampleIterator::ValueType::kNone) {
        EXPECT_GT(it->AtTime(), prev);
        prev = it->AtTime();
        ++n;
      }
    }
    return n;
  };
  EXPECT_EQ(count(*db), kSamples);
  db.reset();
  db = Open("db", Options(kWindow));
  EXPECT_EQ(count(*db), kSamples);
}

TEST(OooWalRecordTest, RoundTripAndTypeKept) {
  std::vector<WalSample> in = {{3, 1000, 1.5}, {7, 990, -2}};
  std::string rec;
  EncodeOooSamplesRecord(rec, in);
  auto out = DecodeWalRecord(rec);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->type, WalRecordType::kOooSamples);
  ASSERT_EQ(out->samples.size(), 2u);
  EXPECT_EQ(out->samples[1].ref, 7u);
  EXPECT_EQ(out->samples[1].t, 990);
  EXPECT_EQ(out->samples[1].v, -2);
  rec.pop_back();
  EXPECT_EQ(DecodeWalRecord(rec).status().code(), absl::StatusCode::kDataLoss);
}

TEST(OooBlockMetaTest, MarkerIsOptionalAndRoundTrips) {
  BlockMeta m;
  m.min_time = 5;
  m.max_time = 9;
  std::string plain = EncodeBlockMeta(m);
  EXPECT_EQ(plain.find("out_of_order"), std::string::npos);  // older readers see nothing new
  auto parsed = ParseBlockMeta(plain);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->out_of_order);
  m.out_of_order = true;
  parsed = ParseBlockMeta(EncodeBlockMeta(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->out_of_order);
  std::string bad = EncodeBlockMeta(m);
  bad.replace(bad.find("\"out_of_order\": 1"), 17, "\"out_of_order\": 2");
  EXPECT_EQ(ParseBlockMeta(bad).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace oriel::tsdb
