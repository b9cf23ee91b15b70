#include "loadgen/send_stats.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/json.h"
#include "fmt/format.h"

namespace oriel::loadgen {

const char* SignalName(Signal signal) {
  switch (signal) {
    case Signal::kMetrics:
      return "metrics";
    case Signal::kTraces:
      return "traces";
    case Signal::kLogs:
      return "logs";
    case Signal::kOtlpMetrics:
      return "otlp_metrics";
    case Signal::kLoki:
      return "loki";
  }
  return "?";
}

const char* ItemName(Signal signal) {
  switch (signal) {
    case Signal::kMetrics:
      return "samples";
    case Signal::kTraces:
      return "spans";
    case Signal::kLogs:
      return "records";
    case Signal::kOtlpMetrics:
      return "points";
    case Signal::kLoki:
      return "entries";
  }
  return "?";
}

double SignalTotals::LatencyQuantile(double q) const {
  int64_t total = 0;
  for (int64_t n : latency_buckets) total += n;
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  int64_t seen = 0;
  for (size_t b = 0; b < latency_buckets.size(); ++b) {
    seen += latency_buckets[b];
    if (static_cast<double>(seen) >= rank) return kLatencyBase * std::pow(kLatencyFactor, b);
  }
  return kLatencyBase * std::pow(kLatencyFactor, latency_buckets.size() - 1);
}

void SendStats::Record(Signal signal, int64_t items, int64_t bytes, int http_code,
                       std::string_view error, double latency_seconds) {
  if (http_code >= 200 && http_code < 300) {
    RecordOutcome(signal, items, bytes, false, "", "", latency_seconds);
  } else if (http_code == 0) {
    RecordOutcome(signal, items, bytes, true, "", std::string(error), latency_seconds);
  } else {
    RecordOutcome(signal, items, bytes, false, std::to_string(http_code),
                  fmt::format("HTTP {}: {}", http_code, error), latency_seconds);
  }
}

void SendStats::RecordGrpc(Signal signal, int64_t items, int64_t bytes, int grpc_code,
                           std::string_view error, double latency_seconds,
                           int64_t partially_rejected) {
  if (grpc_code == 0) {
    partially_rejected = std::clamp<int64_t>(partially_rejected, 0, items);
    RecordOutcome(signal, items, bytes, false, "",
                  partially_rejected > 0
                      ? fmt::format("gRPC OK with partial_success: {} rejected: {}",
                                    partially_rejected, error)
                      : "",
                  latency_seconds, partially_rejected);
  } else {
    const std::string name = GrpcCodeName(grpc_code);
    RecordOutcome(signal, items, bytes, false, name, fmt::format("gRPC {}: {}", name, error),
                  latency_seconds);
  }
}

void SendStats::RecordOutcome(Signal signal, int64_t items, int64_t bytes, bool transport,
                              const std::string& rejected_as, std::string last_error,
                              double latency_seconds, int64_t partially_rejected) {
  size_t bucket = 0;
  double bound = kLatencyBase;
  while (bucket + 1 < SignalTotals{}.latency_buckets.size() && latency_seconds >= bound) {
    bound *= kLatencyFactor;
    ++bucket;
  }
  std::lock_guard<std::mutex> lock(mu_);
  SignalTotals& t = totals_[static_cast<int>(signal)];
  ++t.requests_sent;
  t.items_sent += items;
  t.bytes_sent += bytes;
  ++t.latency_buckets[bucket];
  if (transport) {
    ++t.transport_errors;
    t.transport_error_items += items;
    t.last_error = std::move(last_error);
  } else if (!rejected_as.empty()) {
    ++t.rejected_requests[rejected_as];
    t.rejected_items[rejected_as] += items;
    t.last_error = std::move(last_error);
  } else {
    ++t.requests_acked;
    t.items_acked += items - partially_rejected;
    if (partially_rejected > 0) {
      ++t.rejected_requests["partial_success"];
      t.rejected_items["partial_success"] += partially_rejected;
      t.last_error = std::move(last_error);
    }
  }
}

StatsSnapshot SendStats::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

std::string FormatText(const StatsSnapshot& stats, double elapsed_seconds) {
  std::string out;
  const double elapsed = elapsed_seconds > 0 ? elapsed_seconds : 1e-9;
  for (int s = 0; s < kNumSignals; ++s) {
    const SignalTotals& t = stats[s];
    if (t.requests_sent == 0) continue;
    const Signal signal = static_cast<Signal>(s);
    std::string rejected;
    for (const auto& [code, n] : t.rejected_requests) {
      rejected += fmt::format(" {}x{}", n, code);
    }
    out += fmt::format(
        "{}: sent {} {} in {} requests ({:.1f} MB), acknowledged {} ({:.0f} {}/s), rejected {}{}, "
        "transport errors {}, latency p50 {:.1f} ms p99 {:.1f} ms\n",
        SignalName(signal), t.items_sent, ItemName(signal), t.requests_sent, t.bytes_sent / 1e6,
        t.items_acked, static_cast<double>(t.items_acked) / elapsed, ItemName(signal),
        t.requests_sent - t.requests_acked - t.transport_errors,
        rejected.empty() ? "" : " (requests by code:" + rejected + ")", t.transport_errors,
        t.LatencyQuantile(0.5) * 1e3, t.LatencyQuantile(0.99) * 1e3);
    if (!t.last_error.empty()) out += fmt::format("  last error: {}\n", t.last_error);
  }
  if (out.empty()) out = "nothing sent yet\n";
  return out;
}

std::string GrpcCodeName(int code) {
  // The codes of grpc/include/grpcpp/impl/codegen/status_code_enum.h, which the gRPC
  // specification (doc/statuscodes.md) fixes.
  static constexpr std::array<const char*, 17> kNames = {"OK",
                                                         "CANCELLED",
                                                         "UNKNOWN",
                                                         "INVALID_ARGUMENT",
                                                         "DEADLINE_EXCEEDED",
                                                         "NOT_FOUND",
                                                         "ALREADY_EXISTS",
                                                         "PERMISSION_DENIED",
                                                         "RESOURCE_EXHAUSTED",
                                                         "FAILED_PRECONDITION",
                                                         "ABORTED",
                                                         "OUT_OF_RANGE",
                                                         "UNIMPLEMENTED",
                                                         "INTERNAL",
                                                         "UNAVAILABLE",
                                                         "DATA_LOSS",
                                                         "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(kNames.size())) return kNames[code];
  return fmt::format("CODE_{}", code);
}

std::string JsonQuote(std::string_view s) { return JsonString(s); }

std::string FormatJson(const StatsSnapshot& stats, double elapsed_seconds) {
  const double elapsed = elapsed_seconds > 0 ? elapsed_seconds : 1e-9;
  std::string signals;
  for (int s = 0; s < kNumSignals; ++s) {
    const SignalTotals& t = stats[s];
    if (t.requests_sent == 0) continue;
    std::string rejected;
    for (const auto& [code, n] : t.rejected_requests) {
      if (!rejected.empty()) rejected += ",";
      rejected += fmt::format("\"{}\":{{\"requests\":{},\"items\":{}}}", code, n,
                              t.rejected_items.at(code));
    }
    if (!signals.empty()) signals += ",";
    signals += fmt::format(
        "\"{}\":{{\"unit\":\"{}\",\"requests_sent\":{},\"items_sent\":{},\"bytes_sent\":{},"
        "\"requests_acked\":{},\"items_acked\":{},\"rejected\":{{{}}},\"transport_errors\":{},"
        "\"transport_error_items\":{},\"achieved_rate\":{:.3f},\"sent_rate\":{:.3f},"
        "\"latency_p50_seconds\":{:.6f},\"latency_p99_seconds\":{:.6f},\"last_error\":{}}}",
        SignalName(static_cast<Signal>(s)), ItemName(static_cast<Signal>(s)), t.requests_sent,
        t.items_sent, t.bytes_sent, t.requests_acked, t.items_acked, rejected, t.transport_errors,
        t.transport_error_items, static_cast<double>(t.items_acked) / elapsed,
        static_cast<double>(t.items_sent) / elapsed, t.LatencyQuantile(0.5),
        t.LatencyQuantile(0.99), JsonQuote(t.last_error));
  }
  return fmt::format("{{\"elapsed_seconds\":{:.3f},\"signals\":{{{}}}}}", elapsed_seconds, signals);
}

}  // namespace oriel::loadgen
