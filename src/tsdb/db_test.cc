#include "tsdb/db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/metrics.h"
#include "base/status.h"
#include "fmt/format.h"
#include "tsdb/wal_records.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {
namespace {

// An in-memory storage::Wal whose records outlive it (shared with the next "process"), with
// failure injection.
class FakeWal : public storage::Wal {
 public:
  struct Disk {
    std::mutex mu;
    std::vector<std::string> records;
    bool fail = false;
    int appends = 0;
  };
  explicit FakeWal(std::shared_ptr<Disk> disk) : disk_(std::move(disk)) {}

  absl::Status AppendParts(std::span<const RecordParts> records) override {
    std::lock_guard lock(disk_->mu);
    if (disk_->fail) return absl::InternalError("disk on fire");
    for (RecordParts parts : records) {
      std::string& r = disk_->records.emplace_back();
      for (std::string_view part : parts) r += part;
    }
    ++disk_->appends;
    return absl::OkStatus();
  }
  absl::Status Replay(uint64_t first_segment,
                      const std::function<absl::Status(std::string_view)>& fn) override {
    std::vector<std::string> copy;
    {
      std::lock_guard lock(disk_->mu);
      copy = disk_->records;
    }
    for (const std::string& r : copy) {
      if (absl::Status st = fn(r); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Cut() override { return 1; }
  absl::Status RemoveSegmentsBefore(uint64_t) override { return absl::OkStatus(); }
  uint64_t CurrentSegment() const override { return 0; }
  storage::WalStats Stats() const override { return {}; }

 private:
  std::shared_ptr<Disk> disk_;
};

model::Labels L(std::vector<model::Label> l) { return model::Labels::FromUnsorted(std::move(l)); }

model::Matcher M(model::MatchType type, std::string name, std::string value) {
  auto m = model::Matcher::Create(type, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok());
  return *m;
}

model::Matcher Eq(std::string name, std::string value) {
  return M(model::MatchType::kEqual, std::move(name), std::move(value));
}

model::SeriesData Floats(model::Labels labels, std::vector<model::Sample> samples) {
  model::SeriesData sd;
  sd.labels = std::move(labels);
  sd.samples = std::move(samples);
  return sd;
}

model::MetricBatch Batch(std::vector<model::SeriesData> series) {
  model::MetricBatch b;
  b.series = std::move(series);
  return b;
}

class DbTest : public ::testing::Test {
 protected:
  std::unique_ptr<DB> OpenDb(DbOptions options = {}) {
    options.registry = &registry_storage_.emplace_back();
    auto db = DB::Open(std::make_unique<FakeWal>(disk_), options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Everything a reader can see, as text, to compare two DBs.
  static std::string Dump(DB& db) {
    std::string out;
    std::vector<model::Matcher> all = {M(model::MatchType::kRegexMatch, "__name__", ".+")};
    auto set = db.Select(INT64_MIN, INT64_MAX, all, nullptr);
    while (set->Next()) {
      out += set->labels().ToString() + ":";
      auto it = set->Samples();
      for (auto t = it->Next(); t != SampleIterator::ValueType::kNone; t = it->Next()) {
        if (t == SampleIterator::ValueType::kFloat) {
          out += fmt::format(" {}={:x}", it->AtTime(), std::bit_cast<uint64_t>(it->AtFloat()));
        } else {
          out += fmt::format(" {}=h{}/{}", it->AtTime(), it->AtHistogram().count,
                             it->AtHistogram().sum);
        }
      }
      out += "\n";
    }
    for (const auto& m : db.Metadata("", 0)) {
      out += fmt::format("meta {} {} {} {}\n", m.metric_family, static_cast<int>(m.type), m.help,
                         m.unit);
    }
    for (const auto& es : db.Exemplars(INT64_MIN, INT64_MAX, all)) {
      for (const auto& e : es.exemplars) {
        out += fmt::format("ex {} {} {} {}\n", es.series_labels.ToString(), e.labels.ToString(),
                           e.value, e.timestamp_ms);
      }
    }
    auto names = db.LabelNames(INT64_MIN, INT64_MAX, {});
    for (const auto& n : *names) out += "name " + n + "\n";
    return out;
  }

  std::shared_ptr<FakeWal::Disk> disk_ = std::make_shared<FakeWal::Disk>();
  std::deque<metrics::Registry> registry_storage_;
};

std::vector<std::pair<int64_t, double>> Samples(SeriesSet& set) {
  std::vector<std::pair<int64_t, double>> out;
  auto it = set.Samples();
  while (it->Next() == SampleIterator::ValueType::kFloat)
    out.emplace_back(it->AtTime(), it->AtFloat());
  return out;
}

TEST_F(DbTest, SelectsByMatchersAndTimeRangeInLabelOrder) {
  auto db = OpenDb();
  auto r = db->Write(Batch({
      Floats(L({{"__name__", "up"}, {"job", "b"}}), {{1000, 1}, {2000, 2}, {3000, 3}}),
      Floats(L({{"__name__", "up"}, {"job", "a"}}), {{1000, 10}, {5000, 50}}),
      Floats(L({{"__name__", "down"}, {"job", "a"}}), {{1000, 7}}),
  }));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples_written, 6);
  EXPECT_EQ(r->samples_rejected, 0);

  std::vector<model::Matcher> up = {Eq("__name__", "up")};
  auto set = db->Select(0, 10000, up, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(set->labels().ToString(), "up{job=\"a\"}");
  EXPECT_EQ(Samples(*set), (std::vector<std::pair<int64_t, double>>{{1000, 10}, {5000, 50}}));
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(set->labels().ToString(), "up{job=\"b\"}");
  EXPECT_FALSE(set->Next());

  // Inclusive bounds; job="a" has nothing in [1500, 4000].
  set = db->Select(2000, 3000, up, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(set->labels().Get("job"), "b");
  EXPECT_EQ(Samples(*set), (std::vector<std::pair<int64_t, double>>{{2000, 2}, {3000, 3}}));
  EXPECT_FALSE(set->Next());

  // A range that holds only a chunk's first or last sample selects the series; one strictly
  // inside a chunk's span with no sample in it does not.
  set = db->Select(5000, 9000, up, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(Samples(*set), (std::vector<std::pair<int64_t, double>>{{5000, 50}}));
  EXPECT_FALSE(set->Next());
  set = db->Select(0, 1000, up, nullptr);
  ASSERT_TRUE(set->Next());
  ASSERT_TRUE(set->Next());
  EXPECT_FALSE(set->Next());
  set = db->Select(3500, 4999, up, nullptr);
  EXPECT_FALSE(set->Next());

  std::vector<model::Matcher> job_a = {Eq("job", "a"),
                                       M(model::MatchType::kNotEqual, "__name__", "up")};
  set = db->Select(0, 10000, job_a, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(set->labels().MetricName(), "down");
  EXPECT_FALSE(set->Next());
}

TEST_F(DbTest, ReportsRejectedSamplesAndStoresTheRest) {
  auto db = OpenDb();
  auto r = db->Write(Batch({Floats(L({{"__name__", "up"}, {"job", "a"}}),
                                   {{1000, 1}, {2000, 2}, {1500, 9}, {2000, 2}, {2000, 3}})}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples_written, 3);  // two new, one duplicate
  EXPECT_EQ(r->samples_rejected, 2);
  EXPECT_EQ(r->first_rejection, "out of order sample for series up{job=\"a\"} at 1500");
  r = db->Write(Batch({Floats(L({{"__name__", "up"}, {"job", "a"}}), {{2000, 5}})}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_rejection, "duplicate sample for timestamp for series up{job=\"a\"} at 2000");
  r = db->Write(Batch({Floats(L({{"__name__", "other"}}), {{10 * 3600 * 1000, 1}, {1000, 1}})}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first_rejection, "too old sample for series other at 1000");
  std::string metrics = registry_storage_.back().Expose();
  EXPECT_NE(metrics.find("oriel_tsdb_out_of_order_samples_total{type=\"float\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("oriel_tsdb_samples_appended_total{type=\"float\"} 3"), std::string::npos);
  EXPECT_NE(metrics.find("oriel_tsdb_head_series 2"), std::string::npos);
  EXPECT_NE(metrics.find("oriel_tsdb_rejected_samples_total{type=\"float\",reason=\"too_old\"} 1"),
            std::string::npos);
}

TEST_F(DbTest, ASeriesNamedTwiceInOneBatchSharesItsAppendChecks) {
  auto db = OpenDb();
  model::Labels a = L({{"__name__", "up"}, {"job", "a"}});
  // The second entry's samples are checked against the first's: 2000 again with another value
  // is a duplicate-timestamp rejection, 1500 is out of order, 3000 is new.
  auto r = db->Write(Batch({Floats(a, {{1000, 1}, {2000, 2}}),
                            Floats(L({{"__name__", "up"}, {"job", "b"}}), {{1000, 5}}),
                            Floats(a, {{2000, 9}, {1500, 1}, {3000, 3}})}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples_written, 4);
  EXPECT_EQ(r->samples_rejected, 2);
  EXPECT_EQ(r->first_rejection, "duplicate sample for timestamp for series up{job=\"a\"} at 2000");
  std::vector<model::Matcher> job_a = {Eq("job", "a")};
  auto set = db->Select(0, 10000, job_a, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(Samples(*set),
            (std::vector<std::pair<int64_t, double>>{{1000, 1}, {2000, 2}, {3000, 3}}));
  EXPECT_FALSE(set->Next());
}

TEST_F(DbTest, InvalidSeriesRejectTheWholeBatch) {
  DbOptions options;
  options.max_labels_per_series = 3;
  options.max_label_name_length = 10;
  options.max_label_value_length = 20;
  auto db = OpenDb(options);
  model::SeriesData good = Floats(L({{"__name__", "ok"}}), {{1000, 1}});
  struct Case {
    model::Labels labels;
    std::string want;
  } cases[] = {
      {L({{"job", "a"}}), "the metric name (__name__) is missing or empty"},
      {L({{"__name__", "x"}, {"a", "1"}, {"b", "1"}, {"c", "1"}}),
       "4 labels, more than the limit of 3"},
      {L({{"__name__", "x"}, {"abcdefghijk", "1"}}), "label name \"abcdefghijk\" is 11 bytes long"},
      {L({{"__name__", "x"}, {"a", std::string(21, 'v')}}), "the value of label \"a\" is 21 bytes"},
      {model::Labels::FromSorted({{"b", "1"}, {"__name__", "x"}}), "labels must be sorted"},
  };
  for (const Case& c : cases) {
    auto r = db->Write(Batch({good, Floats(c.labels, {{1000, 1}})}));
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), absl::string_view::npos) << r.status();
  }
  model::SeriesData bad_hist;
  bad_hist.labels = L({{"__name__", "h"}});
  bad_hist.histograms.emplace_back();
  bad_hist.histograms[0].positive_spans = {{0, 2}};
  bad_hist.histograms[0].positive_buckets = {1};
  auto r = db->Write(Batch({good, bad_hist}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("positive spans cover 2 buckets"), absl::string_view::npos);
  EXPECT_TRUE(disk_->records.empty()) << "nothing logged";
  EXPECT_EQ(db->head().NumSeries(), 0u) << "nothing created";
}

TEST_F(DbTest, ActiveSeriesLimitIsResourceExhausted) {
  DbOptions options;
  options.max_active_series = 2;
  auto db = OpenDb(options);
  ASSERT_TRUE(db->Write(Batch({Floats(L({{"__name__", "a"}}), {{1, 1}}),
                               Floats(L({{"__name__", "b"}}), {{1, 1}})}))
                  .ok());
  auto r = db->Write(
      Batch({Floats(L({{"__name__", "a"}}), {{2, 1}}), Floats(L({{"__name__", "c"}}), {{2, 1}})}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  std::vector<model::Matcher> a = {Eq("__name__", "a")};
  auto set = db->Select(0, 10, a, nullptr);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(Samples(*set).size(), 1u) << "the refused batch stored nothing";
  EXPECT_TRUE(db->Write(Batch({Floats(L({{"__name__", "a"}}), {{3, 1}})})).ok());
}

TEST_F(DbTest, WalFailureIsUnavailableAndNothingBecomesVisible) {
  auto db = OpenDb();
  disk_->fail = true;
  auto r = db->Write(Batch({Floats(L({{"__name__", "a"}}), {{1000, 1}})}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  std::vector<model::Matcher> a = {Eq("__name__", "a")};
  EXPECT_FALSE(db->Select(INT64_MIN, INT64_MAX, a, nullptr)->Next());
  disk_->fail = false;
  // The retry succeeds and the series record is logged now (it was not before).
  ASSERT_TRUE(db->Write(Batch({Floats(L({{"__name__", "a"}}), {{1000, 1}})})).ok());
  auto reopened = OpenDb();
  EXPECT_EQ(Dump(*reopened), Dump(*db));
  EXPECT_TRUE(reopened->Select(INT64_MIN, INT64_MAX, a, nullptr)->Next());
}

TEST_F(DbTest, LabelNamesAndValuesHonourMatchersAndRange) {
  auto db = OpenDb();
  ASSERT_TRUE(
      db->Write(Batch({
                    Floats(L({{"__name__", "up"}, {"job", "a"}, {"zone", "z1"}}), {{1000, 1}}),
                    Floats(L({{"__name__", "up"}, {"job", "b"}}), {{5000, 1}}),
                    Floats(L({{"__name__", "cpu"}, {"mode", "idle"}}), {{5000, 1}}),
                }))
          .ok());
  EXPECT_EQ(*db->LabelNames(INT64_MIN, INT64_MAX, {}),
            (std::vector<std::string>{"__name__", "job", "mode", "zone"}));
  EXPECT_EQ(*db->LabelNames(4000, 6000, {}), (std::vector<std::string>{"__name__", "job", "mode"}));
  std::vector<model::Matcher> up = {Eq("__name__", "up")};
  EXPECT_EQ(*db->LabelNames(INT64_MIN, INT64_MAX, up),
            (std::vector<std::string>{"__name__", "job", "zone"}));
  EXPECT_EQ(*db->LabelValues("__name__", INT64_MIN, INT64_MAX, {}),
            (std::vector<std::string>{"cpu", "up"}));
  EXPECT_EQ(*db->LabelValues("job", 0, 2000, {}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(*db->LabelValues("job", INT64_MIN, INT64_MAX, up),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(db->LabelValues("nope", INT64_MIN, INT64_MAX, {})->empty());
}

TEST_F(DbTest, MetadataAndExemplars) {
  auto db = OpenDb();
  model::MetricBatch b;
  b.metadata = {{"req_total", model::MetricType::kCounter, "Requests.", ""}};
  model::SeriesData sd = Floats(L({{"__name__", "req_total"}}), {{1000, 1}, {2000, 2}});
  sd.exemplars = {{L({{"trace_id", "abc"}}), 1, 1000}, {L({{"trace_id", "def"}}), 2, 2000}};
  b.series.push_back(sd);
  auto r = db->Write(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exemplars_written, 2);

  model::MetricBatch b2;
  b2.metadata = {{"req_total", model::MetricType::kCounter, "All requests.", ""}};
  model::SeriesData sd2 = Floats(L({{"__name__", "req_total"}}), {});
  sd2.exemplars = {{L({{"trace_id", "def"}}), 2, 2000},                   // duplicate: fine
                   {L({{"trace_id", "old"}}), 5, 1500},                   // out of order
                   {L({{"trace_id", std::string(200, 'x')}}), 5, 3000}};  // too long
  b2.series.push_back(sd2);
  r = db->Write(b2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exemplars_written, 1);
  EXPECT_EQ(r->exemplars_rejected, 2);
  EXPECT_EQ(r->first_rejection, "out of order exemplar for series req_total at 1500");

  auto meta = db->Metadata("req_total", 0);
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].help, "All requests.");
  std::vector<model::Matcher> m = {Eq("__name__", "req_total")};
  auto ex = db->Exemplars(1500, 5000, m);
  ASSERT_EQ(ex.size(), 1u);
  ASSERT_EQ(ex[0].exemplars.size(), 1u);
  EXPECT_EQ(ex[0].exemplars[0].labels.Get("trace_id"), "def");
}

TEST_F(DbTest, ReplayRebuildsIdenticalAnswers) {
  DbOptions options;
  options.head.out_of_order_time_window_ms = 3600 * 1000;
  options.head.samples_per_chunk = 7;
  auto db = OpenDb(options);
  for (int round = 0; round < 20; ++round) {
    model::MetricBatch b;
    for (int s = 0; s < 5; ++s) {
      model::SeriesData sd = Floats(L({{"__name__", "m"}, {"s", std::to_string(s)}}), {});
      int64_t t = 100000 + round * 1000;
      sd.samples.push_back({t, round * 1.5 + s});
      if (round % 3 == 2) sd.samples.push_back({t - 1500, -1});  // out of order, in the window
      if (round == 19) sd.samples.push_back({t + 1, model::StaleNaN()});
      if (s == 0) sd.exemplars.push_back({L({{"trace_id", std::to_string(round)}}), 1.0, t});
      b.series.push_back(sd);
    }
    model::SeriesData h;
    h.labels = L({{"__name__", "hist"}});
    model::HistogramSample hs;
    hs.timestamp_ms = 100000 + round * 1000;
    hs.count = round;
    hs.sum = round * 0.5;
    hs.positive_spans = {{0, 1}};
    hs.positive_buckets = {double(round)};
    h.histograms.push_back(hs);
    b.series.push_back(h);
    b.metadata.push_back({"m", model::MetricType::kGauge, "round " + std::to_string(round), ""});
    ASSERT_TRUE(db->Write(b).ok());
  }
  std::string before = Dump(*db);
  EXPECT_NE(before.find("=h19/9.5"), std::string::npos);
  EXPECT_NE(before.find("7ff0000000000002"), std::string::npos);

  auto reopened = OpenDb(options);
  EXPECT_EQ(Dump(*reopened), before);
  // Series ids continue after the replayed ones, and the append rules see the replayed data.
  auto r = reopened->Write(Batch({Floats(L({{"__name__", "m"}, {"s", "0"}}), {{100000, 99}}),
                                  Floats(L({{"__name__", "new"}}), {{200000, 1}})}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->samples_rejected, 1) << "duplicate timestamp with another value";
  auto again = OpenDb(options);
  EXPECT_EQ(Dump(*again), Dump(*reopened));
  EXPECT_NE(Dump(*again).find("new:"), std::string::npos);
}

TEST_F(DbTest, RealWalSurvivesReopen) {
  char tmpl[] = "/tmp/tsdb_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string before;
  {
    DbOptions options;
    options.registry = &registry_storage_.emplace_back();
    auto db = DB::Open(dir, options);
    ASSERT_TRUE(db.ok()) << db.status();
    for (int round = 0; round < 50; ++round) {
      model::MetricBatch b;
      for (int s = 0; s < 3; ++s) {
        b.series.push_back(Floats(L({{"__name__", "up"}, {"s", std::to_string(s)}}),
                                  {{round * 15000, double(round * s)}}));
      }
      ASSERT_TRUE((*db)->Write(std::move(b)).ok());
    }
    before = Dump(**db);
  }
  DbOptions options;
  options.registry = &registry_storage_.emplace_back();
  auto db = DB::Open(dir, options);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Dump(**db), before);
  EXPECT_EQ((*db)->head().NumSeries(), 3u);
  std::filesystem::remove_all(dir);
}

TEST_F(DbTest, ReplayOfACorruptRecordFails) {
  disk_->records.push_back(std::string("\x02\x05\x01", 3));  // a samples record cut short
  auto db = DB::Open(std::make_unique<FakeWal>(disk_), {});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(db.status().message().find("cannot replay the metrics WAL"), absl::string_view::npos)
      << db.status();
}

TEST_F(DbTest, WalRecordsRoundTripAndRejectGarbage) {
  std::string rec;
  std::vector<WalSeries> series = {{3, L({{"__name__", "a"}, {"b", "c"}})}};
  EncodeSeriesRecord(rec, series);
  auto got = DecodeWalRecord(rec);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->series.size(), 1u);
  EXPECT_EQ(got->series[0].ref, 3u);
  EXPECT_EQ(got->series[0].labels, series[0].labels);
  for (size_t cut = 2; cut < rec.size(); ++cut) {  // cut 1: an empty record, valid
    EXPECT_FALSE(DecodeWalRecord(std::string_view(rec).substr(0, cut)).ok()) << cut;
  }
  std::string samples;
  std::vector<WalSample> ss = {{1, -5, model::StaleNaN()}, {2, INT64_MAX, 1}};
  EncodeSamplesRecord(samples, ss);
  got = DecodeWalRecord(samples);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->samples.size(), 2u);
  EXPECT_EQ(got->samples[1].t, INT64_MAX);
  EXPECT_TRUE(model::IsStaleNaN(got->samples[0].v));
  // Float chunks decode into samples; a chunk cut short or claiming more samples than its
  // bytes can hold is corruption.
  XorChunk c1, c2;
  for (int64_t t = 0; t < 50; ++t) c1.Append(1000 + t * 15000, static_cast<double>(t % 7));
  c2.Append(-3, model::StaleNaN());
  std::vector<WalFloatChunk> wc = {{4, c1.num_samples(), c1.bytes()},
                                   {9, c2.num_samples(), c2.bytes()}};
  std::string chunks;
  EncodeFloatChunksRecord(chunks, wc);
  got = DecodeWalRecord(chunks);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->type, WalRecordType::kFloatChunks);
  ASSERT_EQ(got->samples.size(), 51u);
  EXPECT_EQ(got->samples[0].ref, 4u);
  EXPECT_EQ(got->samples[49].t, 1000 + 49 * 15000);
  EXPECT_EQ(got->samples[49].v, 0);
  EXPECT_EQ(got->samples[50].ref, 9u);
  EXPECT_EQ(got->samples[50].t, -3);
  EXPECT_TRUE(model::IsStaleNaN(got->samples[50].v));
  std::string first;  // the record cut after its first chunk: valid
  EncodeFloatChunksRecord(first, std::span(wc).first(1));
  for (size_t cut = 2; cut < chunks.size(); ++cut) {
    if (cut == first.size()) continue;
    EXPECT_FALSE(DecodeWalRecord(std::string_view(chunks).substr(0, cut)).ok()) << cut;
  }
  wc[0].num_samples = 70;  // more samples than the bytes hold (past the padding bits)
  chunks.clear();
  EncodeFloatChunksRecord(chunks, wc);
  EXPECT_FALSE(DecodeWalRecord(chunks).ok());
  wc[0].num_samples = 1 << 30;
  chunks.clear();
  EncodeFloatChunksRecord(chunks, wc);
  EXPECT_FALSE(DecodeWalRecord(chunks).ok());
  EXPECT_FALSE(DecodeWalRecord("\x09").ok());
  EXPECT_FALSE(DecodeWalRecord("").ok());
  // Unsorted labels in a series record are corruption.
  std::string unsorted =
      "\x01\x01\x02\x01"
      "b\x01"
      "1\x01"
      "a\x01"
      "1";
  EXPECT_FALSE(DecodeWalRecord(unsorted).ok());
}

TEST_F(DbTest, ConcurrentWritersAndReaders) {
  auto db = OpenDb();
  constexpr int kWriters = 4, kSeriesPerWriter = 10, kRounds = 200;
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        model::MetricBatch b;
        for (int s = 0; s < kSeriesPerWriter; ++s) {
          b.series.push_back(
              Floats(L({{"__name__", "c"}, {"w", std::to_string(w)}, {"s", std::to_string(s)}}),
                     {{int64_t{round} * 1000, double(round)}}));
        }
        auto r = db->Write(std::move(b));
        ASSERT_TRUE(r.ok()) << r.status();
        ASSERT_EQ(r->samples_rejected, 0) << r->first_rejection;
      }
    });
  }
  for (int rd = 0; rd < 2; ++rd) {
    threads.emplace_back([&] {
      std::vector<model::Matcher> c = {Eq("__name__", "c")};
      do {  // at least once, even if the writers are already done
        auto set = db->Select(INT64_MIN, INT64_MAX, c, nullptr);
        while (set->Next()) {
          // Samples of a series are always in order and contiguous from 0.
          int64_t expect = 0;
          auto it = set->Samples();
          while (it->Next() == SampleIterator::ValueType::kFloat) {
            ASSERT_EQ(it->AtTime(), expect * 1000);
            ASSERT_EQ(it->AtFloat(), double(expect));
            ++expect;
          }
        }
        (void)db->LabelValues("w", INT64_MIN, INT64_MAX, {});
        ++reads;
      } while (!done.load());
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  done = true;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_GT(reads.load(), 0);
  std::vector<model::Matcher> c = {Eq("__name__", "c")};
  auto set = db->Select(INT64_MIN, INT64_MAX, c, nullptr);
  int n = 0;
  while (set->Next()) {
    EXPECT_EQ(Samples(*set).size(), static_cast<size_t>(kRounds));
    ++n;
  }
  EXPECT_EQ(n, kWriters * kSeriesPerWriter);
  auto reopened = OpenDb();
  EXPECT_EQ(Dump(*reopened), Dump(*db));
}

TEST_F(DbTest, ConcurrentWritersToOneSeriesKeepTheWalInHeadOrder) {
  DbOptions options;
  options.head.out_of_order_time_window_ms = 100;  // some late samples land in the OOO buffer
  auto db = OpenDb(options);
  constexpr int kWriters = 4, kRounds = 300;
  std::atomic<int64_t> written{0}, rejected{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        // Interleaved timestamps, and every writer also tries the same timestamp with its own
        // value: exactly one value per timestamp may win.
        int64_t t = int64_t{round} * 10;
        auto r = db->Write(
            Batch({Floats(L({{"__name__", "shared"}}), {{t + w, double(w)}, {t + 9, double(w)}})}));
        ASSERT_TRUE(r.ok()) << r.status();
        written += r->samples_written;
        rejected += r->samples_rejected;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(written + rejected, 2 * kWriters * kRounds);
  std::vector<model::Matcher> m = {Eq("__name__", "shared")};
  auto set = db->Select(INT64_MIN, INT64_MAX, m, nullptr);
  ASSERT_TRUE(set->Next());
  auto samples = Samples(*set);
  for (size_t i = 1; i < samples.size(); ++i) ASSERT_LT(samples[i - 1].first, samples[i].first);
  auto reopened = OpenDb(options);
  EXPECT_EQ(Dump(*reopened), Dump(*db));
}

}  // namespace
}  // namespace oriel::tsdb
