// DB with blocks: persisting the head, reading across blocks and head, reopening (also from the
// states a crash can leave), retention, and truncation under concurrent load. Block ranges are a
// few minutes of synthetic sample time so that the tests are fast.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/metrics.h"
#include "base/status.h"
#include "tsdb/db.h"

namespace oriel::tsdb {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRange = 120000;  // 2 minutes

model::Labels L(std::vector<model::Label> l) { return model::Labels::FromUnsorted(std::move(l)); }

model::Matcher M(model::MatchType type, std::string name, std::string value) {
  return *model::Matcher::Create(type, std::move(name), std::move(value));
}

model::HistogramSample Hist(int64_t t, double count) {
  model::HistogramSample h;
  h.timestamp_ms = t;
  h.schema = 0;
  h.count = count;
  h.sum = count * 2;
  h.positive_spans = {{0, 1}};
  h.positive_buckets = {count};
  return h;
}

std::string Dump(DB& db, int64_t mint, int64_t maxt, std::vector<model::Matcher> ms = {}) {
  if (ms.empty()) ms.push_back(M(model::MatchType::kRegexMatch, "__name__", ".+"));
  std::string out;
  auto set = db.Select(mint, maxt, ms, nullptr);
  while (set->Next()) {
    out += set->labels().ToString() + ":";
    auto it = set->Samples();
    for (auto vt = it->Next(); vt != SampleIterator::ValueType::kNone; vt = it->Next()) {
      if (vt == SampleIterator::ValueType::kFloat) {
        out += fmt::format(" {}={:x}", it->AtTime(), std::bit_cast<uint64_t>(it->AtFloat()));
      } else {
        out += fmt::format(" {}=h{}", it->AtTime(), it->AtHistogram().count);
      }
    }
    out += "\n";
  }
  EXPECT_TRUE(set->status().ok()) << set->status();
  return out;
}

// Writes minutes [from, to) of: a counter every 10s, a series with a stale marker, a histogram
// series, and series "short" that stops after 3 minutes.
void WriteData(DB& db, int64_t from, int64_t to) {
  for (int64_t t = from; t < to; t += 10000) {
    model::MetricBatch b;
    model::SeriesData a;
    a.labels = L({{"__name__", "req_total"}, {"job", "api"}});
    a.samples = {{t, static_cast<double>(t) / 1000}};
    model::SeriesData s;
    s.labels = L({{"__name__", "up"}, {"job", "api"}});
    s.samples = {{t, (t / 10000) % 17 == 0 ? model::StaleNaN() : 1.0}};
    model::SeriesData h;
    h.labels = L({{"__name__", "lat"}, {"job", "db"}});
    h.histograms = {Hist(t, static_cast<double>(t / 10000))};
    b.series = {a, s, h};
    if (t < 180000) {
      model::SeriesData sh;
      sh.labels = L({{"__name__", "short"}, {"job", "batch"}});
      sh.samples = {{t, 7}};
      b.series.push_back(sh);
    }
    b.metadata = {{"req_total", model::MetricType::kCounter, "Requests.", ""}};
    auto r = db.Write(std::move(b));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->samples_rejected, 0) << r->first_rejection;
  }
}

class DbBlocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            fmt::format("db_blocks_test_{}_{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  DbOptions Options() {
    DbOptions o;
    o.block_range_ms = kRange;
    o.background_maintenance = false;
    o.compaction_factor = 0;       // exact block layouts; compaction has its own test
    o.head.samples_per_chunk = 7;  // chunks straddle window boundaries
    return o;
  }

  std::unique_ptr<DB> Open(const std::string& name, DbOptions o) {
    o.registry = &registries_.emplace_back();
    auto db = DB::Open((root_ / name).string(), o);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // A DB that never persists (no dir), holding the same data: the expected answers.
  std::unique_ptr<DB> Reference(int64_t to) {
    auto wal = storage::Wal::Open((root_ / "ref_wal").string());
    EXPECT_TRUE(wal.ok());
    auto db = DB::Open(std::move(*wal), Options());
    EXPECT_TRUE(db.ok());
    WriteData(**db, 0, to);
    return std::move(*db);
  }

  void ExpectSameAnswers(DB& got, DB& want) {
    std::vector<std::pair<int64_t, int64_t>> ranges = {
        {INT64_MIN, INT64_MAX}, {0, 119999},    {100000, 140000}, {119999, 120000},
        {230000, 250000},       {50000, 50000}, {170000, 600000}};
    for (auto [mint, maxt] : ranges) {
      EXPECT_EQ(Dump(got, mint, maxt), Dump(want, mint, maxt)) << mint << ".." << maxt;
      EXPECT_EQ(Dump(got, mint, maxt, {M(model::MatchType::kEqual, "job", "api")}),
                Dump(want, mint, maxt, {M(model::MatchType::kEqual, "job", "api")}));
      EXPECT_EQ(*got.LabelValues("job", mint, maxt, {}), *want.LabelValues("job", mint, maxt, {}))
          << mint << ".." << maxt;
      EXPECT_EQ(*got.LabelNames(mint, maxt, {}), *want.LabelNames(mint, maxt, {}));
    }
  }

  size_t WalSegments(const std::string& name) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(root_ / name / "wal")) {
      (void)e;
      ++n;
    }
    return n;
  }

  fs::path root_;
  std::deque<metrics::Registry> registries_;
};

TEST_F(DbBlocksTest, PersistingTheHeadKeepsAnswers) {
  auto db = Open("db", Options());
  WriteData(*db, 0, 600000);  // 10 minutes: 5 windows
  auto ref = Reference(600000);
  ExpectSameAnswers(*db, *ref);
  ASSERT_TRUE(db->Maintain().ok());

  // The head spanned 0..590s; windows are persisted until it spans at most 3 minutes (480..590s).
  auto blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, kRange - 1);
  EXPECT_EQ(blocks[3]->meta().max_time, 4 * kRange - 1);
  EXPECT_EQ(db->head().MinTime(), 4 * kRange);
  // "short" stopped at 3 minutes: it is gone from the head but still answered from blocks.
  EXPECT_EQ(db->head().NumSeries(), 3u);
  ExpectSameAnswers(*db, *ref);
  EXPECT_EQ(registries_.front().Expose().find("oriel_tsdb_blocks_loaded 4") != std::string::npos,
            true);

  // Writes into a persisted window are refused as too old; newer ones are fine.
  model::MetricBatch late;
  late.series.push_back({L({{"__name__", "req_total"}, {"job", "api"}}), {{1000, 5}}, {}, {}});
  auto r = db->Write(std::move(late));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->samples_rejected, 1);
  EXPECT_NE(r->first_rejection.find("too old"), std::string::npos) << r->first_rejection;

  // Reopened: same answers, from the blocks and the WAL checkpoint.
  db.reset();
  EXPECT_LE(WalSegments("db"), 2u);
  db = Open("db", Options());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Blocks().size(), 4u);
  EXPECT_EQ(db->head().MinTime(), 4 * kRange);
  ExpectSameAnswers(*db, *ref);

  // More data and another round, then reopen again.
  WriteData(*db, 600000, 900000);
  WriteData(*ref, 600000, 900000);
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Blocks().size(), 6u);
  ExpectSameAnswers(*db, *ref);
  db.reset();
  db = Open("db", Options());
  ExpectSameAnswers(*db, *ref);
}

TEST_F(DbBlocksTest, CrashAfterBlockBeforeWalTruncation) {
  auto db = Open("db", Options());
  WriteData(*db, 0, 600000);
  db.reset();
  // "crash" keeps the WAL as it was before truncation.
  fs::copy(root_ / "db", root_ / "crashed", fs::copy_options::recursive);
  db = Open("db", Options());
  ASSERT_TRUE(db->Maintain().ok());
  db.reset();
  // The crashed copy has the blocks but the old WAL (no checkpoint), and a half-written block.
  for (const auto& e : fs::directory_iterator(root_ / "db")) {
    std::string name = e.path().filename().string();
    if (name.rfind("block-", 0) == 0) {
      fs::copy(e.path(), root_ / "crashed" / name, fs::copy_options::recursive);
    }
  }
  fs::create_directories(root_ / "crashed" / "block-x.tmp");
  { std::ofstream(root_ / "crashed" / "block-x.tmp" / "index") << "garbage"; }

  auto crashed = Open("crashed", Options());
  ASSERT_NE(crashed, nullptr);
  EXPECT_FALSE(fs::exists(root_ / "crashed" / "block-x.tmp"));
  EXPECT_EQ(crashed->Blocks().size(), 4u);
  // The WAL's samples that are in blocks were not replayed into the head.
  EXPECT_EQ(crashed->head().MinTime(), 4 * kRange);
  EXPECT_EQ(crashed->head().NumSeries(), 3u);  // not "short", whose samples are all in blocks
  auto ref = Reference(600000);
  ExpectSameAnswers(*crashed, *ref);
  // And it carries on: persisting again works and stays equal.
  ASSERT_TRUE(crashed->Maintain().ok());
  ExpectSameAnswers(*crashed, *ref);
}

TEST_F(DbBlocksTest, CompactionKeepsAnswers) {
  DbOptions o = Options();
  o.compaction_factor = 3;
  auto db = Open("db", o);
  WriteData(*db, 0, 900000);
  auto ref = Reference(900000);
  // Keep the sources of the first compaction as a crash before their deletion would.
  ASSERT_TRUE(db->Maintain().ok());
  auto blocks = db->Blocks();
  // Windows 0..720s were persisted (6 blocks), then compacted 3 by 3.
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 3 * kRange - 1);
  EXPECT_EQ(blocks[0]->meta().level, 2);
  EXPECT_EQ(blocks[1]->meta().min_time, 3 * kRange);
  EXPECT_EQ(blocks[1]->meta().max_time, 6 * kRange - 1);
  EXPECT_NE(registries_.front().Expose().find("oriel_tsdb_compactions_total 8"), std::string::npos);
  ExpectSameAnswers(*db, *ref);
  db.reset();

  // A crash between writing the compacted block and deleting its sources: the sources are
  // found again on open and deleted.
  auto plain = Open("plain", Options());
  WriteData(*plain, 0, 900000);
  ASSERT_TRUE(plain->Maintain().ok());
  ASSERT_EQ(plain->Blocks().size(), 6u);
  std::string source = plain->Blocks()[1]->dir();
  plain.reset();
  std::string name = fs::path(source).filename().string();
  fs::copy(source, root_ / "db" / name, fs::copy_options::recursive);
  db = Open("db", o);
  EXPECT_FALSE(fs::exists(root_ / "db" / name));
  EXPECT_EQ(db->Blocks().size(), 2u);
  ExpectSameAnswers(*db, *ref);
}

TEST_F(DbBlocksTest, CompactionCopiesTheChunksOfInOrderBlocks) {
  // 12 samples per series and window at 5 per chunk: 3 chunks per window as cut (5, 5, 2), where
  // re-chunking the 36 samples of three windows would make 8.
  DbOptions o = Options();
  o.head.samples_per_chunk = 5;
  auto plain = Open("plain", o);
  WriteData(*plain, 0, 900000);
  ASSERT_TRUE(plain->Maintain().ok());
  ASSERT_EQ(plain->Blocks().size(), 6u);
  uint64_t source_chunks = 0, source_samples = 0;
  for (int i = 0; i < 3; ++i) {
    source_chunks += plain->Blocks()[i]->meta().num_chunks;
    source_samples += plain->Blocks()[i]->meta().num_samples;
  }
  o.compaction_factor = 3;
  auto db = Open("db", o);
  WriteData(*db, 0, 900000);
  ASSERT_TRUE(db->Maintain().ok());
  ASSERT_EQ(db->Blocks().size(), 2u);
  EXPECT_EQ(db->Blocks()[0]->meta().num_chunks, source_chunks);
  EXPECT_EQ(db->Blocks()[0]->meta().num_samples, source_samples);
  for (int64_t mint : {INT64_MIN, int64_t{100000}, int64_t{250000}}) {
    EXPECT_EQ(Dump(*db, mint, INT64_MAX), Dump(*plain, mint, INT64_MAX)) << mint;
  }
}

TEST_F(DbBlocksTest, CorruptBlockFailsOpen) {
  auto db = Open("db", Options());
  WriteData(*db, 0, 600000);
  ASSERT_TRUE(db->Maintain().ok());
  std::string index = db->Blocks()[0]->dir() + "/index";
  db.reset();
  { std::ofstream(index, std::ios::trunc) << "ORIDX001 nope"; }
  auto again = DB::Open((root_ / "db").string(), Options());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(DbBlocksTest, RetentionByTimeAndSize) {
  DbOptions o = Options();
  o.retention_time_ms = 250000;
  auto db = Open("db", o);
  WriteData(*db, 0, 600000);  // newest sample 590000: blocks ending before 340000 expire
  ASSERT_TRUE(db->Maintain().ok());
  auto blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]->meta().min_time, 2 * kRange);
  EXPECT_EQ(blocks[1]->meta().min_time, 3 * kRange);
  EXPECT_FALSE(fs::exists(root_ / "db" / BlockDirName(0, kRange - 1)));
  EXPECT_FALSE(fs::exists(root_ / "db" / BlockDirName(kRange, 2 * kRange - 1)));
  EXPECT_TRUE(fs::exists(root_ / "db" / BlockDirName(2 * kRange, 3 * kRange - 1)));
  EXPECT_NE(registries_.front().Expose().find("oriel_tsdb_retention_deletions_total 2"),
            std::string::npos);
  EXPECT_EQ(Dump(*db, 0, 2 * kRange - 1), "");

  // By size: room for the two newest blocks only.
  DbOptions s = Options();
  s.retention_time_ms = 0;
  auto sized = Open("sized", s);
  WriteData(*sized, 0, 900000);
  ASSERT_TRUE(sized->Maintain().ok());
  auto all = sized->Blocks();
  ASSERT_EQ(all.size(), 6u);
  sized.reset();
  s.retention_size_bytes = static_cast<int64_t>(all[4]->SizeBytes() + all[5]->SizeBytes());
  all.clear();
  sized = Open("sized", s);
  ASSERT_TRUE(sized->Maintain().ok());
  all = sized->Blocks();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->meta().min_time, 4 * kRange);
  EXPECT_EQ(all[1]->meta().min_time, 5 * kRange);
}

TEST_F(DbBlocksTest, ConcurrentWritesAndQueriesWhileTruncating) {
  DbOptions o = Options();
  o.background_maintenance = true;  // kicked by the writes
  auto db = Open("db", o);
  constexpr int kWriters = 3;
  constexpr int64_t kSamples = 800;  // 10s apart: ~2 hours of sample time, ~65 windows
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  std::vector<int64_t> accepted(kWriters, 0);
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int64_t i = 0; i < kSamples; ++i) {
        model::MetricBatch b;
        b.series.push_back({L({{"__name__", "c"}, {"w", std::to_string(w)}}),
                            {{i * 10000, static_cast<double>(i)}},
                            {},
                            {}});
        auto r = db->Write(std::move(b));
        ASSERT_TRUE(r.ok()) << r.status();
        accepted[w] += r->samples_written;
        // Writers run at their own pace: one may lag behind a persisted window.
        if (r->samples_rejected > 0) {
          EXPECT_NE(r->first_rejection.find("too old"), std::string::npos);
        }
      }
    });
  }
  std::atomic<int64_t> queries{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::vector<model::Matcher> ms = {M(model::MatchType::kEqual, "__name__", "c")};
      auto set = db->Select(INT64_MIN, INT64_MAX, ms, nullptr);
      while (set->Next()) {
        auto it = set->Samples();
        int64_t prev = INT64_MIN;
        for (auto vt = it->Next(); vt != SampleIterator::ValueType::kNone; vt = it->Next()) {
          ASSERT_GT(it->AtTime(), prev);
          prev = it->AtTime();
        }
      }
      ASSERT_TRUE(set->status().ok());
      ++queries;
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_GT(db->Blocks().size(), 1u);
  EXPECT_GT(queries.load(), 0);

  // Every sample a write accepted is there exactly once, after a reopen too.
  auto count = [&](DB& d) {
    std::vector<int64_t> n;
    std::vector<model::Matcher> ms = {M(model::MatchType::kEqual, "__name__", "c")};
    auto set = d.Select(INT64_MIN, INT64_MAX, ms, nullptr);
    while (set->Next()) {
      auto it = set->Samples();
      int64_t c = 0;
      while (it->Next() != SampleIterator::ValueType::kNone) ++c;
      n.push_back(c);
    }
    return n;
  };
  std::vector<int64_t> before = count(*db);
  EXPECT_EQ(before, accepted);
  db.reset();
  db = Open("db", Options());
  EXPECT_EQ(count(*db), before);
}

TEST_F(DbBlocksTest, LegacyFormatBlocksStayReadableAndCompactIntoTheNewFormat) {
  DbOptions legacy = Options();
  legacy.block_format_version = 1;
  legacy.compaction_factor = 3;
  auto db = Open("db", legacy);
  WriteData(*db, 0, 300000);
  ASSERT_TRUE(db->Maintain().ok());
  ASSERT_FALSE(db->Blocks().empty());
  for (const auto& b : db->Blocks()) EXPECT_EQ(b->meta().version, 1);
  db.reset();

  DbOptions current = Options();
  current.compaction_factor = 3;
  db = Open("db", current);
  ASSERT_NE(db, nullptr);
  auto ref = Reference(300000);
  ExpectSameAnswers(*db, *ref);
  WriteData(*db, 300000, 800000);
  WriteData(*ref, 300000, 800000);
  ASSERT_TRUE(db->Maintain().ok());
  ExpectSameAnswers(*db, *ref);
  // The first compaction window mixed both formats; its merged block is in the new one.
  auto blocks = db->Blocks();
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(blocks[0]->meta().level, 2);
  EXPECT_EQ(blocks[0]->meta().version, kBlockFormatVersion);
  db.reset();
  db = Open("db", current);
  ExpectSameAnswers(*db, *ref);
}

TEST_F(DbBlocksTest, CheckpointIsADirectoryAndLegacyCheckpointsStillReplay) {
  auto db = Open("db", Options());
  WriteData(*db, 0, 600000);
  ASSERT_TRUE(db->Maintain().ok());
  auto ref = Reference(600000);
  db.reset();

  // One checkpoint directory: the one the pointer names.
  const fs::path dir = root_ / "db";
  auto checkpoints = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (e.is_directory() && name.rfind("checkpoint.", 0) == 0) out.push_back(name);
    }
    return out;
  };
  std::ifstream in(dir / "checkpoint");
  uint64_t segment = 0;
  in >> segment;
  ASSERT_GT(segment, 0u);
  const std::string name = fmt::format("checkpoint.{:020}", segment);
  EXPECT_EQ(checkpoints(), std::vector<std::string>{name});

  // Leftovers of interrupted checkpoints are ignored and removed on open.
  fs::create_directories(dir / "checkpoint.00000000000000000001.tmp");
  fs::create_directories(dir / fmt::format("checkpoint.{:020}", segment + 7));
  db = Open("db", Options());
  ASSERT_NE(db, nullptr);
  ExpectSameAnswers(*db, *ref);
  EXPECT_EQ(checkpoints(), std::vector<std::string>{name});
  db.reset();

  // The layout before checkpoint directories: the checkpoint's records open the segment the
  // pointer names. Rebuilt from this checkpoint (nothing was written after it).
  std::vector<fs::path> segments;
  for (const auto& e : fs::directory_iterator(dir / name)) segments.push_back(e.path());
  std::sort(segments.begin(), segments.end());
  ASSERT_FALSE(segments.empty());
  std::string records;
  for (const fs::path& p : segments) {
    std::ifstream f(p, std::ios::binary);
    records += std::string(std::istreambuf_iterator<char>(f), {});
  }
  for (const auto& e : fs::directory_iterator(dir / "wal")) fs::remove(e.path());
  {
    // Segment files are named by their zero-padded index.
    size_t digits = segments.front().filename().string().size();
    std::ofstream out(dir / "wal" / fmt::format("{:0{}}", segment, digits), std::ios::binary);
    out << records;
  }
  fs::remove_all(dir / name);
  db = Open("db", Options());
  ASSERT_NE(db, nullptr);
  ExpectSameAnswers(*db, *ref);
}

TEST_F(DbBlocksTest, CompactHeadPersistsEverythingAndKeepsAnswers) {
  DbOptions o = Options();
  o.compaction_factor = 3;
  auto db = Open("db", o);
  WriteData(*db, 0, 430000);  // windows 0..3, the last one (360..430s) unfinished
  auto ref = Reference(430000);
  ASSERT_TRUE(db->CompactHead().ok());

  // Nothing is left in the head; [0, 6 min) is one compacted block, the unfinished window a
  // block that ends at the newest sample.
  EXPECT_EQ(db->head().MinTime(), INT64_MAX);
  auto blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 3 * kRange - 1);
  EXPECT_EQ(blocks[0]->meta().level, 2);
  EXPECT_EQ(blocks[1]->meta().min_time, 3 * kRange);
  EXPECT_EQ(blocks[1]->meta().max_time, 420000);
  uint64_t samples = 0;
  for (const auto& b : blocks) samples += b->meta().num_samples;
  EXPECT_EQ(samples, 43u * 3 + 18);  // three series every 10s, "short" for 3 minutes
  ExpectSameAnswers(*db, *ref);
  EXPECT_LE(WalSegments("db"), 2u);

  // Newer samples of the same window are still accepted; later ones refused as too old.
  model::MetricBatch late;
  late.series.push_back(
      {L({{"__name__", "req_total"}, {"job", "api"}}), {{415000, 5}, {425000, 6}}, {}, {}});
  auto r = db->Write(std::move(late));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->samples_written, 1);
  EXPECT_EQ(r->samples_rejected, 1);
  model::MetricBatch same;
  same.series.push_back({L({{"__name__", "req_total"}, {"job", "api"}}), {{425000, 6}}, {}, {}});
  ASSERT_TRUE(ref->Write(std::move(same)).ok());

  // The rest of the window is persisted normally later, and compacted with the forced block
  // once the head has left the compaction window; reopening keeps every answer.
  WriteData(*db, 430000, 1100000);
  WriteData(*ref, 430000, 1100000);
  ASSERT_TRUE(db->Maintain().ok());
  ExpectSameAnswers(*db, *ref);
  blocks = db->Blocks();
  ASSERT_GE(blocks.size(), 2u);
  EXPECT_EQ(blocks[1]->meta().min_time, 3 * kRange);
  EXPECT_EQ(blocks[1]->meta().max_time, 6 * kRange - 1);
  db.reset();
  db = Open("db", o);
  ASSERT_NE(db, nullptr);
  ExpectSameAnswers(*db, *ref);
  ASSERT_TRUE(db->CompactHead().ok());
  ExpectSameAnswers(*db, *ref);
  db.reset();
  db = Open("db", o);
  ExpectSameAnswers(*db, *ref);

  // Without a directory there is nothing to compact into.
  auto wal = storage::Wal::Open((root_ / "nodir_wal").string());
  ASSERT_TRUE(wal.ok());
  auto mem = DB::Open(std::move(*wal), Options());
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ((*mem)->CompactHead().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace oriel::tsdb
