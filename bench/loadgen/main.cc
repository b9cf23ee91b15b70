// oriel-loadgen: simulates a fleet (node_exporter-like hosts) and a multi-service application,
// and sends their telemetry to a target: Prometheus remote_write 1.0/2.0, OTLP traces, metrics
// and logs (HTTP protobuf, HTTP JSON or gRPC), Loki push; and/or serves the fleet's series as a
// scrape target (--exporter-listen). Reports what was sent, acknowledged and rejected every
// --report-every seconds and at the end (text on stderr, or one JSON object on stdout with
// --json).
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "base/status.h"
#include "fmt/format.h"
#include "loadgen/exporter_server.h"
#include "loadgen/exposition.h"
#include "loadgen/grpc_sender.h"
#include "loadgen/loki_encoder.h"
#include "loadgen/node_series.h"
#include "loadgen/otlp_encoder.h"
#include "loadgen/otlp_json.h"
#include "loadgen/otlp_metrics_generator.h"
#include "loadgen/remote_write_encoder.h"
#include "loadgen/send_stats.h"
#include "loadgen/sender.h"
#include "loadgen/trace_generator.h"
#include "loadgen/trace_id_sample.h"

namespace oriel::loadgen {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string target = "http://127.0.0.1:9090";
  std::string otlp_target;  // defaults to target
  std::string remote_write_path = "/api/v1/write";
  std::string otlp_protocol = "http-protobuf";  // or http-json, grpc
  std::string otlp_grpc_target = "127.0.0.1:4317";
  std::string exporter_listen;  // host:port; empty: no scrape target
  std::string trace_ids_out;    // file for a sample of the sent trace ids; empty: none
  int64_t trace_ids_sample = 1000;
  std::string signals = "metrics,traces";
  double rate = -1;  // samples/s; -1: one scrape round per interval, 0: unlimited
  double trace_rate = 20;
  int64_t series = 10000;
  int services = 8;
  double duration = 60;
  int64_t ticks = 0;
  int64_t max_traces = 0;
  uint64_t seed = 1;
  int concurrency = 4;
  int remote_write_version = 1;
  int64_t batch = 2000;
  int64_t trace_batch = 10;
  double interval = 15;
  double error_rate = 0.02;
  int64_t incident_period_s = TraceOptions{}.incident_period_s;
  double report_every = 10;
  double timeout = 30;
  bool json = false;
};

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sleeps until `items` at `rate` per second are due since `start`, or the run stops.
void Pace(Clock::time_point start, double items, double rate, const std::atomic<bool>& stop) {
  if (rate <= 0) return;
  const auto due = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(items / rate));
  while (!stop.load() && Clock::now() < due) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(100)));
  }
}

// Where OTLP requests go: OTLP/HTTP with a protobuf or JSON body, or OTLP/gRPC.
class OtlpOut {
 public:
  OtlpOut(const Flags& flags, Sender& http, GrpcSender* grpc)
      : base_(flags.otlp_target.empty() ? flags.target : flags.otlp_target),
        json_(flags.otlp_protocol == "http-json"),
        http_(http),
        grpc_(grpc) {}

  // `path` is the OTLP/HTTP path ("/v1/traces"); gRPC picks the service by the request type.
  template <typename Request>
  void Send(Signal signal, const char* path, Request request, int64_t items) {
    if (grpc_ != nullptr) {
      grpc_->Submit({signal, std::move(request), items});
      return;
    }
    if (!json_) {
      http_.Submit(
          {signal, base_ + path, OtlpProtobufHeaders(), request.SerializeAsString(), items});
      return;
    }
    absl::StatusOr<std::string> body = ToOtlpJson(request);
    if (!body.ok()) {
      // Cannot happen for generated messages; say so rather than send something else.
      fmt::print(stderr, "{}\n", body.status().message());
      return;
    }
    http_.Submit({signal, base_ + path, OtlpJsonHeaders(), std::move(*body), items});
  }

 private:
  const std::string base_;
  const bool json_;
  Sender& http_;
  GrpcSender* grpc_;
};

void RunMetrics(const Flags& flags, Sender& sender, const std::atomic<bool>& stop) {
  NodeSeriesSet set({.series = flags.series, .seed = flags.seed});
  const double realtime_rate = static_cast<double>(flags.series) / flags.interval;
  const double rate = flags.rate < 0 ? realtime_rate : flags.rate;
  // Faster than real time, samples are backfilled from the past so that they do not run far into
  // the future: all of --ticks when given (in time order, which every peer's head accepts),
  // otherwise up to an hour.
  double ahead_s = 0;
  if (rate == 0 || rate > realtime_rate * 1.01) {
    if (flags.ticks > 0) {
      ahead_s = static_cast<double>(flags.ticks) * flags.interval;
    } else {
      const double ticks = rate > 0 ? flags.duration * rate / std::max<double>(1, flags.series)
                                    : 3600 / flags.interval;
      ahead_s = std::min(ticks * flags.interval, 3600.0);
    }
  }
  const int64_t t0_ms = NowUnixMs() - static_cast<int64_t>(ahead_s * 1000);
  const std::string url = flags.target + flags.remote_write_path;
  const auto start = Clock::now();
  double sent = 0;
  for (int64_t tick = 0; !stop.load() && (flags.ticks == 0 || tick < flags.ticks); ++tick) {
    if (tick > 0) set.Advance();
    const int64_t ts = t0_ms + static_cast<int64_t>(tick * flags.interval * 1000);
    for (size_t begin = 0; begin < set.size() && !stop.load();
         begin += static_cast<size_t>(flags.batch)) {
      const size_t end = std::min(set.size(), begin + static_cast<size_t>(flags.batch));
      RemoteWriteBody body = flags.remote_write_version == 2
                                 ? EncodeRemoteWrite(BuildWriteRequestV2(set, begin, end, ts))
                                 : EncodeRemoteWrite(BuildWriteRequestV1(set, begin, end, ts));
      // Batch i of every tick holds the same series: one shard keeps them in time order.
      sender.Submit({Signal::kMetrics, url, std::move(body.headers), std::move(body.body),
                     static_cast<int64_t>(end - begin),
                     static_cast<int>(begin / static_cast<size_t>(flags.batch))});
      sent += static_cast<double>(end - begin);
      Pace(start, sent, rate, stop);
    }
    if (set.size() == 0) Pace(start, tick + 1, 1 / flags.interval, stop);
  }
}

// `sample`, when not null, is offered every trace whose spans, logs or Loki entries were sent.
void RunTraces(const Flags& flags, bool send_traces, bool send_logs, bool send_loki, Sender& sender,
               OtlpOut& otlp, TraceIdSample* sample, const std::atomic<bool>& stop) {
  TraceGenerator generator({.services = flags.services,
                            .error_rate = flags.error_rate,
                            .incident_period_s = flags.incident_period_s,
                            .seed = flags.seed});
  const std::string base = flags.otlp_target.empty() ? flags.target : flags.otlp_target;
  const auto start = Clock::now();
  int64_t made = 0;
  std::vector<GeneratedTrace> batch;
  while (!stop.load() && (flags.max_traces == 0 || made < flags.max_traces)) {
    batch.clear();
    while (static_cast<int64_t>(batch.size()) < flags.trace_batch &&
           (flags.max_traces == 0 || made < flags.max_traces)) {
      batch.push_back(generator.Next(NowUnixMs() * 1'000'000));
      ++made;
    }
    if (send_traces) {
      auto request = BuildTraceRequest(generator, batch);
      const int64_t spans = CountSpans(request);
      otlp.Send(Signal::kTraces, "/v1/traces", std::move(request), spans);
    }
    if (send_logs) {
      auto request = BuildLogsRequest(generator, batch);
      const int64_t records = CountLogRecords(request);
      otlp.Send(Signal::kLogs, "/v1/logs", std::move(request), records);
    }
    if (send_loki) {
      auto request = BuildLokiPush(generator, batch);
      const int64_t entries = CountLokiEntries(request);
      LokiBody body = EncodeLokiPush(request);
      sender.Submit({Signal::kLoki, base + "/loki/api/v1/push", std::move(body.headers),
                     std::move(body.body), entries});
    }
    if (sample != nullptr) {
      for (const GeneratedTrace& trace : batch) sample->Add(trace, generator);
    }
    Pace(start, static_cast<double>(made), flags.trace_rate, stop);
  }
}

// OTLP metrics go out once per interval, in real time, like an SDK's periodic reader.
void RunOtlpMetrics(const Flags& flags, OtlpOut& otlp, const std::atomic<bool>& stop) {
  TraceGenerator traces({.services = flags.services, .seed = flags.seed});
  OtlpMetricsGenerator generator(traces, flags.seed, NowUnixMs() * 1'000'000);
  const auto start = Clock::now();
  for (int64_t round = 0; !stop.load(); ++round) {
    auto request = generator.Next(NowUnixMs() * 1'000'000);
    const int64_t points = OtlpMetricsGenerator::CountPoints(request);
    otlp.Send(Signal::kOtlpMetrics, "/v1/metrics", std::move(request), points);
    Pace(start, static_cast<double>(round + 1), 1 / flags.interval, stop);
  }
}

// The fleet's series as a scrape target: values move one interval at a time, in real time, and
// every scrape sees the latest ones.
class Exporter {
 public:
  explicit Exporter(const Flags& flags)
      : set_({.series = flags.series, .seed = flags.seed}), writer_(set_) {}

  absl::Status Listen(const std::string& address) {
    absl::StatusOr<std::unique_ptr<ExporterServer>> server = ExporterServer::Start(address, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      return writer_.Render();
    });
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }
  int port() const { return server_->port(); }
  size_t series() const { return set_.size(); }
  int64_t scrapes() const { return server_ ? server_->scrapes() : 0; }

  void Run(double interval, const std::atomic<bool>& stop) {
    const auto start = Clock::now();
    for (int64_t tick = 1; !stop.load(); ++tick) {
      Pace(start, static_cast<double>(tick), 1 / interval, stop);
      if (stop.load()) break;
      std::lock_guard<std::mutex> lock(mu_);
      set_.Advance();
    }
    server_->Stop();
  }

 private:
  std::mutex mu_;
  NodeSeriesSet set_;
  ExpositionWriter writer_;
  std::unique_ptr<ExporterServer> server_;
};

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"oriel-loadgen: sends a simulated fleet's and application's telemetry"};
  app.add_option("--target", flags.target, "Base URL of the receiver")->capture_default_str();
  app.add_option("--otlp-target", flags.otlp_target,
                 "Base URL for OTLP/HTTP and Loki push (default: --target)");
  app.add_option("--remote-write-path", flags.remote_write_path, "Path of remote_write")
      ->capture_default_str();
  app.add_option("--otlp-protocol", flags.otlp_protocol,
                 "OTLP transport: http-protobuf, http-json (to --otlp-target) or grpc (to "
                 "--otlp-grpc-target)")
      ->capture_default_str()
      ->check(CLI::IsMember({"http-protobuf", "http-json", "grpc"}));
  app.add_option("--otlp-grpc-target", flags.otlp_grpc_target,
                 "host:port of the OTLP/gRPC receiver (--otlp-protocol grpc)")
      ->capture_default_str();
  app.add_option("--exporter-listen", flags.exporter_listen,
                 "Serve --series node_exporter-like series on host:port/metrics to be scraped "
                 "(values move every --interval)");
  app.add_option("--trace-ids-out", flags.trace_ids_out,
                 "At the end, write a sample of the sent trace ids to this file, one trace a line: "
                 "hex id, root service and root operation, tab-separated");
  app.add_option("--trace-ids-sample", flags.trace_ids_sample,
                 "Trace ids in the --trace-ids-out sample (uniform over all sent traces)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  app.add_option("--signals", flags.signals,
                 "Comma-separated: metrics (remote_write), otlp-metrics, traces, logs (OTLP), loki "
                 "(push); none to only serve --exporter-listen")
      ->capture_default_str();
  app.add_option("--rate", flags.rate,
                 "Metric samples per second; 0 unlimited; default one scrape round per interval");
  app.add_option("--trace-rate", flags.trace_rate, "Traces per second; 0 unlimited")
      ->capture_default_str();
  app.add_option("--series", flags.series, "Active series")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app.add_option("--services", flags.services, "Services in the application, frontend included")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  app.add_option("--duration", flags.duration, "Seconds to run; 0 until interrupted")
      ->capture_default_str();
  app.add_option("--ticks", flags.ticks, "Stop metrics after this many scrape rounds; 0 no limit");
  app.add_option("--traces", flags.max_traces, "Stop traces after this many; 0 no limit");
  app.add_option("--seed", flags.seed, "Seed of the simulated workload")->capture_default_str();
  app.add_option("--concurrency", flags.concurrency, "Parallel HTTP connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--remote-write-version", flags.remote_write_version, "1 (1.0) or 2 (2.0)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2}));
  app.add_option("--batch", flags.batch, "Samples per remote_write request")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  app.add_option("--trace-batch", flags.trace_batch, "Traces per OTLP request")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  app.add_option("--interval", flags.interval, "Scrape interval in seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--error-rate", flags.error_rate, "Share of traces that fail")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--incident-period", flags.incident_period_s,
                 "Seconds of span time between incidents, in which one service is 5x slower and "
                 "fails a quarter of its traces for a minute (windows of the wall clock); 0: none, "
                 "so that a load does not depend on when it runs")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--report-every", flags.report_every, "Seconds between progress reports; 0 none")
      ->capture_default_str();
  app.add_option("--timeout", flags.timeout, "Seconds per request")->capture_default_str();
  app.add_flag("--json", flags.json, "Print the final report as JSON on stdout");
  bool print_value_entropy = false;
  app.add_flag("--print-value-entropy", print_value_entropy,
               "Print the information in the --series fleet's values per sample (a lower bound "
               "of bytes/sample for any lossless store) and exit");
  CLI11_PARSE(app, argc, argv);

  if (print_value_entropy) {
    const NodeSeriesSet set({.series = flags.series, .seed = flags.seed});
    double bits = 0;
    for (size_t i = 0; i < set.size(); ++i) bits += set.ValueEntropyBits(i);
    const double per_sample = set.size() == 0 ? 0 : bits / static_cast<double>(set.size());
    fmt::print("{{\"series\":{},\"bits_per_sample\":{:.4f},\"bytes_per_sample\":{:.4f}}}\n",
               set.size(), per_sample, per_sample / 8);
    return 0;
  }

  bool metrics = false, traces = false, logs = false, otlp_metrics = false, loki = false;
  for (size_t pos = 0; pos <= flags.signals.size();) {
    size_t comma = flags.signals.find(',', pos);
    if (comma == std::string::npos) comma = flags.signals.size();
    const std::string s = flags.signals.substr(pos, comma - pos);
    if (s == "metrics") {
      metrics = true;
    } else if (s == "traces") {
      traces = true;
    } else if (s == "logs") {
      logs = true;
    } else if (s == "otlp-metrics") {
      otlp_metrics = true;
    } else if (s == "loki") {
      loki = true;
    } else if (!s.empty() && s != "none") {
      fmt::print(stderr,
                 "cannot parse --signals: unknown signal \"{}\" (want metrics, otlp-metrics, "
                 "traces, logs, loki, none)\n",
                 s);
      return 2;
    }
    pos = comma + 1;
  }
  for (std::string* url : {&flags.target, &flags.otlp_target}) {
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      fmt::print(stderr, "cannot parse target URL \"{}\": want http://host:port\n", *url);
      return 2;
    }
    while (!url->empty() && url->back() == '/') url->pop_back();
  }

  std::unique_ptr<Exporter> exporter;
  if (!flags.exporter_listen.empty()) {
    exporter = std::make_unique<Exporter>(flags);
    if (absl::Status status = exporter->Listen(flags.exporter_listen); !status.ok()) {
      fmt::print(stderr, "{}\n", status.message());
      return 2;
    }
    fmt::print(stderr, "exporter: serving {} series on port {} (/metrics), moving every {} s\n",
               exporter->series(), exporter->port(), flags.interval);
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  SendStats stats;
  std::unique_ptr<TraceIdSample> trace_ids;
  if (!flags.trace_ids_out.empty()) {
    trace_ids =
        std::make_unique<TraceIdSample>(static_cast<size_t>(flags.trace_ids_sample), flags.seed);
  }
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  {
    Sender sender(flags.concurrency, static_cast<size_t>(flags.concurrency) * 2, flags.timeout,
                  &stats);
    std::unique_ptr<GrpcSender> grpc;
    if (flags.otlp_protocol == "grpc") {
      grpc = std::make_unique<GrpcSender>(flags.otlp_grpc_target, flags.concurrency,
                                          static_cast<size_t>(flags.concurrency) * 2, flags.timeout,
                                          &stats);
    }
    OtlpOut otlp(flags, sender, grpc.get());
    std::atomic<int> running{0};
    std::vector<std::thread> producers;
    if (metrics) {
      ++running;
      producers.emplace_back([&] {
        RunMetrics(flags, sender, stop);
        --running;
      });
    }
    if (traces || logs || loki) {
      ++running;
      producers.emplace_back([&] {
        RunTraces(flags, traces, logs, loki, sender, otlp, trace_ids.get(), stop);
        --running;
      });
    }
    if (otlp_metrics) {
      ++running;
      producers.emplace_back([&] {
        RunOtlpMetrics(flags, otlp, stop);
        --running;
      });
    }
    if (exporter) {
      ++running;
      producers.emplace_back([&] {
        exporter->Run(flags.interval, stop);
        --running;
      });
    }
    double next_report = flags.report_every;
    while (running.load() > 0 && !g_interrupted.load() &&
           (flags.duration <= 0 || elapsed() < flags.duration)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (flags.report_every > 0 && elapsed() >= next_report) {
        fmt::print(stderr, "[{:.0f}s]\n{}", elapsed(), FormatText(stats.Snapshot(), elapsed()));
        next_report += flags.report_every;
      }
    }
    stop.store(true);
    for (std::thread& t : producers) t.join();
    sender.Close();
    if (grpc) grpc->Close();
  }
  const StatsSnapshot final_stats = stats.Snapshot();
  fmt::print(stderr, "[done after {:.1f}s]\n{}", elapsed(), FormatText(final_stats, elapsed()));
  std::string json = FormatJson(final_stats, elapsed());
  if (exporter) {
    fmt::print(stderr, "exporter: served {} scrapes of {} series\n", exporter->scrapes(),
               exporter->series());
    json.pop_back();  // the closing brace
    json += fmt::format(",\"exporter\":{{\"scrapes\":{},\"series\":{}}}}}", exporter->scrapes(),
                        exporter->series());
  }
  if (flags.json) fmt::print("{}\n", json);
  curl_global_cleanup();
  if (trace_ids) {
    if (absl::Status status = trace_ids->WriteFile(flags.trace_ids_out); !status.ok()) {
      fmt::print(stderr, "{}\n", status.message());
      return 1;
    }
    fmt::print(stderr, "wrote {} of {} sent trace ids to {}\n", trace_ids->traces().size(),
               trace_ids->offered(), flags.trace_ids_out);
  }
  return 0;
}

}  // namespace
}  // namespace oriel::loadgen

int main(int argc, char** argv) { return oriel::loadgen::Main(argc, argv); }
