#include "pipeline/sampling/tail_sampler.h"

#include <utility>

#include "base/check.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "pipeline/sampling/trace_id_sampling.h"
#include "tracestore/span_validation.h"

namespace oriel::pipeline::sampling {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;

// One trace's share of a Write: its spans regrouped under copies of their resource and scope.
struct TraceSlice {
  std::vector<ResourceSpans> fragments;
  int last_resource = -1;
  int last_scope = -1;
  int64_t spans = 0;
};

}  // namespace

std::string_view TailPolicyName(TailPolicy policy) {
  switch (policy) {
    case TailPolicy::kError:
      return "error";
    case TailPolicy::kLatency:
      return "latency";
    case TailPolicy::kProbabilistic:
      return "probabilistic";
    case TailPolicy::kNone:
      return "none";
  }
  return "none";
}

TailSampler::TailSampler(const TailSamplingOptions& options, tracestore::TraceWriter& downstream,
                         metrics::Registry& registry, std::function<absl::Time()> now)
    : options_(options),
      latency_threshold_ms_(absl::ToInt64Milliseconds(options.latency_threshold)),
      probabilistic_threshold_(TailThreshold(options.sampling_percentage / 100)),
      downstream_(downstream),
      now_(now ? std::move(now) : [] { return absl::Now(); }),
      traces_(registry.AddCounterFamily(
          "oriel_sampling_tail_traces_total",
          "Traces decided by the tail sampler, by decision and by the policy that kept them.",
          {"decision", "policy"})),
      spans_(registry.AddCounterFamily("oriel_sampling_tail_spans_total",
                                       "Spans of traces decided by the tail sampler, by decision.",
                                       {"decision"})),
      late_spans_(registry.AddCounterFamily(
          "oriel_sampling_tail_late_spans_total",
          "Spans that arrived after their trace was decided, by that decision.", {"decision"})),
      decided_early_(registry.AddCounter(
          "oriel_sampling_tail_traces_decided_early_total",
          "Traces decided before their decision wait because num_traces or max_bytes was hit.")),
      forward_failed_(registry.AddCounter(
          "oriel_sampling_tail_forward_failed_spans_total",
          "Kept spans lost because the downstream writer failed when they were forwarded.")),
      forward_rejected_(registry.AddCounter(
          "oriel_sampling_tail_forward_rejected_spans_total",
          "Kept spans the downstream writer rejected when they were forwarded.")),
      // Plain gauges set on every change rather than scrape-time functions: the registry
      // outlives the sampler, and a function would then read a destroyed object.
      pending_traces_gauge_(
          registry.AddGauge("oriel_sampling_tail_traces_pending",
                            "Traces waiting in memory for a tail sampling decision.")),
      pending_bytes_gauge_(
          registry.AddGauge("oriel_sampling_tail_pending_bytes",
                            "Serialized size of the spans waiting for a tail sampling decision.")) {
  ORIEL_CHECK(ValidateTailSamplingOptions(options).ok());
  if (options_.tick_interval > absl::ZeroDuration()) thread_ = std::thread([this] { Run(); });
}

TailSampler::~TailSampler() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Flush();
}

void TailSampler::Run() {
  auto interval = absl::ToChronoMilliseconds(options_.tick_interval);
  if (interval.count() < 1) interval = std::chrono::milliseconds(1);
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_) {
    if (stop_cv_.wait_for(lock, interval, [this] { return stop_; })) break;
    lock.unlock();
    Tick(now_());
    lock.lock();
  }
}

int64_t TailSampler::pending_traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(pending_.size());
}

int64_t TailSampler::pending_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_bytes_;
}

absl::StatusOr<tracestore::TraceWriteResult> TailSampler::Write(
    std::vector<ResourceSpans> resource_spans) {
  tracestore::TraceWriteResult result;
  // Regroup by trace id outside the lock. Spans are moved; only resources and scopes are copied
  // (once per trace they appear in).
  absl::flat_hash_map<std::string, TraceSlice> slices;
  for (int r = 0; r < static_cast<int>(resource_spans.size()); ++r) {
    ResourceSpans& rs = resource_spans[r];
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      ScopeSpans& ss = *rs.mutable_scope_spans(s);
      for (int i = 0; i < ss.spans_size(); ++i) {
        Span& span = *ss.mutable_spans(i);
        if (std::string why = tracestore::ValidateSpan(span); !why.empty()) {
          if (result.spans_rejected++ == 0) {
            result.first_rejection =
                fmt::format("span {} of scope {} of resource {}: {}", i, s, r, why);
          }
          continue;
        }
        TraceSlice& slice = slices[span.trace_id()];
        if (slice.last_resource != r) {
          ResourceSpans& out = slice.fragments.emplace_back();
          *out.mutable_resource() = rs.resource();
          out.set_schema_url(rs.schema_url());
          slice.last_resource = r;
          slice.last_scope = -1;
        }
        ResourceSpans& out = slice.fragments.back();
        if (slice.last_scope != s) {
          ScopeSpans* out_ss = out.add_scope_spans();
          *out_ss->mutable_scope() = ss.scope();
          out_ss->set_schema_url(ss.schema_url());
          slice.last_scope = s;
        }
        *out.mutable_scope_spans(out.scope_spans_size() - 1)->add_spans() = std::move(span);
        ++slice.spans;
      }
    }
  }

  Forward late_kept;  // written synchronously: the sender gets downstream's answer for them
  Forward early;      // traces decided early to make room
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::Time now = now_();
    for (auto& [trace_id, slice] : slices) {
      if (auto d = decided_.find(trace_id); d != decided_.end()) {
        late_spans_.WithLabels({d->second ? "sampled" : "dropped"})
            .Inc(static_cast<double>(slice.spans));
        if (d->second) {
          for (ResourceSpans& f : slice.fragments) late_kept.resource_spans.push_back(std::move(f));
          late_kept.spans += slice.spans;
        } else {
          result.spans_written += slice.spans;
        }
        continue;
      }
      auto [it, inserted] = pending_.try_emplace(trace_id);
      PendingTrace& trace = it->second;
      if (inserted) {
        trace.first_arrival = now;
        pending_order_.push_back(trace_id);
      }
      for (ResourceSpans& f : slice.fragments) {
        for (const ScopeSpans& ss : f.scope_spans()) {
          for (const Span& span : ss.spans()) {
            if (span.status().code() == Status::STATUS_CODE_ERROR) trace.has_error = true;
            if (!trace.has_times || span.start_time_unix_nano() < trace.min_start) {
              trace.min_start = span.start_time_unix_nano();
            }
            if (!trace.has_times || span.end_time_unix_nano() > trace.max_end) {
              trace.max_end = span.end_time_unix_nano();
            }
            trace.has_times = true;
          }
        }
        auto bytes = static_cast<int64_t>(f.ByteSizeLong());
        trace.bytes += bytes;
        pending_bytes_ += bytes;
        trace.fragments.push_back(std::move(f));
      }
      trace.spans += slice.spans;
      result.spans_written += slice.spans;
    }
    while (!pending_order_.empty() &&
           (static_cast<int64_t>(pending_.size()) > options_.num_traces ||
            pending_bytes_ > options_.max_bytes)) {
      DecideOldestLocked(early, /*early=*/true);
    }
    UpdateGaugesLocked();
  }
  WriteForward(std::move(early));

  if (!late_kept.resource_spans.empty()) {
    absl::StatusOr<tracestore::TraceWriteResult> written =
        downstream_.Write(std::move(late_kept.resource_spans));
    if (!written.ok()) {
      // Nothing of this request is lost silently: the buffered part is acknowledged (it will be
      // forwarded later), the late part failed, so the sender retries the whole request. Spans
      // it resends that are still waiting are then buffered twice; storage ignores a span
      // identical to one it has.
      return written.status();
    }
    result.spans_written += written->spans_written;
    if (written->spans_rejected > 0 && result.spans_rejected == 0) {
      result.first_rejection = written->first_rejection;
    }
    result.spans_rejected += written->spans_rejected;
  }
  return result;
}

TailPolicy TailSampler::Evaluate(std::string_view trace_id, const PendingTrace& trace) const {
  if (options_.keep_errors && trace.has_error) return TailPolicy::kError;
  if (latency_threshold_ms_ > 0 && trace.has_times) {
    // As the collector: the whole trace's extent, truncated to whole milliseconds.
    auto duration_ms = static_cast<int64_t>((trace.max_end - trace.min_start) / 1'000'000);
    if (duration_ms >= latency_threshold_ms_) return TailPolicy::kLatency;
  }
  if (TailProbabilisticSampled(options_.hash_salt, trace_id, probabilistic_threshold_)) {
    return TailPolicy::kProbabilistic;
  }
  return TailPolicy::kNone;
}

void TailSampler::DecideOldestLocked(Forward& forward, bool early) {
  std::string trace_id = std::move(pending_order_.front());
  pending_order_.pop_front();
  auto it = pending_.find(trace_id);
  ORIEL_CHECK(it != pending_.end());
  PendingTrace& trace = it->second;
  TailPolicy policy = Evaluate(trace_id, trace);
  bool kept = policy != TailPolicy::kNone;
  std::string_view decision = kept ? "sampled" : "dropped";
  traces_.WithLabels({decision, TailPolicyName(policy)}).Inc();
  spans_.WithLabels({decision}).Inc(static_cast<double>(trace.spans));
  if (early) decided_early_.Inc();
  if (kept) {
    for (ResourceSpans& f : trace.fragments) forward.resource_spans.push_back(std::move(f));
    forward.spans += trace.spans;
  }
  pending_bytes_ -= trace.bytes;
  pending_.erase(it);
  RememberLocked(trace_id, kept);
}

void TailSampler::UpdateGaugesLocked() {
  pending_traces_gauge_.Set(static_cast<double>(pending_.size()));
  pending_bytes_gauge_.Set(static_cast<double>(pending_bytes_));
}

void TailSampler::RememberLocked(const std::string& trace_id, bool kept) {
  if (options_.decision_cache_size == 0) return;
  auto [it, inserted] = decided_.insert_or_assign(trace_id, kept);
  if (inserted) decided_order_.push_back(trace_id);
  while (static_cast<int64_t>(decided_order_.size()) > options_.decision_cache_size) {
    decided_.erase(decided_order_.front());
    decided_order_.pop_front();
  }
}

void TailSampler::WriteForward(Forward forward) {
  if (forward.resource_spans.empty()) return;
  absl::StatusOr<tracestore::TraceWriteResult> written =
      downstream_.Write(std::move(forward.resource_spans));
  if (!written.ok()) {
    forward_failed_.Inc(static_cast<double>(forward.spans));
    log::Error("cannot forward tail-sampled spans",
               {{"spans", forward.spans}, {"err", written.status()}});
    return;
  }
  if (written->spans_rejected > 0) {
    forward_rejected_.Inc(static_cast<double>(written->spans_rejected));
    log::Warn("storage rejected tail-sampled spans",
              {{"spans", written->spans_rejected}, {"first", written->first_rejection}});
  }
}

void TailSampler::Tick(absl::Time now) {
  Forward forward;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pending_order_.empty()) {
      const PendingTrace& oldest = pending_.at(pending_order_.front());
      if (oldest.first_arrival + options_.decision_wait > now) break;
      DecideOldestLocked(forward, /*early=*/false);
    }
    UpdateGaugesLocked();
  }
  WriteForward(std::move(forward));
}

void TailSampler::Flush() {
  Forward forward;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pending_order_.empty()) DecideOldestLocked(forward, /*early=*/false);
    UpdateGaugesLocked();
  }
  WriteForward(std::move(forward));
}

}  // namespace oriel::pipeline::sampling
