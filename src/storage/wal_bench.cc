// Append throughput of the WAL with 1 to 32 concurrent appenders: group commit should make the
// records per second grow with the number of threads while syncs stay bounded by disk latency.
// The log lives under $TMPDIR (default /tmp): point it at the disk you care about.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "storage/wal.h"

namespace oriel::storage {
namespace {

std::unique_ptr<Wal> bench_wal;
std::string bench_dir;

void BM_Wal_Append(benchmark::State& state) {
  if (state.thread_index() == 0) {
    bench_dir =
        (std::filesystem::temp_directory_path() / ("wal_bench_" + std::to_string(::getpid())))
            .string();
    std::filesystem::remove_all(bench_dir);
    auto wal = Wal::Open(bench_dir, WalOptions{.segment_bytes = 64 << 20});
    if (!wal.ok()) {
      state.SkipWithError("cannot open the WAL");
      return;
    }
    bench_wal = std::move(*wal);
  }
  const std::string record(state.range(0), 'r');
  const std::string_view unit[] = {record};
  for (auto _ : state) {
    if (!bench_wal->Append(unit).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
  if (state.thread_index() == 0) {
    WalStats stats = bench_wal->Stats();
    state.counters["appends_per_sync"] =
        stats.syncs == 0 ? 0 : static_cast<double>(stats.appends) / stats.syncs;
    bench_wal.reset();
    std::filesystem::remove_all(bench_dir);
  }
}
BENCHMARK(BM_Wal_Append)->Arg(100)->Arg(4096)->ThreadRange(1, 32)->UseRealTime()->MinTime(0.5);

}  // namespace
}  // namespace oriel::storage
