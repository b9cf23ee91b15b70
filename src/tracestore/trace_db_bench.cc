// Trace store benchmarks with realistic spans: 5-50 spans per trace over 2-6 services, 10-30
// attributes per span (low- and high-cardinality values: routes, status codes, user and order
// ids, URLs with ids, peer addresses), random 16/8-byte ids, exceptions on some spans.
//  - BM_TraceDB_Write: Write throughput (WAL, fsync'd) per writer thread, head only.
//  - BM_TraceDB_WriteEncoded: the same of batches read in place, as the OTLP receivers make them.
//  - BM_WalRecord_Encode: compressed WAL record encoding (compaction's) alone.
//  - BM_TraceDB_Flush: cutting a head into a segment; on-disk bytes per span.
//  - BM_TraceDB_GetTraceDuringFlush: GetTrace latency while a flush runs.
//  - BM_TraceDB_Read: GetTrace / FindTraces latency over a store whose spans are in segments.
//    Its span count is the first argument; ORIEL_BENCH_SPANS overrides it (e.g. 10000000).
// ORIEL_BENCH_BLOCK_BYTES and ORIEL_BENCH_ZSTD_LEVEL override the segment block options.
// The store lives under $TMPDIR.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "fmt/format.h"
#include "tracestore/encoded_spans.h"
#include "tracestore/trace_db.h"
#include "tracestore/wal_record.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

constexpr int64_t kBase = int64_t{1'700'000'000} * 1'000'000'000;
constexpr int kServices = 20;

void Str(google::protobuf::RepeatedPtrField<KeyValue>* attrs, std::string key, std::string value) {
  KeyValue* kv = attrs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}
void Int(google::protobuf::RepeatedPtrField<KeyValue>* attrs, std::string key, int64_t value) {
  KeyValue* kv = attrs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

// Generates traces; trace_ids() remembers every id for lookups.
class TraceGenerator {
 public:
  explicit TraceGenerator(uint64_t seed) : rng_(seed) {}

  // One trace as one ResourceSpans per service (as the services' SDKs would send them).
  std::vector<ResourceSpans> Next(int64_t start) {
    const std::string trace_id = RandomBytes(rng_, 16);
    ids_.push_back(trace_id);
    const int spans = 5 + static_cast<int>(rng_() % 46);
    const int services = 2 + static_cast<int>(rng_() % 5);
    const int first_service = static_cast<int>(rng_() % kServices);
    std::vector<ResourceSpans> out(static_cast<size_t>(services));
    for (int s = 0; s < services; ++s) {
      const int svc = (first_service + s) % kServices;
      auto* attrs = out[static_cast<size_t>(s)].mutable_resource()->mutable_attributes();
      Str(attrs, "service.name", fmt::format("service-{}", svc));
      Str(attrs, "service.version", "1.4.2");
      Str(attrs, "host.name", fmt::format("ip-10-0-{}-{}", svc, rng_() % 4));
      Int(attrs, "process.pid", 1000 + svc);
      Str(attrs, "telemetry.sdk.name", "opentelemetry");
      Str(attrs, "telemetry.sdk.language", "nodejs");
      Str(attrs, "telemetry.sdk.version", "1.25.1");
      Str(attrs, "deployment.environment", "production");
      out[static_cast<size_t>(s)].add_scope_spans()->mutable_scope()->set_name(
          "@opentelemetry/instrumentation-http");
    }
    std::vector<std::string> span_ids;
    std::vector<int64_t> starts;
    for (int i = 0; i < spans; ++i) {
      const int s = i == 0 ? 0 : static_cast<int>(rng_() % static_cast<uint64_t>(services));
      const int svc = (first_service + s) % kServices;
      Span* span = out[static_cast<size_t>(s)].mutable_scope_spans(0)->add_spans();
      span->set_trace_id(trace_id);
      span_ids.push_back(RandomBytes(rng_, 8));
      span->set_span_id(span_ids.back());
      const int parent = i == 0 ? -1 : static_cast<int>(rng_() % static_cast<uint64_t>(i));
      if (parent >= 0) span->set_parent_span_id(span_ids[static_cast<size_t>(parent)]);
      const int op = static_cast<int>(rng_() % 12);
      span->set_name(fmt::format("{} /api/v1/{}/{}", op % 3 == 0 ? "POST" : "GET", svc, op));
      span->set_kind(i == 0 ? Span::SPAN_KIND_SERVER : static_cast<Span::SpanKind>(1 + rng_() % 3));
      const int64_t begin = parent < 0 ? start
                                       : starts[static_cast<size_t>(parent)] +
                                             static_cast<int64_t>(rng_() % 5'000'000);
      starts.push_back(begin);
      // Log-uniform-ish durations from 10us to ~1s.
      const int64_t duration = int64_t{10'000} << (rng_() % 17);
      span->set_start_time_unix_nano(static_cast<uint64_t>(begin));
      span->set_end_time_unix_nano(
          static_cast<uint64_t>(begin + duration + static_cast<int64_t>(rng_() % 10'000)));
      auto* a = span->mutable_attributes();
      const int n_attrs = 10 + static_cast<int>(rng_() % 21);
      const uint64_t user = rng_() % 100'000;
      for (int k = 0; k < n_attrs; ++k) {
        switch (k) {
          case 0:
            Str(a, "http.method", op % 3 == 0 ? "POST" : "GET");
            break;
          case 1:
            Int(a, "http.status_code", rng_() % 20 == 0 ? 500 : 200);
            break;
          case 2:
            Str(a, "http.route", fmt::format("/api/v1/{}/{}", svc, op));
            break;
          case 3:
            Str(a, "http.url",
                fmt::format("https://shop.example.com/api/v1/{}/{}?id={}", svc, op,
                            rng_() % 1'000'000));
            break;
          case 4:
            Str(a, "net.peer.ip", fmt::format("10.0.{}.{}", rng_() % 4, rng_() % 250));
            break;
          case 5:
            Int(a, "net.peer.port", 30000 + static_cast<int64_t>(rng_() % 30000));
            break;
          case 6:
            Str(a, "user.id", fmt::format("user-{}", user));
            break;
          case 7:
            Str(a, "http.user_agent",
                rng_() % 2 ? "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0" : "okhttp/4.12.0");
            break;
          case 8:
            Str(a, "http.flavor", "1.1");
            break;
          case 9:
            Int(a, "http.response_content_length", static_cast<int64_t>(rng_() % 20000));
            break;
          case 10:
            Str(a, "db.system", "postgresql");
            break;
          case 11:
            Str(a, "db.statement", fmt::format("SELECT * FROM items WHERE id = ${}", op));
            break;
          case 12:
            Str(a, "order.id", fmt::format("ord_{:x}", rng_() % 100'000'000));
            break;
          case 13:
            Int(a, "thread.id", static_cast<int64_t>(rng_() % 64));
            break;
          case 14:
            Str(a, "region", rng_() % 2 ? "eu-west-1" : "us-east-1");
            break;
          case 15:
            Int(a, "retry.count", static_cast<int64_t>(rng_() % 3));
            break;
          case 16:
            Str(a, "cache.hit", rng_() % 2 ? "true" : "false");
            break;
          case 17:
            Str(a, "feature.flag", fmt::format("checkout-v{}", rng_() % 3));
            break;
          case 18:
            Str(a, "messaging.system", "kafka");
            break;
          case 19:
            Str(a, "tenant", fmt::format("tenant-{}", user % 50));
            break;
          default:
            Str(a, fmt::format("app.custom.{}", k), fmt::format("v{}", rng_() % 20));
            break;
        }
      }
      if (rng_() % 20 == 0) {
        auto* event = span->add_events();
        event->set_name("exception");
        event->set_time_unix_nano(static_cast<uint64_t>(begin + duration / 2));
        Str(event->mutable_attributes(), "exception.type", "TimeoutError");
        Str(event->mutable_attributes(), "exception.message",
            fmt::format("upstream timed out after {}ms", rng_() % 5000));
        span->mutable_status()->set_code(
            opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
      }
      ++spans_;
    }
    return out;
  }

  const std::vector<std::string>& trace_ids() const { return ids_; }
  uint64_t spans() const { return spans_; }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> ids_;
  uint64_t spans_ = 0;
};

std::string FreshDir() {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("trace_db_bench_" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  return dir;
}

TraceDBOptions BenchOptions() {
  TraceDBOptions options;
  options.retention_nano = 0;
  options.maintenance_interval_nano = 0;
  options.flush_bytes = 0;
  options.flush_age_nano = 0;
  if (const char* env = std::getenv("ORIEL_BENCH_BLOCK_BYTES")) {
    options.segment_block_bytes = std::strtoull(env, nullptr, 10);
  }
  if (const char* env = std::getenv("ORIEL_BENCH_ZSTD_LEVEL")) {
    options.segment_zstd_level = std::atoi(env);
  }
  return options;
}

uintmax_t DirBytes(const std::string& dir) {
  uintmax_t bytes = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) bytes += e.file_size();
  return bytes;
}

std::unique_ptr<TraceDB> bench_db;
std::string bench_dir;

void BM_TraceDB_Write(benchmark::State& state) {
  if (state.thread_index() == 0) {
    bench_dir = FreshDir();
    auto db = TraceDB::Open(bench_dir, BenchOptions());
    if (!db.ok()) state.SkipWithError("cannot open the trace store");
    bench_db = db.ok() ? std::move(*db) : nullptr;
  }
  TraceGenerator gen(static_cast<uint64_t>(state.thread_index()) + 1);
  int64_t start = kBase;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<ResourceSpans> batch = gen.Next(start += 1'000'000);
    state.ResumeTiming();
    if (!bench_db->Write(batch).ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(gen.spans()));
  if (state.thread_index() == 0) {
    state.counters["wal_bytes_per_span"] = static_cast<double>(DirBytes(bench_dir + "/wal")) /
                                           static_cast<double>(bench_db->Stats().spans);
    bench_db.reset();
    std::filesystem::remove_all(bench_dir);
  }
}
BENCHMARK(BM_TraceDB_Write)->Threads(1)->Threads(2)->UseRealTime();

// Write throughput of batches as the OTLP receivers hand them over: read in place from their
// encodings (20 traces per batch), not decoded.
void BM_TraceDB_WriteEncoded(benchmark::State& state) {
  const std::string dir = FreshDir();
  auto db = TraceDB::Open(dir, BenchOptions());
  if (!db.ok()) {
    state.SkipWithError("cannot open the trace store");
    return;
  }
  TraceGenerator gen(3);
  int64_t start = kBase;
  uint64_t spans = 0;
  std::vector<std::string> encodings;
  for (auto _ : state) {
    state.PauseTiming();
    const uint64_t before = gen.spans();
    encodings.clear();
    for (int i = 0; i < 20; ++i) {
      for (auto& rs : gen.Next(start += 1'000'000)) encodings.push_back(rs.SerializeAsString());
    }
    spans += gen.spans() - before;
    state.ResumeTiming();
    SpanBatch batch;
    for (const std::string& e : encodings) {
      if (!ReadEncodedResourceSpans(e, &batch.read.emplace_back()).ok()) {
        state.SkipWithError("cannot read the batch");
      }
    }
    if (!(*db)->WriteBatch(batch).ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(spans));
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TraceDB_WriteEncoded)->UseRealTime();

// Encoding compressed WAL records, as compaction rewrites them (the write path appends the
// received bytes as they are), one per ResourceSpans of 20-trace batches: spans/s and record bytes
// per span.
void BM_WalRecord_Encode(benchmark::State& state) {
  TraceGenerator gen(7);
  int64_t start = kBase;
  std::vector<std::string> serialized;
  for (int b = 0; b < 50; ++b) {
    for (int i = 0; i < 20; ++i) {
      for (auto& rs : gen.Next(start += 1'000'000)) serialized.push_back(rs.SerializeAsString());
    }
  }
  const uint64_t spans_per_round = gen.spans();
  uint64_t bytes = 0;
  uint64_t rounds = 0;
  for (auto _ : state) {
    for (const std::string& rs : serialized) bytes += EncodeSerializedWalRecord(rs).size();
    ++rounds;
  }
  state.SetItemsProcessed(static_cast<int64_t>(rounds * spans_per_round));
  state.counters["record_bytes_per_span"] =
      static_cast<double>(bytes) / static_cast<double>(rounds * spans_per_round);
}
BENCHMARK(BM_WalRecord_Encode)->Unit(benchmark::kMillisecond);

// Flushing a head of state.range(0) traces: spans/s and segment bytes per span.
void BM_TraceDB_Flush(benchmark::State& state) {
  const std::string dir = FreshDir();
  auto db = TraceDB::Open(dir, BenchOptions());
  if (!db.ok()) {
    state.SkipWithError("cannot open the trace store");
    return;
  }
  TraceGenerator gen(42);
  int64_t start = kBase;
  uint64_t spans = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const uint64_t before = gen.spans();
    for (int64_t t = 0; t < state.range(0); t += 50) {
      std::vector<ResourceSpans> batch;
      for (int i = 0; i < 50; ++i) {
        for (auto& rs : gen.Next(start += 1'000'000)) batch.push_back(std::move(rs));
      }
      if (!(*db)->Write(batch).ok()) state.SkipWithError("write failed");
    }
    spans += gen.spans() - before;
    state.ResumeTiming();
    if (!(*db)->Flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(spans));
  const auto stats = (*db)->Stats();
  state.counters["segment_bytes_per_span"] =
      static_cast<double>(stats.segment_bytes) / static_cast<double>(stats.segment_spans);
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TraceDB_Flush)->Arg(5000)->Unit(benchmark::kMillisecond);

// Trace lookups (GetTrace of random stored traces, most of them in segments) in a loop while a
// head of state.range(0) traces (8000: ~220k spans, about what a 128 MiB head holds) is flushed:
// the time is the flush's; the counters are the slowest lookup and the 99th percentile (ms), which
// the flush's exclusive lock holds set.
void BM_TraceDB_GetTraceDuringFlush(benchmark::State& state) {
  const std::string dir = FreshDir();
  auto db = TraceDB::Open(dir, BenchOptions());
  if (!db.ok()) {
    state.SkipWithError("cannot open the trace store");
    return;
  }
  TraceGenerator gen(11);
  int64_t start = kBase;
  std::vector<double> latencies_ms;
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    state.PauseTiming();
    for (int64_t t = 0; t < state.range(0); t += 50) {
      std::vector<ResourceSpans> batch;
      for (int i = 0; i < 50; ++i) {
        for (auto& rs : gen.Next(start += 1'000'000)) batch.push_back(std::move(rs));
      }
      if (!(*db)->Write(batch).ok()) state.SkipWithError("write failed");
    }
    state.ResumeTiming();
    std::atomic<bool> done{false};
    std::atomic<bool> failed{false};
    std::thread flusher([&] {
      if (!(*db)->Flush().ok()) failed = true;
      done = true;
    });
    const auto& ids = gen.trace_ids();
    while (!done) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!(*db)->GetTrace(ids[rng() % ids.size()]).has_value()) {
        state.SkipWithError("trace not found");
      }
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    flusher.join();
    if (failed) state.SkipWithError("flush failed");
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  if (!latencies_ms.empty()) {
    state.counters["lookups"] = static_cast<double>(latencies_ms.size());
    state.counters["lookup_p99_ms"] = latencies_ms[latencies_ms.size() * 99 / 100];
    state.counters["lookup_max_ms"] = latencies_ms.back();
  }
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TraceDB_GetTraceDuringFlush)
    ->Arg(8000)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

TraceGenerator* read_gen = nullptr;
double ingest_spans_per_second = 0;
double ingest_spans_per_cpu_second = 0;

// Removes the store the read benchmarks share when the process ends.
struct ReadStoreCleanup {
  ~ReadStoreCleanup() {
    bench_db.reset();
    if (!bench_dir.empty()) std::filesystem::remove_all(bench_dir);
  }
} read_store_cleanup;

// (spans, 0 = GetTrace of a random stored trace / 1 = FindTraces with a tag / 2 = FindTraces
// by service and operation / 3 = FindTraces of error=true, a tag the span status answers)
void BM_TraceDB_Read(benchmark::State& state) {
  uint64_t target = static_cast<uint64_t>(state.range(0));
  if (const char* env = std::getenv("ORIEL_BENCH_SPANS")) target = std::strtoull(env, nullptr, 10);
  if (bench_db == nullptr || read_gen == nullptr || read_gen->spans() < target) {
    bench_db.reset();
    delete read_gen;
    bench_dir = FreshDir();
    TraceDBOptions options = BenchOptions();
    options.flush_bytes = 64 << 20;
    auto db = TraceDB::Open(bench_dir, options);
    if (!db.ok()) {
      state.SkipWithError("cannot open the trace store");
      return;
    }
    bench_db = std::move(*db);
    read_gen = new TraceGenerator(7);
    int64_t start = kBase;
    // Ingest cost with flushes (batches of 50 traces, one fsync each), without generation.
    double ingest_cpu = 0;
    double ingest_wall = 0;
    while (read_gen->spans() < target) {
      std::vector<ResourceSpans> batch;
      for (int i = 0; i < 50; ++i) {
        for (auto& rs : read_gen->Next(start += 1'000'000)) batch.push_back(std::move(rs));
      }
      const std::clock_t cpu0 = std::clock();
      const auto wall0 = std::chrono::steady_clock::now();
      if (!bench_db->Write(batch).ok()) state.SkipWithError("write failed");
      if (!bench_db->Maintain().ok()) state.SkipWithError("maintain failed");
      ingest_cpu += static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
      ingest_wall +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    }
    if (!bench_db->Flush().ok()) state.SkipWithError("flush failed");
    ingest_spans_per_cpu_second = static_cast<double>(read_gen->spans()) / ingest_cpu;
    ingest_spans_per_second = static_cast<double>(read_gen->spans()) / ingest_wall;
  }
  std::mt19937_64 rng(1);
  const auto& ids = read_gen->trace_ids();
  for (auto _ : state) {
    if (state.range(1) == 0) {
      auto trace = bench_db->GetTrace(ids[rng() % ids.size()]);
      if (!trace.has_value()) state.SkipWithError("trace not found");
    } else if (state.range(1) == 1) {
      TraceQuery query{.service = "service-3", .tags = {{"order.id", "ord_42"}}, .limit = 20};
      benchmark::DoNotOptimize(bench_db->FindTraces(query));
    } else if (state.range(1) == 2) {
      TraceQuery query{.service = "service-3", .operation = "GET /api/v1/3/4", .limit = 20};
      benchmark::DoNotOptimize(bench_db->FindTraces(query));
    } else {
      TraceQuery query{.service = "service-3", .tags = {{"error", "true"}}, .limit = 20};
      benchmark::DoNotOptimize(bench_db->FindTraces(query));
    }
  }
  const auto stats = bench_db->Stats();
  state.counters["spans"] = static_cast<double>(stats.spans);
  state.counters["ingest_spans_per_s"] = ingest_spans_per_second;
  state.counters["ingest_spans_per_cpu_s"] = ingest_spans_per_cpu_second;
  state.counters["segments"] = static_cast<double>(stats.segments);
  state.counters["segment_bytes_per_span"] =
      static_cast<double>(stats.segment_bytes) / static_cast<double>(stats.segment_spans);
}
BENCHMARK(BM_TraceDB_Read)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->Args({1'000'000, 3})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace oriel::tracestore

BENCHMARK_MAIN();
