// What the load generator sent and what the target answered, per signal: requests and items
// sent, acknowledged (HTTP 2xx, gRPC OK), rejected by status code (the HTTP status as a number,
// the gRPC code by name, e.g. "RESOURCE_EXHAUSTED"), transport failures, request latency. The
// report is text for people and JSON for bench/run.py.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace oriel::loadgen {

// kMetrics is remote_write, kLogs OTLP logs, kOtlpMetrics OTLP metrics, kLoki Loki push.
enum class Signal { kMetrics = 0, kTraces = 1, kLogs = 2, kOtlpMetrics = 3, kLoki = 4 };
inline constexpr int kNumSignals = 5;
// "metrics", "traces", "logs", "otlp_metrics", "loki".
const char* SignalName(Signal signal);
// What one item of the signal is: "samples", "spans", "records", "points", "entries".
const char* ItemName(Signal signal);

struct SignalTotals {
  int64_t requests_sent = 0;  // requests that got an answer or failed in transport
  int64_t items_sent = 0;
  int64_t bytes_sent = 0;
  int64_t requests_acked = 0;
  int64_t items_acked = 0;
  // By status: "404" for HTTP, "UNAVAILABLE" for gRPC (whose refused connections and deadlines
  // are statuses too, so they land here rather than under transport errors).
  std::map<std::string, int64_t> rejected_requests;
  std::map<std::string, int64_t> rejected_items;
  int64_t transport_errors = 0;  // no HTTP answer (refused, reset, timeout)
  int64_t transport_error_items = 0;
  std::string last_error;  // the latest rejection or transport error, with a body excerpt
  // Latency histogram: bucket b holds latencies below kLatencyBase * kLatencyFactor^b seconds.
  std::array<int64_t, 64> latency_buckets{};

  // Latency quantile in seconds (the upper bound of its bucket); 0 without requests.
  double LatencyQuantile(double q) const;
};

inline constexpr double kLatencyBase = 1e-4;
inline constexpr double kLatencyFactor = 1.25;

using StatsSnapshot = std::array<SignalTotals, kNumSignals>;

// Thread-safe accumulator, written by the sender threads.
class SendStats {
 public:
  // One finished request. `http_code` 0 means a transport error described by `error`; for a
  // rejection `error` is the start of the answer's body.
  void Record(Signal signal, int64_t items, int64_t bytes, int http_code, std::string_view error,
              double latency_seconds);
  // One finished gRPC call: `grpc_code` 0 (OK) is acknowledged, any other is rejected under its
  // name; `error` is the status message. An OK answer whose OTLP partial_success rejected
  // `partially_rejected` of the items counts those under "partial_success" (the request under
  // both acknowledged and "partial_success").
  void RecordGrpc(Signal signal, int64_t items, int64_t bytes, int grpc_code,
                  std::string_view error, double latency_seconds, int64_t partially_rejected = 0);
  StatsSnapshot Snapshot() const;

 private:
  // `rejected_as` empty: acknowledged (or a transport error when `transport`).
  void RecordOutcome(Signal signal, int64_t items, int64_t bytes, bool transport,
                     const std::string& rejected_as, std::string last_error, double latency,
                     int64_t partially_rejected = 0);

  mutable std::mutex mu_;
  StatsSnapshot totals_;
};

// A few lines per signal that was used, e.g. "metrics: sent 2000 samples in 1 requests, ...".
std::string FormatText(const StatsSnapshot& stats, double elapsed_seconds);
// One JSON object: {"elapsed_seconds":..,"signals":{"metrics":{...},...}} with every signal used.
std::string FormatJson(const StatsSnapshot& stats, double elapsed_seconds);
// The name of gRPC status code `code` ("OK", "UNAVAILABLE", ...), or "CODE_<n>" when unknown.
std::string GrpcCodeName(int code);
// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

}  // namespace oriel::loadgen
