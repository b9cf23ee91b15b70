#include "ingest/pushgateway/pushgateway_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ingest/pushgateway/group_file.h"
#include "ingest/pushgateway/text_parser.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

class RecordingWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    batches.push_back(std::move(batch));
    return tsdb::WriteResult{};
  }
  std::vector<model::MetricBatch> batches;
};

std::vector<pb::MetricFamily> Text(std::string_view text) {
  auto f = ParseTextFormat(text);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : std::vector<pb::MetricFamily>{};
}

GroupingKey Key(std::initializer_list<std::pair<const std::string, std::string>> l) {
  return GroupingKey(l);
}

class PushgatewayStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("promingest-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "pushgateway" / "groups.bin").string();
    auto store = PushgatewayStore::Open(path_, writer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::Status Put(const GroupingKey& key, std::string_view text, absl::Time t = T(100)) {
    return store_->Push(key, Text(text), PushgatewayStore::PushMode::kReplaceGroup, t);
  }
  absl::Status Post(const GroupingKey& key, std::string_view text, absl::Time t = T(100)) {
    return store_->Push(key, Text(text), PushgatewayStore::PushMode::kReplaceFamilies, t);
  }
  static absl::Time T(int64_t s) { return absl::FromUnixSeconds(1700000000 + s); }

  std::filesystem::path dir_;
  std::string path_;
  RecordingWriter writer_;
  std::unique_ptr<PushgatewayStore> store_;
};

TEST_F(PushgatewayStoreTest, PutReplacesGroupPostReplacesFamilies) {
  ASSERT_TRUE(Put(Key({{"job", "a"}}), "x 1\ny 2\n").ok());
  ASSERT_TRUE(Post(Key({{"job", "a"}}), "y 3\nz 4\n").ok());
  auto groups = store_->Snapshot();
  ASSERT_EQ(groups.size(), 1u);
  const PushGroup& g = groups.begin()->second;
  ASSERT_EQ(g.families.size(), 3u);
  EXPECT_EQ(g.families.at("x").family.metric(0).untyped().value(), 1);
  EXPECT_EQ(g.families.at("y").family.metric(0).untyped().value(), 3);
  ASSERT_TRUE(Put(Key({{"job", "a"}}), "w 5\n", T(200)).ok());
  groups = store_->Snapshot();
  EXPECT_EQ(groups.begin()->second.families.size(), 1u);
  EXPECT_EQ(groups.begin()->second.push_time, T(200));
  ASSERT_TRUE(store_->Delete(Key({{"job", "a"}})).ok());
  ASSERT_TRUE(store_->Delete(Key({{"job", "nope"}})).ok());
  EXPECT_TRUE(store_->Snapshot().empty());
}

TEST_F(PushgatewayStoreTest, GroupingLabelsOverrideBodyAndInstanceIsAdded) {
  ASSERT_TRUE(Put(Key({{"job", "c"}, {"l", "1"}}), "x{job=\"zz\",l=\"9\",b=\"2\"} 1\n").ok());
  PushGroups groups = store_->Snapshot();
  const auto& m = groups.begin()->second.families.at("x").family.metric(0);
  std::vector<std::pair<std::string, std::string>> labels;
  for (const auto& lp : m.label()) labels.emplace_back(lp.name(), lp.value());
  EXPECT_EQ(labels, (std::vector<std::pair<std::string, std::string>>{
                        {"b", "2"}, {"instance", ""}, {"job", "c"}, {"l", "1"}}));
}

TEST_F(PushgatewayStoreTest, TimestampsAndConflictsFailAndMarkTheGroup) {
  absl::Status st = Put(Key({{"job", "a"}}), "some_metric 1 1234\n", T(5));
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_EQ(st.message(),
            "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics "
            "must not have timestamps");
  auto groups = store_->Snapshot();
  ASSERT_EQ(groups.size(), 1u);  // the failure created the group, as the Pushgateway does
  EXPECT_FALSE(groups.begin()->second.last_push_successful);
  EXPECT_EQ(groups.begin()->second.failure_time, T(5));
  EXPECT_EQ(groups.begin()->second.push_time, absl::UnixEpoch());

  ASSERT_TRUE(Put(Key({{"job", "t"}}), "# TYPE g gauge\ng 1\n").ok());
  st = Put(Key({{"job", "u"}}), "# TYPE g counter\ng 5\n");
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("\"g\" is COUNTER in this push but GAUGE in group {job=\"t\"}"),
            std::string::npos)
      << st;
  // Untyped differs from gauge too.
  EXPECT_FALSE(Put(Key({{"job", "v"}}), "g 1\n").ok());
  st = Put(Key({{"job", "v"}}), "k 1\nm 2\nk 3\n");
  EXPECT_NE(st.message().find("was collected before with the same name and label values"),
            std::string::npos)
      << st;
  // A histogram's sample names are taken.
  ASSERT_TRUE(Put(Key({{"job", "h"}}), "# TYPE h histogram\nh_count 1\n").ok());
  EXPECT_FALSE(Put(Key({{"job", "h2"}}), "h_bucket 1\n").ok());
  // The same group may change a family's type (the old family is replaced).
  EXPECT_TRUE(Put(Key({{"job", "t"}}), "# TYPE g counter\ng 1\n").ok());
  // A successful push clears the failure flag but keeps the failure time.
  ASSERT_TRUE(Put(Key({{"job", "a"}}), "ok 1\n", T(9)).ok());
  groups = store_->Snapshot();
  const PushGroup& a = groups.at(Key({{"job", "a"}}));
  EXPECT_TRUE(a.last_push_successful);
  EXPECT_EQ(a.failure_time, T(5));
  EXPECT_EQ(a.push_time, T(9));
}

TEST_F(PushgatewayStoreTest, PersistenceRoundTrip) {
  ASSERT_TRUE(Put(Key({{"job", "a"}, {"instance", "i1"}}),
                  "# HELP g Help.\n# TYPE g gauge\ng{x=\"1\"} 2.5\n# TYPE s summary\n"
                  "s{quantile=\"0.9\"} 1\ns_sum 2\ns_count 3\n",
                  T(1))
                  .ok());
  ASSERT_TRUE(Put(Key({{"job", "b"}}), "x 1 5\n", T(2)).code() ==
              absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Put(Key({{"job", "c"}, {"p", "/x"}}), "y 7\n", T(3)).ok());
  PushGroups before = store_->Snapshot();

  RecordingWriter other;
  auto reopened = PushgatewayStore::Open(path_, other);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  PushGroups after = (*reopened)->Snapshot();
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, g] : before) {
    ASSERT_TRUE(after.count(key)) << GroupingKeyString(key);
    const PushGroup& h = after.at(key);
    EXPECT_EQ(h.push_time, g.push_time);
    EXPECT_EQ(h.failure_time, g.failure_time);
    EXPECT_EQ(h.push_time_changed, g.push_time_changed);
    EXPECT_EQ(h.failure_time_changed, g.failure_time_changed);
    EXPECT_EQ(h.last_push_successful, g.last_push_successful);
    ASSERT_EQ(h.families.size(), g.families.size());
    for (const auto& [name, f] : g.families) {
      EXPECT_EQ(h.families.at(name).family.SerializeAsString(), f.family.SerializeAsString());
      EXPECT_EQ(h.families.at(name).pushed, f.pushed);
    }
  }
  // The file holds exactly what EncodeGroups makes of the state, and no temp file is left.
  EXPECT_EQ(*ReadWholeFile(path_), EncodeGroups(before));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  ASSERT_TRUE((*reopened)->Wipe().ok());
  auto wiped = PushgatewayStore::Open(path_, other);
  ASSERT_TRUE(wiped.ok());
  EXPECT_TRUE((*wiped)->Snapshot().empty());
}

TEST_F(PushgatewayStoreTest, CorruptFileIsDataLossNotACrash) {
  ASSERT_TRUE(Put(Key({{"job", "a"}}), "x 1\n").ok());
  std::string data = *ReadWholeFile(path_);
  for (size_t cut = 0; cut < data.size(); ++cut) {
    auto decoded = DecodeGroups(std::string_view(data).substr(0, cut));
    EXPECT_FALSE(decoded.ok()) << cut;
  }
  EXPECT_FALSE(DecodeGroups(data + "x").ok());
  {
    std::ofstream f(path_, std::ios::trunc);
    f << "not a pushgateway file";
  }
  RecordingWriter other;
  auto reopened = PushgatewayStore::Open(path_, other);
  EXPECT_TRUE(absl::IsDataLoss(reopened.status())) << reopened.status();
}

std::map<std::string, double> SeriesValues(const model::MetricBatch& batch) {
  std::map<std::string, double> out;
  for (const auto& s : batch.series) {
    if (!s.samples.empty()) out[s.labels.ToString()] = s.samples[0].value;
  }
  return out;
}

TEST_F(PushgatewayStoreTest, FlushWritesSeriesLikeAHonorLabelsScrape) {
  ASSERT_TRUE(Put(Key({{"job", "t"}}),
                  "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 3\n"
                  "h_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
                  "# TYPE c counter\nc{instance=\"i9\"} 4\n",
                  T(10))
                  .ok());
  auto result = store_->Flush(123000);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(writer_.batches.size(), 1u);
  const model::MetricBatch& batch = writer_.batches[0];
  for (const auto& s : batch.series) EXPECT_EQ(s.samples.at(0).timestamp_ms, 123000);
  std::map<std::string, double> want = {
      {R"(h_bucket{job="t", le="1"})", 1},
      {R"(h_bucket{job="t", le="+Inf"})", 2},
      {R"(h_sum{job="t"})", 3},
      {R"(h_count{job="t"})", 2},
      {R"(s{job="t", quantile="0.5"})", 1},
      {R"(s_sum{job="t"})", 2},
      {R"(s_count{job="t"})", 3},
      {R"(c{instance="i9", job="t"})", 4},
      {R"(push_time_seconds{job="t"})", 1700000010},
      {R"(push_failure_time_seconds{job="t"})", 0},
  };
  EXPECT_EQ(SeriesValues(batch), want);
  bool found_help = false;
  for (const auto& md : batch.metadata) {
    if (md.metric_family == "h") {
      found_help = true;
      EXPECT_EQ(md.help, "A histogram.");
      EXPECT_EQ(md.type, model::MetricType::kHistogram);
    }
  }
  EXPECT_TRUE(found_help);

  // A replaced family's and a deleted group's series go stale at the next flush.
  ASSERT_TRUE(Put(Key({{"job", "t"}}), "# TYPE c counter\nc 5\n", T(20)).ok());
  ASSERT_TRUE(Put(Key({{"job", "gone"}}), "g 1\n", T(20)).ok());
  ASSERT_TRUE(store_->Flush(124000).ok());
  ASSERT_TRUE(store_->Delete(Key({{"job", "gone"}})).ok());
  ASSERT_TRUE(store_->Flush(125000).ok());
  ASSERT_EQ(writer_.batches.size(), 3u);
  std::set<std::string> stale2, stale3;
  for (const auto& s : writer_.batches[1].series) {
    if (model::IsStaleNaN(s.samples[0].value)) stale2.insert(s.labels.ToString());
  }
  for (const auto& s : writer_.batches[2].series) {
    if (model::IsStaleNaN(s.samples[0].value)) stale3.insert(s.labels.ToString());
  }
  EXPECT_TRUE(stale2.count(R"(h_sum{job="t"})"));
  EXPECT_TRUE(stale2.count(R"(c{instance="i9", job="t"})"));
  EXPECT_FALSE(stale2.count(R"(c{job="t"})"));
  EXPECT_EQ(stale3, (std::set<std::string>{R"(g{job="gone"})", R"(push_time_seconds{job="gone"})",
                                           R"(push_failure_time_seconds{job="gone"})"}));
  // Nothing left and nothing stale: the engine is not called.
  ASSERT_TRUE(store_->Wipe().ok());
  ASSERT_TRUE(store_->Flush(126000).ok());
  ASSERT_TRUE(store_->Flush(127000).ok());
  EXPECT_EQ(writer_.batches.size(), 4u);
}

TEST_F(PushgatewayStoreTest, NativeHistogramFromProtobufBecomesHistogramSample) {
  pb::MetricFamily mf;
  mf.set_name("nh");
  mf.set_type(pb::HISTOGRAM);
  auto* h = mf.add_metric()->mutable_histogram();
  h->set_schema(0);
  h->set_sample_count(3);
  h->set_sample_sum(1.5);
  h->set_zero_count(1);
  auto* span = h->add_positive_span();
  span->set_offset(0);
  span->set_length(2);
  h->add_positive_delta(1);
  h->add_positive_delta(0);
  std::vector<pb::MetricFamily> fams = {mf};
  ASSERT_TRUE(
      store_->Push(Key({{"job", "n"}}), fams, PushgatewayStore::PushMode::kReplaceGroup, T(1))
          .ok());
  ASSERT_TRUE(store_->Flush(1000).ok());
  const model::SeriesData* found = nullptr;
  for (const auto& s : writer_.batches[0].series) {
    if (s.labels.MetricName() == "nh") found = &s;
  }
  ASSERT_NE(found, nullptr);
  ASSERT_EQ(found->histograms.size(), 1u);
  EXPECT_EQ(found->histograms[0].positive_buckets, (std::vector<double>{1, 1}));
  EXPECT_EQ(found->histograms[0].count, 3);
}

TEST_F(PushgatewayStoreTest, ProtobufFamiliesAreValidated) {
  pb::MetricFamily mf;
  mf.set_name("g");
  mf.set_type(pb::GAUGE);
  mf.add_metric()->mutable_counter()->set_value(1);
  absl::Status st =
      store_->Push(Key({{"job", "p"}}), {mf}, PushgatewayStore::PushMode::kReplaceGroup, T(1));
  EXPECT_NE(st.message().find("is not a GAUGE"), std::string::npos) << st;
  mf.mutable_metric(0)->mutable_gauge()->set_value(1);
  auto* lp = mf.mutable_metric(0)->add_label();
  lp->set_name("bad-label");
  lp->set_value("x");
  st = store_->Push(Key({{"job", "p"}}), {mf}, PushgatewayStore::PushMode::kReplaceGroup, T(1));
  EXPECT_NE(st.message().find("invalid label name"), std::string::npos) << st;
  mf.set_name("1bad");
  EXPECT_FALSE(
      store_->Push(Key({{"job", "p"}}), {mf}, PushgatewayStore::PushMode::kReplaceGroup, T(1))
          .ok());
}

}  // namespace
}  // namespace oriel::ingest
