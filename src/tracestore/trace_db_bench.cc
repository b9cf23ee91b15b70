// Write throughput and read latency of the trace store with realistic spans (20 attributes, 20
// spans per trace, one request per trace as an SDK batch would send): spans/s per writer thread,
// WAL bytes per span, GetTrace and FindTraces latency. The store lives under $TMPDIR.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "fmt/format.h"
#include "tracestore/trace_db.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

constexpr int kSpansPerTrace = 20;
constexpr int64_t kBase = int64_t{1'700'000'000} * 1'000'000'000;

std::string Id(uint64_t n, size_t size) {
  std::string id(size, '\x01');
  for (size_t i = 0; i < 8; ++i) id[size - 1 - i] = static_cast<char>(n >> (8 * i));
  return id;
}

ResourceSpans MakeTrace(uint64_t trace) {
  ResourceSpans rs;
  auto* service = rs.mutable_resource()->add_attributes();
  service->set_key("service.name");
  service->mutable_value()->set_string_value(fmt::format("service-{}", trace % 10));
  auto* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("@opentelemetry/instrumentation-http");
  for (int s = 0; s < kSpansPerTrace; ++s) {
    Span* span = ss->add_spans();
    span->set_trace_id(Id(trace, 16));
    span->set_span_id(Id(static_cast<uint64_t>(s + 1), 8));
    if (s > 0) span->set_parent_span_id(Id(static_cast<uint64_t>(s), 8));
    span->set_name(fmt::format("GET /api/v1/items/{}", s % 5));
    span->set_kind(Span::SPAN_KIND_SERVER);
    const int64_t start = kBase + static_cast<int64_t>(trace) * 1000 + s;
    span->set_start_time_unix_nano(static_cast<uint64_t>(start));
    span->set_end_time_unix_nano(static_cast<uint64_t>(start + 1'000'000));
    for (int a = 0; a < 20; ++a) {
      auto* kv = span->add_attributes();
      kv->set_key(fmt::format("attribute.key.{}", a));
      if (a % 2 == 0) {
        kv->mutable_value()->set_string_value(fmt::format("value-{}", (trace + a) % 100));
      } else {
        kv->mutable_value()->set_int_value(static_cast<int64_t>(trace % 1000 + a));
      }
    }
  }
  return rs;
}

std::unique_ptr<TraceDB> bench_db;
std::string bench_dir;

std::unique_ptr<TraceDB> OpenFresh(benchmark::State& state) {
  bench_dir =
      (std::filesystem::temp_directory_path() / ("trace_db_bench_" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(bench_dir);
  TraceDBOptions options;
  options.retention_nano = 0;
  options.maintenance_interval_nano = 0;
  auto db = TraceDB::Open(bench_dir, options);
  if (!db.ok()) {
    state.SkipWithError("cannot open the trace store");
    return nullptr;
  }
  return std::move(*db);
}

void BM_TraceDB_Write(benchmark::State& state) {
  if (state.thread_index() == 0) bench_db = OpenFresh(state);
  uint64_t trace = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<ResourceSpans> batch = {MakeTrace(++trace)};
    state.ResumeTiming();
    auto result = bench_db->Write(batch);
    if (!result.ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kSpansPerTrace);
  if (state.thread_index() == 0) {
    uintmax_t wal_bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(bench_dir + "/wal")) {
      wal_bytes += e.file_size();
    }
    state.counters["wal_bytes_per_span"] =
        static_cast<double>(wal_bytes) / static_cast<double>(bench_db->Stats().spans);
    bench_db.reset();
    std::filesystem::remove_all(bench_dir);
  }
}
BENCHMARK(BM_TraceDB_Write)->Threads(1)->Threads(4)->UseRealTime();

void BM_TraceDB_Read(benchmark::State& state) {
  bench_db = OpenFresh(state);
  if (bench_db == nullptr) return;
  const uint64_t traces = static_cast<uint64_t>(state.range(0));
  for (uint64_t t = 1; t <= traces; t += 50) {
    std::vector<ResourceSpans> batch;
    for (uint64_t i = t; i < t + 50 && i <= traces; ++i) batch.push_back(MakeTrace(i));
    if (!bench_db->Write(batch).ok()) state.SkipWithError("write failed");
  }
  uint64_t n = 0;
  for (auto _ : state) {
    if (state.range(1) == 0) {
      benchmark::DoNotOptimize(bench_db->GetTrace(Id(++n % traces + 1, 16)));
    } else {
      TraceQuery query{.service = "service-3", .tags = {{"attribute.key.0", "value-42"}}};
      benchmark::DoNotOptimize(bench_db->FindTraces(query));
    }
  }
  bench_db.reset();
  std::filesystem::remove_all(bench_dir);
}
// (traces, 0 = GetTrace / 1 = FindTraces with a tag)
BENCHMARK(BM_TraceDB_Read)->Args({10000, 0})->Args({10000, 1});

}  // namespace
}  // namespace oriel::tracestore

BENCHMARK_MAIN();
