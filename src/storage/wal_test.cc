#include "storage/wal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/crc32c.h"

namespace oriel::storage {
namespace {

using ::testing::HasSubstr;

std::string SegmentPath(const std::string& dir, uint64_t index) {
  return fmt::format("{}/{:08d}", dir, index);
}

// Segment indexes present in `dir`, ascending.
std::vector<uint64_t> SegmentFiles(const std::string& dir) {
  std::vector<uint64_t> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") == std::string::npos) out.push_back(std::stoull(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

void Truncate(const std::string& path, uint64_t size) { std::filesystem::resize_file(path, size); }

void AppendBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void OverwriteBytes(const std::string& path, uint64_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::unique_ptr<Wal> MustOpen(const std::string& dir, WalOptions options = {}) {
  auto wal = Wal::Open(dir, options);
  if (!wal.ok()) {
    ADD_FAILURE() << wal.status();
    return nullptr;
  }
  return std::move(*wal);
}

absl::StatusOr<std::vector<std::string>> ReplayAll(Wal& wal, uint64_t first_segment = 0) {
  std::vector<std::string> out;
  absl::Status s = wal.Replay(first_segment, [&](std::string_view r) {
    out.emplace_back(r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status AppendOne(Wal& wal, std::string_view record) {
  return wal.Append(std::span<const std::string_view>(&record, 1));
}

absl::Status AppendUnit(Wal& wal, const std::vector<std::string>& records) {
  std::vector<std::string_view> views(records.begin(), records.end());
  return wal.Append(views);
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "wal_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::string dir_;
};

TEST_F(WalTest, RoundTripAcrossSegments) {
  const WalOptions options{.segment_bytes = 2048};
  std::mt19937 rng(42);
  std::vector<std::string> expected;
  {
    auto wal = MustOpen(dir_, options);
    ASSERT_NE(wal, nullptr);
    EXPECT_EQ(wal->CurrentSegment(), 1u);
    for (int i = 0; i < 600; ++i) {
      std::vector<std::string> unit;
      int n = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < n; ++j) {
        unit.push_back(fmt::format("{}.{}:", i, j) + std::string(rng() % 300, 'a' + j));
      }
      if (i == 300) unit = {std::string(10000, 'x') + "big"};  // larger than a segment
      if (i == 301) unit = {"", "empty before me"};
      ASSERT_TRUE(AppendUnit(*wal, unit).ok()) << i;
      expected.insert(expected.end(), unit.begin(), unit.end());
    }
    EXPECT_GT(wal->CurrentSegment(), 50u);
    EXPECT_EQ(wal->Stats().appends, 600u);
  }
  std::vector<uint64_t> files = SegmentFiles(dir_);
  ASSERT_GT(files.size(), 50u);
  int oversized = 0;
  for (uint64_t f : files) oversized += FileSize(SegmentPath(dir_, f)) > 2048;
  EXPECT_EQ(oversized, 1) << "only the segment of the big record exceeds segment_bytes";

  auto wal = MustOpen(dir_, options);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->CurrentSegment(), files.back() + 1);
  auto all = ReplayAll(*wal);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), expected.size());
  EXPECT_TRUE(*all == expected);

  auto suffix = ReplayAll(*wal, files[files.size() / 2]);
  ASSERT_TRUE(suffix.ok()) << suffix.status();
  EXPECT_GT(suffix->size(), 0u);
  EXPECT_LT(suffix->size(), expected.size());
  EXPECT_TRUE(std::equal(suffix->begin(), suffix->end(), expected.end() - suffix->size()));

  // Appends after a replay land after everything replayed.
  ASSERT_TRUE(AppendOne(*wal, "after reopen").ok());
  wal.reset();
  wal = MustOpen(dir_, options);
  ASSERT_NE(wal, nullptr);
  all = ReplayAll(*wal);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), expected.size() + 1);
  EXPECT_EQ(all->back(), "after reopen");
}

TEST_F(WalTest, EmptyAppendWritesNothing) {
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  EXPECT_TRUE(wal->Append({}).ok());
  EXPECT_EQ(wal->Stats().appends, 0u);
  EXPECT_EQ(FileSize(SegmentPath(dir_, 1)), 0u);
}

TEST_F(WalTest, ReplayStopsAtCallbackError) {
  {
    auto wal = MustOpen(dir_);
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendOne(*wal, std::to_string(i)).ok());
  }
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  int calls = 0;
  absl::Status s = wal->Replay(0, [&](std::string_view r) {
    ++calls;
    return r == "2" ? absl::InternalError("stop here") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(calls, 3);
}

TEST_F(WalTest, OpenFailureNamesThePath) {
  std::string file = root_ + "/plain_file";
  AppendBytes(file, "x");
  auto wal = Wal::Open(file);
  ASSERT_FALSE(wal.ok());
  EXPECT_THAT(std::string(wal.status().message()), HasSubstr(file));
}

TEST_F(WalTest, ConcurrentAppendsShareSyncs) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  const WalOptions options{.segment_bytes = 16 << 10};
  {
    auto wal = MustOpen(dir_, options);
    ASSERT_NE(wal, nullptr);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int n = 0; n < kPerThread; ++n) {
          std::string id = fmt::format("{} {}", t, n);
          std::string pad = fmt::format("pad {} {} ", t, n) + std::string(n % 50, 'p');
          std::vector<std::string> unit = {id};
          if (n % 3 != 0) unit.push_back(pad);
          if (!AppendUnit(*wal, unit).ok()) ++failures;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    WalStats stats = wal->Stats();
    EXPECT_EQ(stats.appends, uint64_t{kThreads * kPerThread});
    EXPECT_LT(stats.syncs, stats.appends) << "concurrent appends were not batched";
    EXPECT_GT(wal->CurrentSegment(), 2u);
  }
  auto wal = MustOpen(dir_, options);
  ASSERT_NE(wal, nullptr);
  auto all = ReplayAll(*wal);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<int> next(kThreads, 0);
  for (size_t i = 0; i < all->size(); ++i) {
    int t = -1, n = -1;
    ASSERT_EQ(std::sscanf((*all)[i].c_str(), "%d %d", &t, &n), 2) << (*all)[i];
    ASSERT_TRUE(t >= 0 && t < kThreads) << (*all)[i];
    ASSERT_EQ(n, next[t]) << "thread " << t << " out of order or duplicated";
    ++next[t];
    if (n % 3 != 0) {
      ASSERT_LT(i + 1, all->size());
      ASSERT_EQ((*all)[++i], fmt::format("pad {} {} ", t, n) + std::string(n % 50, 'p'));
    }
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kPerThread) << "thread " << t;
}

TEST_F(WalTest, CutSeparatesEarlierAppendsUnderConcurrency) {
  constexpr int kRecords = 1000;
  std::atomic<int> acked{0};
  uint64_t cut = 0;
  int acked_before_cut = 0;
  {
    auto wal = MustOpen(dir_);
    ASSERT_NE(wal, nullptr);
    std::thread appender([&] {
      for (int i = 0; i < kRecords; ++i) {
        if (!AppendOne(*wal, std::to_string(i)).ok()) return;
        acked.store(i + 1);
      }
    });
    while (acked.load() < 100) std::this_thread::yield();
    acked_before_cut = acked.load();
    auto s = wal->Cut();
    appender.join();
    ASSERT_TRUE(s.ok()) << s.status();
    cut = *s;
    EXPECT_EQ(cut, 2u);
    EXPECT_EQ(acked.load(), kRecords);
  }
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  auto after = ReplayAll(*wal, cut);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_FALSE(after->empty());
  EXPECT_GE(std::stoi(after->front()), acked_before_cut);
  EXPECT_EQ(after->back(), std::to_string(kRecords - 1));
  auto all = ReplayAll(*wal);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), size_t{kRecords});
}

TEST_F(WalTest, CutAndRemoveSegmentsBefore) {
  uint64_t b_segment = 0, c_segment = 0;
  {
    auto wal = MustOpen(dir_);
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(AppendOne(*wal, "a").ok());
    auto s = wal->Cut();
    ASSERT_TRUE(s.ok()) << s.status();
    b_segment = *s;
    EXPECT_EQ(b_segment, 2u);
    EXPECT_EQ(wal->CurrentSegment(), b_segment);
    ASSERT_TRUE(AppendOne(*wal, "b").ok());
    s = wal->Cut();
    ASSERT_TRUE(s.ok()) << s.status();
    c_segment = *s;
    EXPECT_EQ(c_segment, 3u);
    ASSERT_TRUE(AppendOne(*wal, "c").ok());
  }
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  const std::vector<std::string> abc = {"a", "b", "c"}, bc = {"b", "c"}, c = {"c"};
  EXPECT_EQ(*ReplayAll(*wal), abc);
  EXPECT_EQ(*ReplayAll(*wal, b_segment), bc);

  ASSERT_TRUE(wal->RemoveSegmentsBefore(c_segment).ok());
  EXPECT_EQ(SegmentFiles(dir_), (std::vector<uint64_t>{c_segment, wal->CurrentSegment()}));
  EXPECT_EQ(*ReplayAll(*wal), c);

  absl::Status too_far = wal->RemoveSegmentsBefore(wal->CurrentSegment() + 1);
  EXPECT_EQ(too_far.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_far.message()), HasSubstr("current segment"));

  ASSERT_TRUE(wal->RemoveSegmentsBefore(wal->CurrentSegment()).ok());
  EXPECT_EQ(SegmentFiles(dir_), std::vector<uint64_t>{wal->CurrentSegment()});
  EXPECT_TRUE(ReplayAll(*wal)->empty());
  ASSERT_TRUE(AppendOne(*wal, "d").ok());
  wal.reset();
  wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(*ReplayAll(*wal), std::vector<std::string>{"d"});
}

// Ten units of one 5-byte record: each frame is 12 + 1 + 1 + 5 = 19 bytes.
constexpr uint64_t kSmallFrame = 19;
std::vector<std::string> WriteTenRecords(const std::string& dir) {
  std::vector<std::string> written;
  auto wal = MustOpen(dir);
  if (wal == nullptr) return written;
  for (int i = 0; i < 10; ++i) {
    std::string r = fmt::format("rec-{}", i);
    if (!AppendOne(*wal, r).ok()) break;
    written.push_back(r);
  }
  return written;
}

TEST_F(WalTest, TornTailIsCutOffAndAppendsContinue) {
  // Cuts inside the payload, right after the header, and inside the header of the last frame.
  for (uint64_t removed : {uint64_t{1}, uint64_t{6}, uint64_t{7}, uint64_t{12}, uint64_t{18}}) {
    SCOPED_TRACE(fmt::format("removed {} bytes", removed));
    std::string dir = fmt::format("{}/torn{}", root_, removed);
    std::vector<std::string> written = WriteTenRecords(dir);
    ASSERT_EQ(written.size(), 10u);
    const std::string path = SegmentPath(dir, 1);
    ASSERT_EQ(FileSize(path), 10 * kSmallFrame);
    Truncate(path, 10 * kSmallFrame - removed);

    auto wal = MustOpen(dir);
    ASSERT_NE(wal, nullptr);
    auto replayed = ReplayAll(*wal);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    written.pop_back();
    EXPECT_EQ(*replayed, written);
    EXPECT_EQ(FileSize(path), 9 * kSmallFrame) << "the torn frame is truncated away";

    ASSERT_TRUE(AppendOne(*wal, "after").ok());
    wal.reset();
    written.push_back("after");
    // Segment 1 is now a middle segment: it must replay cleanly.
    wal = MustOpen(dir);
    ASSERT_NE(wal, nullptr);
    replayed = ReplayAll(*wal);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(*replayed, written);
  }
}

TEST_F(WalTest, GarbageAfterTheLastFrameIsCutOff) {
  // A header whose length fits and whose write number is the next one, then more garbage.
  std::string plausible(12, '\0');
  plausible[0] = 4;
  plausible[8] = 11;
  plausible[11] = '\x80';
  plausible += "abcd" + std::string(100, 'z');
  const std::vector<std::string> garbage = {std::string(37, '\xab'), std::string(64, '\0'),
                                            std::string(3, '\x01'), plausible};
  for (size_t g = 0; g < garbage.size(); ++g) {
    SCOPED_TRACE(fmt::format("garbage {}", g));
    std::string dir = fmt::format("{}/garbage{}", root_, g);
    std::vector<std::string> written = WriteTenRecords(dir);
    ASSERT_EQ(written.size(), 10u);
    const std::string path = SegmentPath(dir, 1);
    AppendBytes(path, garbage[g]);

    auto wal = MustOpen(dir);
    ASSERT_NE(wal, nullptr);
    auto replayed = ReplayAll(*wal);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(*replayed, written);
    EXPECT_EQ(FileSize(path), 10 * kSmallFrame);
    ASSERT_TRUE(AppendOne(*wal, "after").ok());
    wal.reset();
    written.push_back("after");
    wal = MustOpen(dir);
    ASSERT_NE(wal, nullptr);
    replayed = ReplayAll(*wal);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(*replayed, written);
  }
}

TEST_F(WalTest, TornTailBeforeEmptySegmentsIsStillTheTail) {
  std::vector<std::string> written = WriteTenRecords(dir_);
  ASSERT_EQ(written.size(), 10u);
  Truncate(SegmentPath(dir_, 1), 10 * kSmallFrame - 3);
  // Processes that opened the log and died before replaying or appending leave empty segments.
  MustOpen(dir_).reset();
  MustOpen(dir_).reset();
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  EXPECT_EQ(wal->CurrentSegment(), 4u);
  auto replayed = ReplayAll(*wal);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  written.pop_back();
  EXPECT_EQ(*replayed, written);
}

TEST_F(WalTest, UnitIsAllOrNoneAfterTornTail) {
  const std::vector<std::string> a = {"a1", "a2", "a3"};
  const std::vector<std::string> b = {"b1", "b2", "b3", "b4", "b5"};
  const uint64_t a_frame = 12 + 1 + 3 * 3;  // header, count, 3 x (size + 2 bytes)
  const uint64_t b_frame = 12 + 1 + 5 * 3;
  // Every cut point inside unit b, and every single flipped byte of it.
  for (uint64_t keep = 0; keep < b_frame; ++keep) {
    for (bool flip : {false, true}) {
      SCOPED_TRACE(fmt::format("keep {} bytes of b, flip {}", keep, flip));
      std::string dir = fmt::format("{}/unit{}{}", root_, keep, flip ? "f" : "");
      {
        auto wal = MustOpen(dir);
        ASSERT_NE(wal, nullptr);
        ASSERT_TRUE(AppendUnit(*wal, a).ok());
        ASSERT_TRUE(AppendUnit(*wal, b).ok());
      }
      const std::string path = SegmentPath(dir, 1);
      ASSERT_EQ(FileSize(path), a_frame + b_frame);
      if (flip) {
        std::string byte(1, '\0');
        std::ifstream(path, std::ios::binary).seekg(a_frame + keep).read(byte.data(), 1);
        byte[0] ^= 0x20;
        OverwriteBytes(path, a_frame + keep, byte);
      } else {
        Truncate(path, a_frame + keep);
      }
      auto wal = MustOpen(dir);
      ASSERT_NE(wal, nullptr);
      auto replayed = ReplayAll(*wal);
      ASSERT_TRUE(replayed.ok()) << replayed.status();
      EXPECT_EQ(*replayed, a);
      EXPECT_EQ(FileSize(path), a_frame);
    }
  }
}

std::string Fixed32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// A frame as wal.cc documents the format, to build segments that the writer makes only under
// particular timing (several frames in one write).
std::string EncodeFrame(const std::vector<std::string>& records, uint32_t write, bool ends_write) {
  std::string payload;
  auto put_varint = [&](uint64_t v) {
    for (; v >= 0x80; v >>= 7) payload.push_back(static_cast<char>(v | 0x80));
    payload.push_back(static_cast<char>(v));
  };
  put_varint(records.size());
  for (const std::string& r : records) {
    put_varint(r.size());
    payload += r;
  }
  const std::string word = Fixed32(write | (ends_write ? 1u << 31 : 0));
  const uint32_t crc = Crc32cExtend(Crc32c(payload), word.data(), word.size());
  return Fixed32(static_cast<uint32_t>(payload.size())) + Fixed32(crc) + word + payload;
}

class WalFramesTest : public WalTest {
 protected:
  // Writes segment 1 from `frames`, with the byte at `flip` (if any) of the concatenation
  // changed, and replays it in a fresh process view.
  absl::StatusOr<std::vector<std::string>> ReplayFrames(const std::vector<std::string>& frames,
                                                        std::optional<uint64_t> flip) {
    std::filesystem::create_directories(dir_);
    std::string bytes;
    for (const std::string& f : frames) bytes += f;
    if (flip) bytes[*flip] ^= 0x01;
    AppendBytes(SegmentPath(dir_, 1), bytes);
    auto wal = MustOpen(dir_);
    if (wal == nullptr) return absl::InternalError("open failed");
    return ReplayAll(*wal);
  }
};

TEST_F(WalFramesTest, DocumentedFormatReplays) {
  auto got = ReplayFrames({EncodeFrame({"a"}, 1, true), EncodeFrame({"b1", "b2"}, 2, false),
                           EncodeFrame({"c"}, 2, true), EncodeFrame({"", "d"}, 3, true)},
                          std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "b1", "b2", "c", "", "d"}));
}

TEST_F(WalFramesTest, RecordPartsAreWrittenAsTheirConcatenation) {
  // Large parts are written from the caller's memory, small ones copied: the frame on disk is
  // the documented one of the concatenated records either way, in one write.
  const std::string big(5000, 'b');
  const std::string huge(70000, 'h');
  const std::vector<std::vector<std::string_view>> records = {
      {"R", big}, {}, {"", "tag", huge, "tail"}, {big, big}, {"small"}};
  std::vector<Wal::RecordParts> parts(records.begin(), records.end());
  std::vector<std::string> joined;
  for (const auto& r : records) {
    std::string& out = joined.emplace_back();
    for (std::string_view p : r) out += p;
  }
  {
    auto wal = MustOpen(dir_);
    ASSERT_NE(wal, nullptr);
    ASSERT_TRUE(wal->AppendParts(parts).ok());
  }
  std::ifstream in(SegmentPath(dir_, 1), std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(on_disk == EncodeFrame(joined, 1, true));
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  auto replayed = ReplayAll(*wal);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(*replayed == joined);
}

TEST_F(WalFramesTest, BadFrameInTheLastWriteIsATornTail) {
  // Write 3 has three frames; its first is damaged while the later ones reached the disk, as a
  // power loss can leave it. None of write 3 was acknowledged.
  const std::vector<std::string> frames = {
      EncodeFrame({"a"}, 1, true), EncodeFrame({"b"}, 2, true), EncodeFrame({"c"}, 3, false),
      EncodeFrame({"d"}, 3, false), EncodeFrame({"e"}, 3, true)};
  const uint64_t kept = frames[0].size() + frames[1].size();
  auto got = ReplayFrames(frames, kept + 14);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(FileSize(SegmentPath(dir_, 1)), kept);
}

TEST_F(WalFramesTest, BadEndOfWriteWithNothingAfterIsATornTail) {
  const std::vector<std::string> frames = {
      EncodeFrame({"a"}, 1, true), EncodeFrame({"b"}, 2, false), EncodeFrame({"c"}, 2, true)};
  auto got = ReplayFrames(frames, frames[0].size() + frames[1].size() + 5);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{"a", "b"}));
}

TEST_F(WalFramesTest, BadFrameFollowedByALaterWriteIsAnError) {
  const std::vector<std::string> frames = {
      EncodeFrame({"a"}, 1, true), EncodeFrame({"b"}, 2, false), EncodeFrame({"c"}, 2, true),
      EncodeFrame({"d"}, 3, true)};
  const uint64_t write3 = frames[0].size() + frames[1].size() + frames[2].size();
  // The damaged frame is the first of write 2, then the last of write 2 (whose end bit is lost).
  for (uint64_t bad : {frames[0].size(), frames[0].size() + frames[1].size()}) {
    SCOPED_TRACE(fmt::format("bad frame at {}", bad));
    std::filesystem::remove_all(dir_);
    auto got = ReplayFrames(frames, bad + 4);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
    const std::string message(got.status().message());
    EXPECT_THAT(message, HasSubstr(fmt::format(
                             "cannot replay WAL segment {} at offset {}: checksum mismatch",
                             SegmentPath(dir_, 1), bad)));
    EXPECT_THAT(message, HasSubstr(fmt::format(
                             "(an intact frame of a later write follows at offset {})", write3)));
    EXPECT_EQ(FileSize(SegmentPath(dir_, 1)), write3 + frames[3].size());
  }
}

class WalCorruptionTest : public WalTest {
 protected:
  // Forty units of one 100-byte record: frames of 114 bytes, eight per 1000-byte segment.
  static constexpr uint64_t kFrame = 114;
  void SetUp() override {
    WalTest::SetUp();
    auto wal = MustOpen(dir_, options_);
    ASSERT_NE(wal, nullptr);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(AppendOne(*wal, fmt::format("{:03d}", i) + std::string(97, '.')).ok());
    }
    wal.reset();
    ASSERT_EQ(SegmentFiles(dir_), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    ASSERT_EQ(FileSize(SegmentPath(dir_, 2)), 8 * kFrame);
  }

  // Replays everything, returning the error and counting the records delivered before it.
  absl::Status Replay(int* delivered) {
    auto wal = MustOpen(dir_, options_);
    if (wal == nullptr) return absl::InternalError("open failed");
    *delivered = 0;
    return wal->Replay(0, [&](std::string_view) {
      ++*delivered;
      return absl::OkStatus();
    });
  }

  const WalOptions options_{.segment_bytes = 1000};
};

TEST_F(WalCorruptionTest, ChecksumMismatchInMiddleSegment) {
  OverwriteBytes(SegmentPath(dir_, 2), 2 * kFrame + 50, "#");
  int delivered = 0;
  absl::Status s = Replay(&delivered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(fmt::format("cannot replay WAL segment {} at offset {}: checksum mismatch",
                                    SegmentPath(dir_, 2), 2 * kFrame)));
  EXPECT_EQ(delivered, 8 + 2);
  EXPECT_EQ(FileSize(SegmentPath(dir_, 2)), 8 * kFrame) << "a middle segment is never truncated";
}

TEST_F(WalCorruptionTest, BadLengthInMiddleSegment) {
  std::string length = {'\x88', '\x13', '\0', '\0'};  // 5000
  OverwriteBytes(SegmentPath(dir_, 3), 3 * kFrame, length);
  int delivered = 0;
  absl::Status s = Replay(&delivered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            fmt::format("cannot replay WAL segment {} at offset {}: frame length 5000 exceeds the "
                        "{} bytes left in the segment",
                        SegmentPath(dir_, 3), 3 * kFrame, 5 * kFrame - 12));
  EXPECT_EQ(delivered, 16 + 3);
}

TEST_F(WalCorruptionTest, TruncatedMiddleSegment) {
  Truncate(SegmentPath(dir_, 2), 8 * kFrame - 5);
  int delivered = 0;
  absl::Status s = Replay(&delivered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(fmt::format("cannot replay WAL segment {} at offset {}: frame length",
                                    SegmentPath(dir_, 2), 7 * kFrame)));
}

TEST_F(WalCorruptionTest, CorruptionInsideTheLastSegmentIsAnError) {
  // Frame 2 of the last segment is bad, but frames of later writes follow it: it was synced.
  OverwriteBytes(SegmentPath(dir_, 5), 2 * kFrame + 40, "#");
  int delivered = 0;
  absl::Status s = Replay(&delivered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(fmt::format("cannot replay WAL segment {} at offset {}: checksum mismatch",
                                    SegmentPath(dir_, 5), 2 * kFrame)));
  EXPECT_THAT(
      std::string(s.message()),
      HasSubstr(fmt::format("an intact frame of a later write follows at offset {}", 3 * kFrame)));
  EXPECT_EQ(delivered, 32 + 2);
  EXPECT_EQ(FileSize(SegmentPath(dir_, 5)), 8 * kFrame) << "nothing truncated";
}

TEST_F(WalCorruptionTest, MissingMiddleSegment) {
  std::filesystem::remove(SegmentPath(dir_, 3));
  int delivered = 0;
  absl::Status s = Replay(&delivered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("segments 00000003 to 00000003 are missing"));
}

// Reads 8-byte ids from `fd` until EOF or `deadline`, into `ids`.
void ReadIds(int fd, std::chrono::steady_clock::time_point deadline, std::string& buffer,
             std::vector<uint64_t>& ids, bool until_eof) {
  char chunk[4096];
  while (true) {
    if (!until_eof) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    }
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t whole = buffer.size() / 8 * 8;
    for (size_t i = 0; i < whole; i += 8) {
      uint64_t id;
      std::memcpy(&id, buffer.data() + i, 8);
      ids.push_back(id);
    }
    buffer.erase(0, whole);
  }
}

constexpr int kCrashThreads = 4;

uint64_t CrashId(uint64_t round, uint64_t thread, uint64_t n) {
  return (round << 40) | (thread << 32) | n;
}

// The child of the crash test: replays, then appends from several threads until killed,
// writing each acknowledged id to `ack_fd`. Exits non-zero on any failure.
[[noreturn]] void CrashChild(const std::string& dir, uint64_t round, int ack_fd) {
  auto wal = Wal::Open(dir, WalOptions{.segment_bytes = 256 << 10});
  if (!wal.ok()) ::_exit(2);
  if (!(*wal)->Replay(0, [](std::string_view) { return absl::OkStatus(); }).ok()) ::_exit(3);
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < kCrashThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t n = 0;; ++n) {
        const uint64_t id = CrashId(round, t, n);
        std::string first(8 + n % 300, 'x');
        std::memcpy(first.data(), &id, 8);
        std::string_view unit[] = {first, "second"};
        if (!(*wal)->Append(unit).ok()) ::_exit(4);
        if (::write(ack_fd, &id, 8) != 8) ::_exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST_F(WalTest, KillNineLosesNoAcknowledgedAppend) {
  constexpr int kRounds = 3;
  // acked[round][thread]: how many appends the child acknowledged.
  std::vector<std::vector<uint64_t>> acked(kRounds, std::vector<uint64_t>(kCrashThreads, 0));
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> replayed_before;
  for (uint64_t round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CrashChild(dir_, round, fds[1]);
    }
    ::close(fds[1]);
    std::string buffer;
    std::vector<uint64_t> ids;
    ReadIds(fds[0], std::chrono::steady_clock::now() + std::chrono::milliseconds(300), buffer, ids,
            false);
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child failed with exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ReadIds(fds[0], {}, buffer, ids, true);
    ::close(fds[0]);
    for (uint64_t id : ids) {
      uint64_t t = (id >> 32) & 0xff;
      ASSERT_EQ(id >> 40, round);
      ASSERT_LT(t, uint64_t{kCrashThreads});
      ASSERT_EQ(id & 0xffffffff, acked[round][t]) << "acks of one thread arrive in order";
      ++acked[round][t];
    }
    EXPECT_GT(ids.size(), 0u) << "the child acknowledged nothing in 300 ms";

    auto wal = MustOpen(dir_);
    ASSERT_NE(wal, nullptr);
    auto all = ReplayAll(*wal);
    ASSERT_TRUE(all.ok()) << all.status();
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> replayed;
    for (size_t i = 0; i < all->size(); i += 2) {
      ASSERT_GE((*all)[i].size(), 8u);
      uint64_t id;
      std::memcpy(&id, (*all)[i].data(), 8);
      auto key = std::make_pair(id >> 40, (id >> 32) & 0xff);
      ASSERT_LE(key.first, round);
      ASSERT_EQ(id & 0xffffffff, replayed[key]) << "each thread's records in order, once";
      ++replayed[key];
      ASSERT_LT(i + 1, all->size()) << "a unit lost its second record";
      ASSERT_EQ((*all)[i + 1], "second");
    }
    for (uint64_t r = 0; r <= round; ++r) {
      for (uint64_t t = 0; t < kCrashThreads; ++t) {
        auto key = std::make_pair(r, t);
        // Every acknowledged append is there; at most the one in flight when killed is extra.
        EXPECT_GE(replayed[key], acked[r][t]) << "round " << r << " thread " << t;
        EXPECT_LE(replayed[key], acked[r][t] + 1) << "round " << r << " thread " << t;
        if (r < round) {
          EXPECT_EQ(replayed[key], replayed_before[key]) << "earlier rounds changed";
        }
      }
    }
    replayed_before = replayed;
  }
}

TEST_F(WalTest, WriteErrorFailsAppendAndPoisonsTheLog) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A file size limit makes the kernel fail the write with EFBIG, as a full disk would.
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{64 << 10, 64 << 10};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(2);
    auto wal = Wal::Open(dir_, WalOptions{.segment_bytes = 1 << 30});
    if (!wal.ok()) ::_exit(3);
    std::string record(1000, 'r');
    int ok = 0;
    absl::Status first;
    for (; ok < 1000; ++ok) {
      first = AppendOne(**wal, record);
      if (!first.ok()) break;
    }
    absl::Status second = AppendOne(**wal, "small");
    absl::Status cut = (*wal)->Cut().status();
    std::string report = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n", ok, static_cast<int>(first.code()),
                                     first.message(), static_cast<int>(second.code()),
                                     second.message(), static_cast<int>(cut.code()));
    if (::write(fds[1], report.data(), report.size()) != static_cast<ssize_t>(report.size())) {
      ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(fds[0], chunk, sizeof(chunk))) > 0) report.append(chunk, n);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = report.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(report.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 6u) << report;
  const int acked = std::stoi(lines[0]);
  EXPECT_GT(acked, 10);
  EXPECT_LT(acked, 1000);
  EXPECT_NE(lines[1], "0");
  EXPECT_THAT(lines[2], HasSubstr(SegmentPath(dir_, 1)));
  EXPECT_THAT(lines[2], HasSubstr(std::strerror(EFBIG)));
  EXPECT_EQ(lines[3], std::to_string(static_cast<int>(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(lines[4], HasSubstr(std::strerror(EFBIG)));
  EXPECT_EQ(lines[5], std::to_string(static_cast<int>(absl::StatusCode::kUnavailable)));

  // The partial frame the failed write left is a torn tail: everything acknowledged replays.
  auto wal = MustOpen(dir_);
  ASSERT_NE(wal, nullptr);
  auto all = ReplayAll(*wal);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), static_cast<size_t>(acked));
}

}  // namespace
}  // namespace oriel::storage
