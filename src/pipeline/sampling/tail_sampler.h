// Tail sampling of whole traces, as the OpenTelemetry Collector's `tail_sampling` processor with
// a fixed policy set: a trace is kept when any span has status ERROR, or when it lasted at least
// a threshold, or else with a probability by trace-id hash. Spans wait in memory until their
// trace is decided.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "pipeline/sampling/sampling_options.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::sampling {

// Which policy kept a trace ("none" when it was dropped); the `policy` label of the metrics.
enum class TailPolicy { kError, kLatency, kProbabilistic, kNone };
std::string_view TailPolicyName(TailPolicy policy);

// A TraceWriter that buffers spans per trace id and forwards a trace's spans downstream only
// once it is decided to keep it.
//
// Durability trade-off: with tail sampling, "acknowledged means durable" (DESIGN.md) no longer
// holds. Write acknowledges buffered spans at once (they count in `spans_written`) while they
// wait up to `decision_wait` in memory, as they do in the collector; a crash in that window loses
// them. Errors from the downstream writer at forwarding time cannot reach the sender any more:
// they are logged and counted (oriel_sampling_tail_forward_failed_spans_total), and spans
// downstream rejects are counted in oriel_sampling_tail_forward_rejected_spans_total.
//
// Decisions: a trace is decided `decision_wait` after its first span arrived (by Tick, which a
// background thread calls every `tick_interval`). Policies run in order error, latency,
// probabilistic; the first that keeps the trace names it in the metrics. When more than
// `num_traces` traces or `max_bytes` of spans wait, the oldest waiting traces are decided early,
// on the spans seen so far. (The collector instead drops the oldest trace undecided; deciding it
// keeps an error trace that would otherwise be lost, at the price of missing an ERROR span that
// had not arrived yet.) Decided trace ids are remembered (`decision_cache_size`, oldest
// forgotten first): a late span of a kept trace is written through synchronously, so its Write
// is durable and reports downstream's errors; a late span of a dropped trace is dropped. A late
// span of a forgotten trace starts a new trace.
//
// Spans that fail tracestore::ValidateSpan are rejected in Write itself (they cannot be buffered
// under a trace id), with the same message format as the store.
//
// The destructor stops the thread and decides and forwards every waiting trace, so a clean
// shutdown loses nothing that would have been kept. Thread-safe.
class TailSampler final : public tracestore::TraceWriter {
 public:
  // `downstream` and `registry` are not owned and must outlive the sampler; at most one
  // TailSampler per registry. `now` is the clock (default absl::Now), a seam for tests.
  // REQUIRES: ValidateTailSamplingOptions(options) is OK.
  TailSampler(const TailSamplingOptions& options, tracestore::TraceWriter& downstream,
              metrics::Registry& registry, std::function<absl::Time()> now = nullptr);
  ~TailSampler() override;
  TailSampler(const TailSampler&) = delete;
  TailSampler& operator=(const TailSampler&) = delete;

  [[nodiscard]] absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override;

  // Decides every trace whose first span arrived at or before `now - decision_wait` and forwards
  // the kept ones (one downstream Write per call). Called by the background thread; tests call
  // it directly with an injected time.
  void Tick(absl::Time now);
  // Decides and forwards every waiting trace now.
  void Flush();

  // Traces and serialized bytes waiting for a decision.
  int64_t pending_traces() const;
  int64_t pending_bytes() const;

 private:
  struct PendingTrace {
    std::vector<opentelemetry::proto::trace::v1::ResourceSpans> fragments;
    absl::Time first_arrival;
    int64_t bytes = 0;
    int64_t spans = 0;
    bool has_error = false;
    bool has_times = false;
    uint64_t min_start = 0;
    uint64_t max_end = 0;
  };
  // Spans of decided-to-keep traces, gathered under the lock and written after it.
  struct Forward {
    std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans;
    int64_t spans = 0;
  };

  TailPolicy Evaluate(std::string_view trace_id, const PendingTrace& trace) const;
  // Decides the oldest waiting trace; appends its spans to `forward` when kept.
  void DecideOldestLocked(Forward& forward, bool early);
  void RememberLocked(const std::string& trace_id, bool kept);
  void UpdateGaugesLocked();
  void WriteForward(Forward forward);
  void Run();

  const TailSamplingOptions options_;
  const int64_t latency_threshold_ms_;
  const uint64_t probabilistic_threshold_;
  tracestore::TraceWriter& downstream_;
  std::function<absl::Time()> now_;

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, PendingTrace> pending_;  // guarded by mu_
  std::deque<std::string> pending_order_;                   // arrival order; guarded by mu_
  int64_t pending_bytes_ = 0;                               // guarded by mu_
  absl::flat_hash_map<std::string, bool> decided_;          // kept?; guarded by mu_
  std::deque<std::string> decided_order_;                   // guarded by mu_

  metrics::CounterFamily& traces_;
  metrics::CounterFamily& spans_;
  metrics::CounterFamily& late_spans_;
  metrics::Counter& decided_early_;
  metrics::Counter& forward_failed_;
  metrics::Counter& forward_rejected_;
  metrics::Gauge& pending_traces_gauge_;
  metrics::Gauge& pending_bytes_gauge_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace oriel::pipeline::sampling
