#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/status.h"
#include "tsdb/block_reader.h"
#include "tsdb/block_writer.h"
#include "tsdb/head.h"
#include "tsdb/merge.h"
#include "tsdb/series_iterator.h"

namespace oriel::tsdb {
namespace {

namespace fs = std::filesystem;

model::Labels L(std::vector<model::Label> l) { return model::Labels::FromUnsorted(std::move(l)); }

model::Matcher M(model::MatchType type, std::string name, std::string value) {
  return *model::Matcher::Create(type, std::move(name), std::move(value));
}

// One sample as a comparable string: the time, and bit-exact value or histogram fields.
struct Dumped {
  model::Labels labels;
  std::vector<std::string> samples;
  bool operator==(const Dumped&) const = default;
};

std::vector<Dumped> Dump(SeriesSet& set) {
  std::vector<Dumped> out;
  while (set.Next()) {
    Dumped d{set.labels(), {}};
    auto it = set.Samples();
    for (auto vt = it->Next(); vt != SampleIterator::ValueType::kNone; vt = it->Next()) {
      if (vt == SampleIterator::ValueType::kFloat) {
        d.samples.push_back(
            fmt::format("{} f{:x}", it->AtTime(), std::bit_cast<uint64_t>(it->AtFloat())));
      } else {
        const model::HistogramSample& h = it->AtHistogram();
        d.samples.push_back(fmt::format("{} h{} {} {} {}", it->AtTime(), h.schema, h.count, h.sum,
                                        h.positive_buckets.size()));
      }
    }
    out.push_back(std::move(d));
  }
  EXPECT_TRUE(set.status().ok()) << set.status();
  return out;
}

model::HistogramSample Hist(int64_t t, double count) {
  model::HistogramSample h;
  h.timestamp_ms = t;
  h.schema = 1;
  h.count = count;
  h.sum = count * 1.5;
  h.positive_spans = {{0, 2}};
  h.positive_buckets = {count / 2, count / 2};
  return h;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Parameterized tests are named "Name/0": keep the directory flat so TearDown removes it all.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = fs::temp_directory_path() / fmt::format("block_test_{}_{}", ::getpid(), name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A head with floats (including stale markers and an out-of-order sample), histograms, and a
  // series that switches between the two.
  void Fill(Head& head) {
    std::vector<model::Labels> ls = {
        L({{"__name__", "up"}, {"job", "a"}}), L({{"__name__", "up"}, {"job", "b"}}),
        L({{"__name__", "lat"}, {"job", "a"}}), L({{"__name__", "mix"}, {"job", "c"}})};
    std::vector<const model::Labels*> ptrs;
    for (auto& l : ls) ptrs.push_back(&l);
    auto series = *head.GetOrCreate(ptrs, 0, nullptr);
    for (int64_t t = 0; t < 1000; t += 7) {
      head.ApplyFloat(*series[0], t, static_cast<double>(t) / 3);
      if (t % 91 == 0) {
        head.ApplyFloat(*series[1], t, model::StaleNaN());
      } else {
        head.ApplyFloat(*series[1], t, -static_cast<double>(t));
      }
      head.ApplyHistogram(*series[2], Hist(t, static_cast<double>(t)));
      if ((t / 70) % 2 == 0) {
        head.ApplyFloat(*series[3], t, 1);
      } else {
        head.ApplyHistogram(*series[3], Hist(t, 2));
      }
    }
  }

  std::unique_ptr<SeriesSet> HeadSet(const Head& head, int64_t mint, int64_t maxt,
                                     std::span<const model::Matcher> ms = {}) {
    std::vector<MemSeries*> s = head.Select(ms);
    std::sort(s.begin(), s.end(),
              [](const MemSeries* a, const MemSeries* b) { return a->labels < b->labels; });
    return std::make_unique<HeadSeriesSet>(head, std::move(s), mint, maxt);
  }

  std::string WriteFromHead(const Head& head, int64_t mint, int64_t maxt) {
    auto set = HeadSet(head, mint, maxt);
    auto series = CollectSeries(*set, mint, maxt, 50);
    EXPECT_TRUE(series.ok()) << series.status();
    BlockMeta meta;
    meta.min_time = mint;
    meta.max_time = maxt;
    auto path = WriteBlock(dir_.string(), meta, std::move(*series), format_);
    EXPECT_TRUE(path.ok()) << path.status();
    return *path;
  }

  fs::path dir_;
  int format_ = kBlockFormatVersion;
};

// The tests that run against both block formats: version 1 blocks stay readable.
class BlockFormatTest : public BlockTest, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    BlockTest::SetUp();
    format_ = GetParam();
  }
};

INSTANTIATE_TEST_SUITE_P(Formats, BlockFormatTest, ::testing::Values(1, 2, kBlockFormatVersion));

TEST_P(BlockFormatTest, RoundTripEqualsHead) {
  Head head(HeadOptions{});
  Fill(head);
  std::string path = WriteFromHead(head, 0, 999);
  EXPECT_FALSE(fs::exists(path + std::string(kBlockTmpSuffix)));
  auto block = BlockReader::Open(path);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->meta().version, GetParam());
  EXPECT_EQ(ReadFile(fs::path(path) / kBlockChunksFile).substr(0, 8), GetParam() == 1 ? kChunksMagic
                                                                      : GetParam() == 2
                                                                          ? kChunksMagicV2
                                                                          : kChunksMagicV3);
  EXPECT_EQ((*block)->meta().num_series, 4u);
  EXPECT_EQ((*block)->meta().num_samples, 4u * 143);

  // Whole range, sub-ranges and matchers give what the head gives.
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 999}, {-50, 5000}, {100, 300}, {7, 7}, {8, 13}};
  std::vector<std::vector<model::Matcher>> matchers = {
      {},
      {M(model::MatchType::kEqual, "__name__", "up")},
      {M(model::MatchType::kRegexMatch, "job", "a|c")},
      {M(model::MatchType::kNotEqual, "job", "a"), M(model::MatchType::kEqual, "__name__", "up")}};
  for (auto [mint, maxt] : ranges) {
    for (const auto& ms : matchers) {
      auto want = Dump(*HeadSet(head, mint, maxt, ms));
      auto got = Dump(*(*block)->Select(mint, maxt, ms));
      EXPECT_EQ(got, want) << mint << ".." << maxt;
    }
  }
  auto all = Dump(*(*block)->Select(0, 999, {}));
  ASSERT_EQ(all.size(), 4u);
  // Stale markers survive bit-exactly.
  EXPECT_EQ(all[3].samples[0], fmt::format("0 f{:x}", model::kStaleNaNBits));

  EXPECT_EQ((*block)->LabelNames(0, 999, {}), (std::vector<std::string>{"__name__", "job"}));
  EXPECT_EQ((*block)->LabelValues("job", 0, 999, {}), (std::vector<std::string>{"a", "b", "c"}));
  std::vector<model::Matcher> lat = {M(model::MatchType::kEqual, "__name__", "lat")};
  EXPECT_EQ((*block)->LabelValues("job", 0, 999, lat), (std::vector<std::string>{"a"}));
  EXPECT_TRUE((*block)->LabelValues("job", 2000, 3000, {}).empty());
}

TEST_F(BlockTest, WriteRefusesChunksOutsideRangeAndExistingBlocks) {
  Head head(HeadOptions{});
  Fill(head);
  auto set = HeadSet(head, 0, 999);
  auto series = *CollectSeries(*set, 0, 999, 120);
  BlockMeta meta;
  meta.min_time = 0;
  meta.max_time = 500;
  EXPECT_EQ(WriteBlock(dir_.string(), meta, series).status().code(),
            absl::StatusCode::kInvalidArgument);
  meta.max_time = 999;
  ASSERT_TRUE(WriteBlock(dir_.string(), meta, series).ok());
  EXPECT_EQ(WriteBlock(dir_.string(), meta, series).status().code(),
            absl::StatusCode::kAlreadyExists);
}

// Series generated one at a time, as a head or block select hands them out; records the heap in
// use each time a series is asked for.
class GeneratedSeriesSet final : public SeriesSet {
 public:
  GeneratedSeriesSet(int num_series, int samples) : num_series_(num_series), samples_(samples) {}
  bool Next() override {
    heap_peak_ = std::max(heap_peak_, mallinfo2().uordblks);
    if (next_ >= num_series_) return false;
    auto snap = std::make_shared<SeriesSnapshot>();
    snap->labels = L({{"__name__", "m"}, {"i", fmt::format("{:05}", next_)}});
    for (int j = 0; j < samples_; ++j) {
      snap->ooo.push_back({int64_t{j} * 15000, static_cast<double>(next_ * j % 1000)});
    }
    current_ = std::move(snap);
    ++next_;
    return true;
  }
  const model::Labels& labels() const override { return current_->labels; }
  std::unique_ptr<SampleIterator> Samples() const override {
    return std::make_unique<SnapshotIterator>(current_, INT64_MIN, INT64_MAX);
  }
  size_t heap_peak() const { return heap_peak_; }

 private:
  int num_series_;
  int samples_;
  int next_ = 0;
  std::shared_ptr<const SeriesSnapshot> current_;
  size_t heap_peak_ = 0;
};

// Compacting a big head decoded all of its samples at once (16 bytes each). The writer takes one
// series at a time and keeps only what the block holds, so memory no longer grows with the
// samples; the block is the same as WriteBlock's.
TEST_F(BlockTest, WriterStreamsSeriesIntoTheSameBlockAsWriteBlock) {
  constexpr int kSeries = 2000, kSamples = 240;
  BlockMeta meta;
  meta.min_time = 0;
  meta.max_time = kSamples * 15000;
  fs::create_directories(dir_ / "streamed");
  fs::create_directories(dir_ / "whole");

  GeneratedSeriesSet set(kSeries, kSamples);
  const size_t before = mallinfo2().uordblks;
  BlockWriter writer((dir_ / "streamed").string(), meta);
  ASSERT_TRUE(WriteSeriesSet(set, meta.min_time, meta.max_time, 120, writer).ok());
  EXPECT_EQ(writer.num_series(), size_t{kSeries});
  EXPECT_TRUE(fs::is_empty(dir_ / "streamed")) << "nothing on disk before Finish";
  // The samples decoded whole would take 2000 x 240 x 16 bytes = 7.3 MiB.
  EXPECT_LT(set.heap_peak() - before, size_t{3} << 20);
  auto streamed = writer.Finish();
  ASSERT_TRUE(streamed.ok()) << streamed.status();

  GeneratedSeriesSet again(kSeries, kSamples);
  const size_t before_whole = mallinfo2().uordblks;
  auto series = CollectSeries(again, meta.min_time, meta.max_time, 120);
  ASSERT_TRUE(series.ok());
  EXPECT_GT(again.heap_peak() - before_whole, size_t{3} << 20) << "the bound tells them apart";
  auto whole = WriteBlock((dir_ / "whole").string(), meta, *std::move(series));
  ASSERT_TRUE(whole.ok()) << whole.status();
  for (std::string_view file : {kBlockChunksFile, kBlockIndexFile, kBlockMetaFile}) {
    EXPECT_EQ(ReadFile(fs::path(*streamed) / file), ReadFile(fs::path(*whole) / file)) << file;
  }

  // Series must come in label order, each once.
  BlockWriter misordered((dir_ / "streamed").string(), meta);
  BlockSeries b{L({{"__name__", "b"}}), {}}, a{L({{"__name__", "a"}}), {}};
  ASSERT_TRUE(misordered.Add(b).ok());
  EXPECT_EQ(misordered.Add(b).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(misordered.Add(a).code(), absl::StatusCode::kInvalidArgument);
}

// Opens the block and reads all of it; the first error, if any.
absl::Status OpenAndReadAll(const std::string& path) {
  auto block = BlockReader::Open(path);
  if (!block.ok()) return block.status();
  auto set = (*block)->Select(INT64_MIN, INT64_MAX, {});
  while (set->Next()) {
    auto it = set->Samples();
    while (it->Next() != SampleIterator::ValueType::kNone) {
    }
  }
  return set->status();
}

TEST_P(BlockFormatTest, EveryCorruptByteIsAnError) {
  Head head(HeadOptions{});
  Fill(head);
  std::string path = WriteFromHead(head, 0, 999);
  ASSERT_TRUE(OpenAndReadAll(path).ok());
  for (std::string_view file : {kBlockIndexFile, kBlockChunksFile}) {
    fs::path p = fs::path(path) / file;
    const std::string good = ReadFile(p);
    // Every byte is covered by a magic or a CRC: flipping any one must be detected.
    size_t step = good.size() > 4000 ? 7 : 1;
    for (size_t i = 0; i < good.size(); i += step) {
      std::string bad = good;
      bad[i] ^= 0x5a;
      WriteFile(p, bad);
      absl::Status st = OpenAndReadAll(path);
      EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << file << " byte " << i << ": " << st;
    }
    // Truncation anywhere is an error too.
    for (size_t n : {size_t{0}, size_t{3}, good.size() / 2, good.size() - 1}) {
      WriteFile(p, good.substr(0, n));
      EXPECT_FALSE(OpenAndReadAll(path).ok()) << file << " cut at " << n;
    }
    WriteFile(p, good);
  }
  fs::path meta = fs::path(path) / kBlockMetaFile;
  const std::string good_meta = ReadFile(meta);
  for (std::string bad : {std::string(""), std::string("{}"), std::string("{\"version\": 1}"),
                          std::string("[1,2]"), good_meta.substr(0, good_meta.size() / 2)}) {
    WriteFile(meta, bad);
    EXPECT_EQ(OpenAndReadAll(path).code(), absl::StatusCode::kDataLoss) << bad;
  }
  std::string wrong_count = good_meta;
  wrong_count.replace(wrong_count.find("\"num_series\": 4"), 15, "\"num_series\": 5");
  WriteFile(meta, wrong_count);
  EXPECT_EQ(OpenAndReadAll(path).code(), absl::StatusCode::kDataLoss);
  WriteFile(meta, good_meta);
  EXPECT_TRUE(OpenAndReadAll(path).ok());
  fs::remove(fs::path(path) / kBlockChunksFile);
  EXPECT_FALSE(OpenAndReadAll(path).ok());
}

TEST_P(BlockFormatTest, RandomGarbageNeverCrashes) {
  Head head(HeadOptions{});
  Fill(head);
  std::string path = WriteFromHead(head, 0, 999);
  for (std::string_view file : {kBlockIndexFile, kBlockChunksFile}) {
    fs::path p = fs::path(path) / file;
    const std::string good = ReadFile(p);
    std::mt19937 rng(42);
    for (int i = 0; i < 300; ++i) {
      std::string bad = good;
      size_t n = 1 + rng() % 8;
      for (size_t j = 0; j < n; ++j) bad[rng() % bad.size()] = static_cast<char>(rng());
      WriteFile(p, bad);
      (void)OpenAndReadAll(path);  // must not crash (the sanitizer builds check bounds)
    }
    WriteFile(p, good);
  }
}

TEST_F(BlockTest, MergeDeduplicatesAcrossSources) {
  Head head(HeadOptions{});
  Fill(head);
  Head expected(HeadOptions{});
  Fill(expected);
  // Two overlapping blocks plus the head: the merge equals the head alone.
  auto b1 = *BlockReader::Open(WriteFromHead(head, 0, 600));
  auto b2 = *BlockReader::Open(WriteFromHead(head, 400, 999));
  std::vector<std::unique_ptr<SeriesSet>> sets;
  sets.push_back(b1->Select(0, 999, {}));
  sets.push_back(b2->Select(0, 999, {}));
  sets.push_back(HeadSet(head, 0, 999));
  MergeSeriesSet merged(std::move(sets));
  EXPECT_EQ(Dump(merged), Dump(*HeadSet(expected, 0, 999)));

  // Disjoint blocks merge into the whole, and Seek works across sources.
  std::vector<std::unique_ptr<SeriesSet>> parts;
  parts.push_back(b1->Select(0, 999, {}));
  parts.push_back(b2->Select(601, 999, {}));
  MergeSeriesSet joined(std::move(parts));
  ASSERT_TRUE(joined.Next());
  auto it = joined.Samples();
  ASSERT_EQ(it->Seek(598), SampleIterator::ValueType::kHistogram);
  EXPECT_EQ(it->AtTime(), 602);
  ASSERT_EQ(it->Seek(990), SampleIterator::ValueType::kHistogram);
  EXPECT_EQ(it->AtTime(), 994);
  EXPECT_EQ(it->Next(), SampleIterator::ValueType::kNone);
}

TEST(BlockMetaTest, RoundTrip) {
  BlockMeta m;
  m.min_time = -5;
  m.max_time = 1700000000000;
  m.num_series = 3;
  m.num_chunks = 9;
  m.num_samples = 1000;
  m.level = 2;
  auto got = ParseBlockMeta(EncodeBlockMeta(m));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->min_time, -5);
  EXPECT_EQ(got->max_time, 1700000000000);
  EXPECT_EQ(got->num_samples, 1000u);
  EXPECT_EQ(got->level, 2);
  EXPECT_FALSE(ParseBlockMeta("{\"version\": 2, \"min_time\": 0}").ok());
}

}  // namespace
}  // namespace oriel::tsdb
