// Query latency of the PromQL engine on node-exporter-like data: typical dashboard queries as
// instant queries, 1h range queries at a 15s step and 24h range queries at a 60s step.
//
// The data set lives in an in-memory DB (no WAL I/O) and is built once: per instance, 8 cpus x 8
// modes of node_cpu_seconds_total counters, a 12-bucket http_request_duration_seconds histogram
// for 10 handlers, and 2 memory gauges, scraped every 30s for 24h. ORIEL_BENCH_INSTANCES sets the
// number of instances (default 50: ~9.4k series, 27M samples).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/engine.h"
#include "storage/wal.h"
#include "tsdb/db.h"

namespace oriel::promql {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kScrapeMs = 30'000;
constexpr int64_t kSpanMs = 24 * 3600 * 1000;

class NullWal : public storage::Wal {
 public:
  absl::Status Append(std::span<const std::string_view>) override { return absl::OkStatus(); }
  absl::Status Replay(uint64_t, const std::function<absl::Status(std::string_view)>&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Cut() override { return 0; }
  absl::Status RemoveSegmentsBefore(uint64_t) override { return absl::OkStatus(); }
  uint64_t CurrentSegment() const override { return 0; }
  storage::WalStats Stats() const override { return {}; }
};

// How a series' value moves per scrape.
struct BenchSeries {
  model::Labels labels;
  double value = 0;
  double increment = 0;  // counters; 0 for gauges
};

std::vector<BenchSeries> MakeSeries(int instances) {
  static constexpr const char* kModes[] = {"idle", "user", "system",  "iowait",
                                           "irq",  "nice", "softirq", "steal"};
  static constexpr const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                        "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  std::vector<BenchSeries> out;
  for (int i = 0; i < instances; ++i) {
    std::string instance = fmt::format("host-{}:9100", i);
    for (int cpu = 0; cpu < 8; ++cpu) {
      for (int m = 0; m < 8; ++m) {
        out.push_back({model::Labels::FromUnsorted({{"__name__", "node_cpu_seconds_total"},
                                                    {"instance", instance},
                                                    {"job", "node"},
                                                    {"cpu", std::to_string(cpu)},
                                                    {"mode", kModes[m]}}),
                       1000.0 * (i + cpu), m == 0 ? 25.0 : 5.0 / (m + 1) + 0.01 * cpu});
      }
    }
    for (int h = 0; h < 10; ++h) {
      for (int b = 0; b < 12; ++b) {
        // Cumulative buckets: each one counts at least what the one below counts.
        out.push_back(
            {model::Labels::FromUnsorted({{"__name__", "http_request_duration_seconds_bucket"},
                                          {"instance", instance},
                                          {"job", "api"},
                                          {"handler", fmt::format("/api/v1/h{}", h)},
                                          {"le", kLe[b]}}),
             0, 10.0 + 8.0 * b + h});
      }
    }
    out.push_back(
        {model::Labels::FromUnsorted(
             {{"__name__", "node_memory_MemTotal_bytes"}, {"instance", instance}, {"job", "node"}}),
         64e9, 0});
    out.push_back({model::Labels::FromUnsorted({{"__name__", "node_memory_MemAvailable_bytes"},
                                                {"instance", instance},
                                                {"job", "node"}}),
                   30e9 + 1e8 * i, 0});
  }
  return out;
}

tsdb::DB* Data() {
  static tsdb::DB* db = [] {
    const char* env = std::getenv("ORIEL_BENCH_INSTANCES");
    int instances = env != nullptr ? std::atoi(env) : 50;
    tsdb::DbOptions options;
    options.background_maintenance = false;
    auto opened = tsdb::DB::Open(std::make_unique<NullWal>(), options);
    if (!opened.ok()) {
      fmt::print(stderr, "cannot open DB: {}\n", opened.status().message());
      std::abort();
    }
    std::vector<BenchSeries> series = MakeSeries(instances);
    int64_t samples = 0;
    for (int64_t t = kStart; t <= kStart + kSpanMs; t += kScrapeMs) {
      model::MetricBatch batch;
      batch.series.reserve(series.size());
      int64_t step = (t - kStart) / kScrapeMs;
      for (auto& s : series) {
        if (s.increment > 0) {
          s.value += s.increment * (1 + 0.5 * static_cast<double>((step * 7) % 5));
        } else {
          s.value += static_cast<double>((step % 11) - 5) * 1e6;
        }
        batch.series.push_back({s.labels, {{t, s.value}}, {}, {}});
      }
      samples += static_cast<int64_t>(series.size());
      auto r = (*opened)->Write(std::move(batch));
      if (!r.ok()) {
        fmt::print(stderr, "cannot write: {}\n", r.status().message());
        std::abort();
      }
    }
    fmt::print(stderr, "bench data: {} series, {} samples\n", series.size(), samples);
    return opened->release();
  }();
  return db;
}

struct BenchQuery {
  const char* name;
  const char* query;
};

constexpr BenchQuery kQueries[] = {
    {"rate", "rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])"},
    {"sum_by_rate", "sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))"},
    {"histogram_quantile",
     "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"},
    {"topk", "topk(5, rate(node_cpu_seconds_total[5m]))"},
    {"regex",
     "sum by (mode) (rate(node_cpu_seconds_total{instance=~\"host-1.*\",mode=~\"user|system\"}"
     "[5m]))"},
    {"avg_over_time", "avg_over_time(node_memory_MemAvailable_bytes[5m])"},
    {"binary", "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"},
};

enum class Mode { kInstant, kRange1h, kRange24h };

void RunQuery(benchmark::State& state, const char* query, Mode mode) {
  tsdb::DB* db = Data();
  Engine engine(EngineOptions{});
  const int64_t end = kStart + kSpanMs;
  size_t series = 0;
  for (auto _ : state) {
    absl::StatusOr<QueryResult> r;
    switch (mode) {
      case Mode::kInstant:
        r = engine.InstantQuery(*db, query, end);
        break;
      case Mode::kRange1h:
        r = engine.RangeQuery(*db, query, end - 3600 * 1000, end, 15'000);
        break;
      case Mode::kRange24h:
        r = engine.RangeQuery(*db, query, kStart, end, 60'000);
        break;
    }
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    series = std::visit(
        [](const auto& v) -> size_t {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, Vector> || std::is_same_v<T, Matrix>) {
            return v.size();
          } else {
            return 1;
          }
        },
        r->value);
    benchmark::DoNotOptimize(r);
  }
  state.counters["series"] = static_cast<double>(series);
}

void RegisterAll() {
  for (const auto& q : kQueries) {
    benchmark::RegisterBenchmark(fmt::format("instant/{}", q.name).c_str(), RunQuery, q.query,
                                 Mode::kInstant)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(fmt::format("range_1h_15s/{}", q.name).c_str(), RunQuery, q.query,
                                 Mode::kRange1h)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(fmt::format("range_24h_60s/{}", q.name).c_str(), RunQuery, q.query,
                                 Mode::kRange24h)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
}

}  // namespace
}  // namespace oriel::promql

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  oriel::promql::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
