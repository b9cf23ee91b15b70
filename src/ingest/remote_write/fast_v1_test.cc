#include "ingest/remote_write/fast_v1.h"

#include <gtest/gtest.h>

#include <bit>
#include <functional>
#include <random>
#include <string>

namespace oriel::ingest {
namespace {

// What the full path (protobuf parse, then DecodeV1) gives, or nullopt when it refuses.
std::optional<DecodedWrite> FullPath(const std::string& body) {
  prometheus::WriteRequest req;
  if (!req.ParseFromString(body)) return std::nullopt;
  auto out = DecodeV1(req);
  if (!out.ok()) return std::nullopt;
  return *std::move(out);
}

void ExpectSame(const DecodedWrite& want, const DecodedWrite& got) {
  EXPECT_EQ(want.samples, got.samples);
  EXPECT_EQ(want.histograms, got.histograms);
  EXPECT_EQ(want.exemplars, got.exemplars);
  EXPECT_EQ(want.invalid_series, got.invalid_series);
  EXPECT_TRUE(got.batch.metadata.empty());
  ASSERT_EQ(want.batch.series.size(), got.batch.series.size());
  for (size_t i = 0; i < want.batch.series.size(); ++i) {
    const model::SeriesData& w = want.batch.series[i];
    const model::SeriesData& g = got.batch.series[i];
    EXPECT_EQ(w.labels, g.labels) << "series " << i;
    ASSERT_EQ(w.samples.size(), g.samples.size()) << "series " << i;
    for (size_t j = 0; j < w.samples.size(); ++j) {
      EXPECT_EQ(w.samples[j].timestamp_ms, g.samples[j].timestamp_ms);
      EXPECT_EQ(std::bit_cast<uint64_t>(w.samples[j].value),
                std::bit_cast<uint64_t>(g.samples[j].value));
    }
    EXPECT_TRUE(g.histograms.empty());
    EXPECT_TRUE(g.exemplars.empty());
  }
}

prometheus::WriteRequest NodeLikeRequest(std::mt19937_64& rng, int num_series) {
  prometheus::WriteRequest req;
  for (int i = 0; i < num_series; ++i) {
    auto* ts = req.add_timeseries();
    auto add = [&](std::string n, std::string v) {
      auto* l = ts->add_labels();
      l->set_name(std::move(n));
      l->set_value(std::move(v));
    };
    add("__name__", "node_cpu_seconds_total");
    add("cpu", std::to_string(rng() % 64));
    add("empty", "");  // dropped, as Prometheus treats an empty value as absent
    add("instance", "host-" + std::to_string(rng() % 1000) + ".example.com:9100");
    add("job", "node");
    add("mode", "zone\xc3\xa9");  // two-byte UTF-8
    for (int j = 0; j < 1 + static_cast<int>(rng() % 3); ++j) {
      auto* s = ts->add_samples();
      s->set_timestamp(static_cast<int64_t>(rng() % 2'000'000'000'000) - 1000);
      s->set_value(std::bit_cast<double>(rng()));  // any bits, NaNs included
    }
  }
  return req;
}

TEST(FastV1Test, MatchesTheFullPathOnFloatSeries) {
  std::mt19937_64 rng(7);
  prometheus::WriteRequest req = NodeLikeRequest(rng, 50);
  std::string body = req.SerializeAsString();
  std::optional<DecodedWrite> fast = TryDecodeV1Fast(body);
  ASSERT_TRUE(fast.has_value());
  std::optional<DecodedWrite> full = FullPath(body);
  ASSERT_TRUE(full.has_value());
  ExpectSame(*full, *fast);
  EXPECT_EQ(fast->batch.series[0].labels.Get("empty"), "");
  EXPECT_EQ(fast->batch.series[0].labels.size(), 5u);

  // An empty request is a valid empty write.
  std::optional<DecodedWrite> empty = TryDecodeV1Fast("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->batch.series.empty());
}

TEST(FastV1Test, SkipsUnknownFieldsLikeProtobuf) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("up");
  ts->add_samples()->set_value(1);
  std::string body = req.SerializeAsString();
  // Field 15 of the request as a varint, a fixed32, a fixed64 and a length-delimited field.
  body += std::string("\x78\x05", 2) + std::string("\x7d\x01\x02\x03\x04", 5) +
          std::string("\x79\x01\x02\x03\x04\x05\x06\x07\x08", 9) + std::string("\x7a\x01x", 3);
  std::optional<DecodedWrite> fast = TryDecodeV1Fast(body);
  ASSERT_TRUE(fast.has_value());
  std::optional<DecodedWrite> full = FullPath(body);
  ASSERT_TRUE(full.has_value());
  ExpectSame(*full, *fast);
}

TEST(FastV1Test, LeavesEverythingElseToTheFullPath) {
  auto base = [] {
    prometheus::WriteRequest req;
    auto* ts = req.add_timeseries();
    for (auto [n, v] : {std::pair{"__name__", "up"}, {"job", "a"}}) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    ts->add_samples()->set_value(1);
    return req;
  };
  ASSERT_TRUE(TryDecodeV1Fast(base().SerializeAsString()).has_value());

  prometheus::WriteRequest unsorted = base();
  unsorted.mutable_timeseries(0)->mutable_labels()->SwapElements(0, 1);
  EXPECT_FALSE(TryDecodeV1Fast(unsorted.SerializeAsString()).has_value());

  prometheus::WriteRequest no_name = base();
  no_name.mutable_timeseries(0)->mutable_labels(0)->set_value("");
  EXPECT_FALSE(TryDecodeV1Fast(no_name.SerializeAsString()).has_value());

  prometheus::WriteRequest repeated = base();
  repeated.mutable_timeseries(0)->mutable_labels(1)->set_name("__name__");
  EXPECT_FALSE(TryDecodeV1Fast(repeated.SerializeAsString()).has_value());

  prometheus::WriteRequest exemplar = base();
  exemplar.mutable_timeseries(0)->add_exemplars()->set_value(1);
  EXPECT_FALSE(TryDecodeV1Fast(exemplar.SerializeAsString()).has_value());

  prometheus::WriteRequest histogram = base();
  histogram.mutable_timeseries(0)->add_histograms()->set_sum(1);
  EXPECT_FALSE(TryDecodeV1Fast(histogram.SerializeAsString()).has_value());

  prometheus::WriteRequest metadata = base();
  metadata.add_metadata()->set_metric_family_name("up");
  EXPECT_FALSE(TryDecodeV1Fast(metadata.SerializeAsString()).has_value());

  // Invalid UTF-8 (a surrogate; an overlong '/'), which protobuf refuses in proto3 strings.
  for (std::string bad : {std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
    prometheus::WriteRequest req = base();
    req.mutable_timeseries(0)->mutable_labels(1)->set_value(bad);
    EXPECT_FALSE(TryDecodeV1Fast(req.SerializeAsString()).has_value());
    EXPECT_FALSE(FullPath(req.SerializeAsString()).has_value());  // protobuf refuses it too
  }

  std::string body = base().SerializeAsString();
  for (size_t n = 1; n < body.size(); ++n) {
    EXPECT_FALSE(TryDecodeV1Fast(body.substr(0, n)).has_value()) << "truncated to " << n;
  }
}

// Corrupts `body` in 1-3 random bytes, 20000 times: whatever `fast` accepts, the full path must
// accept and decode alike.
void ExpectFastAgreesOnCorruptions(
    std::mt19937_64& rng, const std::string& body,
    const std::function<std::optional<DecodedWrite>(std::string_view)>& fast_decode) {
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string b = body;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<char>(rng());
    std::optional<DecodedWrite> fast = fast_decode(b);
    if (!fast.has_value()) continue;
    ++accepted;
    std::optional<DecodedWrite> full = FullPath(b);
    ASSERT_TRUE(full.has_value()) << "round " << round;
    ExpectSame(*full, *fast);
    if (::testing::Test::HasFailure()) FAIL() << "round " << round;
  }
  EXPECT_GT(accepted, 100);  // the property was exercised, not vacuously true
}

// An engine that holds the series it was given, found as a head finds them (see
// MetricsWriter::FindLabels).
class KnownSeries : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch batch) override {
    for (model::SeriesData& s : batch.series) held.push_back(std::move(s.labels));
    return tsdb::WriteResult{};
  }
  void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) override {
    for (size_t i = 0; i < sets.size(); ++i) {
      for (const model::Labels& mine : held) {
        if (mine.Hash() == sets[i].hash && mine.Equals(sets[i].labels)) out[i] = mine;
      }
    }
  }
  std::vector<model::Labels> held;
};

// The fast path looking up `known`, which then holds the series of what it decoded.
std::optional<DecodedWrite> DecodeKnown(std::string_view body, KnownSeries& known) {
  std::optional<DecodedWrite> out = TryDecodeV1Fast(body, &known);
  if (out.has_value()) (void)known.Write(out->batch);
  return out;
}

// A request of node-like series without empty label values (whose sets are the views).
std::string RequestWithoutEmptyValues(std::mt19937_64& rng, int num_series) {
  prometheus::WriteRequest req = NodeLikeRequest(rng, num_series);
  for (auto& ts : *req.mutable_timeseries()) ts.mutable_labels()->DeleteSubrange(2, 1);
  return req.SerializeAsString();
}

TEST(FastV1Test, TakesTheLabelSetsTheEngineHoldsAndStillMatchesTheFullPath) {
  std::mt19937_64 rng(5);
  std::string body = RequestWithoutEmptyValues(rng, 40);
  KnownSeries known;
  std::optional<DecodedWrite> first = DecodeKnown(body, known);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(known.held.size(), 40u);
  std::optional<DecodedWrite> second = DecodeKnown(body, known);
  ASSERT_TRUE(second.has_value());
  std::optional<DecodedWrite> full = FullPath(body);
  ASSERT_TRUE(full.has_value());
  ExpectSame(*full, *second);
  for (size_t i = 0; i < second->batch.series.size(); ++i) {
    // The engine's set, not a rebuilt copy.
    EXPECT_TRUE(known.held[i].SharesBufferWith(second->batch.series[i].labels));
  }

  // Series with an empty label value are decoded right, just never looked up.
  std::string with_empty = NodeLikeRequest(rng, 10).SerializeAsString();
  for (int round = 0; round < 2; ++round) {
    const std::vector<model::Labels> held_before = known.held;
    std::optional<DecodedWrite> fast = DecodeKnown(with_empty, known);
    ASSERT_TRUE(fast.has_value());
    ExpectSame(*FullPath(with_empty), *fast);
    for (const model::SeriesData& s : fast->batch.series) {
      for (const model::Labels& mine : held_before) EXPECT_FALSE(s.labels.SharesBufferWith(mine));
    }
  }

  // Unknown series are still checked: an unsorted one is left to the full path (which sorts).
  prometheus::WriteRequest unsorted;
  unsorted.ParseFromString(body);
  unsorted.mutable_timeseries(2)->mutable_labels()->SwapElements(0, 1);
  EXPECT_FALSE(DecodeKnown(unsorted.SerializeAsString(), known).has_value());
}

// Valid UTF-8 beyond ASCII in label values and names is decoded as the full path does; invalid
// is refused also where the rest of the label message is ASCII.
TEST(FastV1Test, ChecksUtf8BeyondAscii) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* name = ts->add_labels();
  name->set_name("__name__");
  name->set_value("up");
  auto* city = ts->add_labels();
  city->set_name("city");
  city->set_value("Z\xc3\xbcrich");
  ts->add_samples()->set_value(1);
  KnownSeries known;
  for (int round = 0; round < 2; ++round) {  // unknown, then known
    std::optional<DecodedWrite> fast = DecodeKnown(req.SerializeAsString(), known);
    ASSERT_TRUE(fast.has_value());
    ExpectSame(*FullPath(req.SerializeAsString()), *fast);
  }
  city->set_value("Z\xfcrich");  // Latin-1
  EXPECT_FALSE(DecodeKnown(req.SerializeAsString(), known).has_value());
}

TEST(FastV1Test, KnownSeriesWithSamplesBetweenTheirLabels) {
  // Concatenated messages merge, so this series reads: label __name__, a sample, label job.
  prometheus::TimeSeries head, tail;
  auto* name = head.add_labels();
  name->set_name("__name__");
  name->set_value("up");
  head.add_samples()->set_value(1);
  auto* job = tail.add_labels();
  job->set_name("job");
  job->set_value("a");
  std::string series = head.SerializeAsString() + tail.SerializeAsString();
  std::string body = std::string("\x0a", 1) + static_cast<char>(series.size()) + series;
  ASSERT_LT(series.size(), 128u);  // a one-byte length
  KnownSeries known;
  for (int round = 0; round < 2; ++round) {
    std::optional<DecodedWrite> fast = DecodeKnown(body, known);
    ASSERT_TRUE(fast.has_value());
    ExpectSame(*FullPath(body), *fast);
    EXPECT_EQ(fast->batch.series[0].labels.Get("job"), "a");
  }
  EXPECT_TRUE(known.held[1].SharesBufferWith(known.held[0]));  // found the second time
}

// With an engine that holds the intact request's series, a corrupted request must still decode
// exactly as the full path does: the engine's set is handed out only for the very same labels.
TEST(FastV1Test, KnownSeriesNeverHideCorruptedLabels) {
  std::mt19937_64 rng(13);
  std::string body = RequestWithoutEmptyValues(rng, 5);
  KnownSeries known;
  ASSERT_TRUE(DecodeKnown(body, known).has_value());
  ExpectFastAgreesOnCorruptions(rng, body, [&](std::string_view b) {
    return TryDecodeV1Fast(b, &known);  // not remembering the corrupted series
  });
}

// Hostile input: whatever the fast path accepts, the full path must accept alike.
TEST(FastV1Test, AcceptsOnlyWhatTheFullPathAcceptsOnCorruptedInput) {
  std::mt19937_64 rng(11);
  std::string body = NodeLikeRequest(rng, 5).SerializeAsString();
  ExpectFastAgreesOnCorruptions(rng, body, [](std::string_view b) { return TryDecodeV1Fast(b); });
}

}  // namespace
}  // namespace oriel::ingest
