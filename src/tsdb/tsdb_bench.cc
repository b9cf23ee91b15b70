// Micro-benchmarks of the metrics engine: chunk encoding and decoding, DB::Write of
// remote_write-sized batches into the head (with a WAL that does no I/O, to measure the engine),
// and loading a selector's samples over 24 h (what PromQL's range queries spend most of their
// time on) from compacted blocks and from the head.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "base/check.h"
#include "base/status.h"
#include "tsdb/db.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {
namespace {

void BM_XorChunk_Append120(benchmark::State& state) {
  for (auto _ : state) {
    XorChunk c;
    double v = 1000;
    for (int i = 0; i < 120; ++i) c.Append(1700000000000 + i * 15000, v += i % 7);
    benchmark::DoNotOptimize(c.bytes().data());
  }
  state.SetItemsProcessed(state.iterations() * 120);
}
BENCHMARK(BM_XorChunk_Append120);

void BM_XorChunk_Iterate120(benchmark::State& state) {
  XorChunk c;
  double v = 1000;
  for (int i = 0; i < 120; ++i) c.Append(1700000000000 + i * 15000, v += i % 7);
  for (auto _ : state) {
    XorIterator it(c.bytes(), c.num_samples());
    double sum = 0;
    while (it.Next()) sum += it.v();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * 120);
}
BENCHMARK(BM_XorChunk_Iterate120);

// Decoding a block's delta chunk of a counter at two decimals: arg 0 byte planes (format 2),
// 1 packed (format 3).
void BM_DeltaChunk_Decode120(benchmark::State& state) {
  std::mt19937_64 rng(1);
  std::vector<model::Sample> samples;
  int64_t units = 100000;
  for (int i = 0; i < 120; ++i) {
    units += 50 + static_cast<int64_t>(rng() % 100);
    samples.push_back({1700000000000 + i * 15000LL, static_cast<double>(units) / 100});
  }
  const std::string bytes = EncodeDeltaChunk(
      samples, state.range(0) == 0 ? DeltaLayout::kBytePlanes : DeltaLayout::kPacked);
  std::vector<model::Sample> out;
  for (auto _ : state) {
    out.clear();
    ORIEL_CHECK(DecodeDeltaChunkInto(bytes, 120, &out).ok());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 120);
}
BENCHMARK(BM_DeltaChunk_Decode120)->Arg(0)->Arg(1)->ArgName("packed");

class NullWal : public storage::Wal {
 public:
  absl::Status AppendParts(std::span<const RecordParts>) override { return absl::OkStatus(); }
  absl::Status Replay(uint64_t, const std::function<absl::Status(std::string_view)>&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Cut() override { return 0; }
  absl::Status RemoveSegmentsBefore(uint64_t) override { return absl::OkStatus(); }
  uint64_t CurrentSegment() const override { return 0; }
  storage::WalStats Stats() const override { return {}; }
};

// Batches of 500 series x 1 sample (a typical remote_write request), 10k series in total.
void BM_DB_Write(benchmark::State& state) {
  auto db = DB::Open(std::make_unique<NullWal>(), {});
  if (!db.ok()) {
    state.SkipWithError("cannot open");
    return;
  }
  std::vector<model::Labels> labels;
  for (int i = 0; i < 10000; ++i) {
    labels.push_back(model::Labels::FromUnsorted({{"__name__", "http_requests_total"},
                                                  {"instance", "host-" + std::to_string(i % 100)},
                                                  {"job", "api"},
                                                  {"path", "/p" + std::to_string(i / 100)}}));
  }
  int64_t t = 1700000000000;
  size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    model::MetricBatch b;
    for (int i = 0; i < 500; ++i) {
      b.series.push_back({labels[next], {{t, double(next)}}, {}, {}});
      if (++next == labels.size()) {
        next = 0;
        t += 15000;
      }
    }
    state.ResumeTiming();
    auto r = (*db)->Write(std::move(b));
    if (!r.ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations() * 500);
}
BENCHMARK(BM_DB_Write);

// The select of `sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))` over 24 h
// at a 60 s scrape interval: 90 instances x 4 cpus x 7 modes = 2520 series x 1440 samples.
constexpr int64_t kLoadStart = 1'700'000'000'000;
constexpr int64_t kLoadScrapeMs = 60'000;
constexpr int kLoadScrapes = 24 * 60;

// Writes the data set into `db`: node_cpu_seconds_total counters with 2 decimals (as
// node_exporter prints them), an occasional late scrape, and a stale marker when a few series
// restart in the middle.
absl::Status FillLoadData(DB& db) {
  static constexpr const char* kModes[] = {"idle", "user", "system",  "iowait",
                                           "irq",  "nice", "softirq", "steal"};
  std::vector<model::Labels> labels;
  std::vector<double> values;
  for (int i = 0; i < 90; ++i) {
    for (int cpu = 0; cpu < 4; ++cpu) {
      for (const char* mode : kModes) {
        labels.push_back(model::Labels::FromUnsorted({{"__name__", "node_cpu_seconds_total"},
                                                      {"instance", fmt::format("host-{}:9100", i)},
                                                      {"job", "node"},
                                                      {"cpu", std::to_string(cpu)},
                                                      {"mode", mode}}));
        values.push_back(1000.0 * i + cpu);
      }
    }
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> inc(0, 3000), jitter(0, 99);
  for (int s = 0; s < kLoadScrapes; ++s) {
    model::MetricBatch b;
    for (size_t i = 0; i < labels.size(); ++i) {
      int64_t t = kLoadStart + s * kLoadScrapeMs + (jitter(rng) == 0 ? 1 + jitter(rng) : 0);
      values[i] = std::round((values[i] + inc(rng) / 100.0) * 100) / 100;
      double v = values[i];
      if (i % 500 == 7 && s == kLoadScrapes / 2) v = std::bit_cast<double>(model::kStaleNaNBits);
      b.series.push_back({labels[i], {{t, v}}, {}, {}});
    }
    ORIEL_ASSIGN_OR_RETURN(WriteResult r, db.Write(std::move(b)));
    if (r.samples_rejected != 0) return absl::InternalError(r.first_rejection);
  }
  return absl::OkStatus();
}

// The data set in compacted blocks (format 2) or in the head; built once per process, its
// directory removed at exit.
struct LoadFixture {
  std::unique_ptr<DB> db;
  std::string dir;
  ~LoadFixture() {
    db.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

DB* LoadDb(bool blocks) {
  static LoadFixture block_fixture, head_fixture;
  LoadFixture& f = blocks ? block_fixture : head_fixture;
  if (f.db != nullptr) return f.db.get();
  absl::StatusOr<std::unique_ptr<DB>> opened;
  DbOptions options;
  options.background_maintenance = false;
  if (blocks) {
    f.dir = fmt::format("/tmp/tsdb_bench_{}", ::getpid());
    std::filesystem::remove_all(f.dir);
    opened = DB::Open(f.dir, options);
  } else {
    opened = DB::Open(std::make_unique<NullWal>(), options);
  }
  ORIEL_CHECK(opened.ok());
  f.db = *std::move(opened);
  absl::Status s = FillLoadData(*f.db);
  if (s.ok() && blocks) s = f.db->CompactHead();
  if (!s.ok()) {
    fmt::print(stderr, "cannot build the data set: {}\n", s.message());
    std::abort();
  }
  return f.db.get();
}

std::vector<model::Matcher> LoadMatchers() {
  std::vector<model::Matcher> m;
  m.push_back(
      *model::Matcher::Create(model::MatchType::kEqual, "__name__", "node_cpu_seconds_total"));
  m.push_back(*model::Matcher::Create(model::MatchType::kNotEqual, "mode", "idle"));
  return m;
}

// What PromQL's Evaluator::Load did before the bulk API: three virtual calls per sample.
void BM_Load_PerSample(benchmark::State& state) {
  DB* db = LoadDb(state.range(0) == 1);
  std::vector<model::Matcher> matchers = LoadMatchers();
  const int64_t mint = kLoadStart - 5 * 60'000, maxt = kLoadStart + kLoadScrapes * kLoadScrapeMs;
  int64_t samples = 0;
  for (auto _ : state) {
    auto set = db->Select(mint, maxt, matchers, nullptr);
    while (set->Next()) {
      model::Labels l = set->labels();
      std::vector<model::Sample> points;
      auto it = set->Samples();
      for (auto t = it->Seek(mint); t != SampleIterator::ValueType::kNone; t = it->Next()) {
        if (it->AtTime() > maxt) break;
        if (t == SampleIterator::ValueType::kFloat) points.push_back({it->AtTime(), it->AtFloat()});
      }
      samples += static_cast<int64_t>(points.size());
      benchmark::DoNotOptimize(points.data());
    }
    if (!set->status().ok()) state.SkipWithError("select failed");
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_Load_PerSample)->Arg(1)->Arg(0)->ArgName("blocks")->Unit(benchmark::kMillisecond);

// The bulk read: whole chunks decoded straight into the output.
void BM_Load_Bulk(benchmark::State& state) {
  DB* db = LoadDb(state.range(0) == 1);
  std::vector<model::Matcher> matchers = LoadMatchers();
  const int64_t mint = kLoadStart - 5 * 60'000, maxt = kLoadStart + kLoadScrapes * kLoadScrapeMs;
  int64_t samples = 0;
  for (auto _ : state) {
    auto set = db->Select(mint, maxt, matchers, nullptr);
    while (set->Next()) {
      model::Labels l = set->labels();
      std::vector<model::Sample> points;
      set->Samples()->AppendFloats(mint, maxt, &points, nullptr);
      samples += static_cast<int64_t>(points.size());
      benchmark::DoNotOptimize(points.data());
    }
    if (!set->status().ok()) state.SkipWithError("select failed");
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_Load_Bulk)->Arg(1)->Arg(0)->ArgName("blocks")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace oriel::tsdb

BENCHMARK_MAIN();
