// Micro-benchmarks of the metrics engine: chunk encoding and decoding, and DB::Write of
// remote_write-sized batches into the head (with a WAL that does no I/O, to measure the engine).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "tsdb/db.h"
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

}  // namespace
}  // namespace oriel::tsdb

BENCHMARK_MAIN();
