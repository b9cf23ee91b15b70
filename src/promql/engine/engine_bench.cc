// Query latency of the PromQL engine on the data and queries of bench/run.py's query scenario:
// the loadgen's node_exporter-like fleet (bench/loadgen/node_series.h, the same series and value
// model), backfilled and compacted into blocks as after the real bench's remote_write backfill,
// queried with bench/run.py's QUERY_CLASSES as instant queries and as range queries over the
// bench's windows.
//
// Two data sets, each built on first use (pick one with --benchmark_filter) and kept on disk
// under $ORIEL_BENCH_DIR (default /tmp/oriel-promql-bench) for later runs:
//   10k:  10,000 series x 24 h at 60 s; range queries over 24 h at a 120 s step.
//   100k: 100,000 series x 1 h at 15 s; range queries over 1 h at a 15 s step.
//   100k-head: the same, left in the head (as bench/run.py queries it: an hour of data is not
//         persisted into a block yet), so the head's chunks are what the queries decode.
// CPU times are the whole process's (the pool's helper thread decodes and computes too).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include "loadgen/node_series.h"
#include "promql/engine/engine.h"
#include "tsdb/db.h"

namespace oriel::promql {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

struct Dataset {
  const char* name;
  int64_t series;
  int64_t interval_ms;
  int64_t span_ms;
  int64_t step_ms;  // of the range queries, which cover the whole span
  bool in_head;     // not compacted into blocks
};

constexpr Dataset kDatasets[] = {
    {"10k", 10'000, 60'000, 24 * 3600 * 1000, 120'000, false},
    {"100k", 100'000, 15'000, 3600 * 1000, 15'000, false},
    {"100k-head", 100'000, 15'000, 3600 * 1000, 15'000, true},
};

[[noreturn]] void Die(std::string_view what, const absl::Status& s) {
  fmt::print(stderr, "{}: {}\n", what, s.message());
  std::abort();
}

// Writes the fleet's samples scrape by scrape, then (unless the data set stays in the head)
// persists and compacts the head into blocks.
void Backfill(tsdb::DB& db, const Dataset& d) {
  loadgen::NodeSeriesSet set({.series = d.series});
  std::vector<model::Labels> labels;
  labels.reserve(set.size());
  for (size_t i = 0; i < set.size(); ++i) {
    std::vector<model::Label> ls;
    for (const auto& l : set.Labels(i)) ls.push_back({set.Symbol(l.name), set.Symbol(l.value)});
    labels.push_back(model::Labels::FromSorted(std::move(ls)));
  }
  for (int64_t t = kStart; t <= kStart + d.span_ms; t += d.interval_ms) {
    set.Advance();
    model::MetricBatch batch;
    batch.series.reserve(set.size());
    for (size_t i = 0; i < set.size(); ++i) {
      batch.series.push_back({labels[i], {{t, set.Value(i)}}, {}, {}});
    }
    if (auto r = db.Write(std::move(batch)); !r.ok()) Die("cannot write", r.status());
  }
  if (d.in_head) return;
  if (auto s = db.CompactHead(); !s.ok()) Die("cannot compact head", s);
}

tsdb::DB* Data(const Dataset& d) {
  static std::unique_ptr<tsdb::DB> dbs[std::size(kDatasets)];
  auto& db = dbs[&d - kDatasets];
  if (db != nullptr) return db.get();
  const char* env = std::getenv("ORIEL_BENCH_DIR");
  std::string dir = fmt::format("{}/{}", env != nullptr ? env : "/tmp/oriel-promql-bench", d.name);
  const std::string done = dir + "/.complete";
  const bool reuse = std::filesystem::exists(done);
  if (!reuse) std::filesystem::remove_all(dir);
  tsdb::DbOptions options;
  options.background_maintenance = false;
  options.retention_time_ms = 0;
  auto opened = tsdb::DB::Open(dir, options);
  if (!opened.ok()) Die("cannot open DB", opened.status());
  db = *std::move(opened);
  if (!reuse) {
    Backfill(*db, d);
    std::ofstream(done) << "ok\n";
  }
  fmt::print(stderr, "bench data {}: {} blocks in {}\n", d.name, db->Blocks().size(), dir);
  return db.get();
}

struct BenchQuery {
  const char* name;
  const char* query;
};

// bench/run.py QUERY_CLASSES.
constexpr BenchQuery kQueries[] = {
    {"rate", "rate(node_network_receive_bytes_total[5m])"},
    {"sum_by", "sum by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))"},
    {"histogram_quantile",
     "histogram_quantile(0.99, sum by (le, handler) "
     "(rate(http_request_duration_seconds_bucket[5m])))"},
    {"topk", "topk(10, rate(node_network_receive_bytes_total{device!=\"lo\"}[5m]))"},
    {"regex",
     "sum by (mode) (rate(node_cpu_seconds_total{mode=~\"user|system|iowait\","
     "instance=~\"node-00[0-4].*\"}[5m]))"},
};

void RunQuery(benchmark::State& state, const Dataset* d, const char* query, bool range) {
  tsdb::DB* db = Data(*d);
  Engine engine(EngineOptions{});
  const int64_t end = kStart + d->span_ms;
  size_t series = 0, points = 0;
  for (auto _ : state) {
    absl::StatusOr<QueryResult> r =
        range ? engine.RangeQuery(*db, query, end - d->span_ms, end, d->step_ms)
              : engine.InstantQuery(*db, query, end);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    series = points = 0;
    if (const auto* m = std::get_if<Matrix>(&r->value)) {
      series = m->size();
      for (const auto& s : *m) points += s.floats.size();
    } else if (const auto* v = std::get_if<Vector>(&r->value)) {
      series = points = v->size();
    }
    benchmark::DoNotOptimize(r);
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["points"] = static_cast<double>(points);
}

void RegisterAll() {
  for (const auto& d : kDatasets) {
    for (const auto& q : kQueries) {
      benchmark::RegisterBenchmark(fmt::format("{}/instant/{}", d.name, q.name).c_str(), RunQuery,
                                   &d, q.query, false)
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime();
      benchmark::RegisterBenchmark(fmt::format("{}/range/{}", d.name, q.name).c_str(), RunQuery, &d,
                                   q.query, true)
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime()
          ->MinTime(2);
    }
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
