#include "pipeline/sampling/head_sampler.h"

#include <cctype>
#include <cstdlib>
#include <string>

#include "base/check.h"
#include "pipeline/sampling/trace_id_sampling.h"

namespace oriel::pipeline::sampling {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

enum class Priority { kDefer, kKeep, kDrop };

Priority FromNumber(double v) {
  if (v == 0) return Priority::kDrop;
  if (v > 0) return Priority::kKeep;
  return Priority::kDefer;
}

// OpenTracing's `sampling.priority` span tag, read as the collector reads it.
Priority SpanPriority(const Span& span) {
  for (const auto& kv : span.attributes()) {
    if (kv.key() != "sampling.priority") continue;
    const AnyValue& v = kv.value();
    switch (v.value_case()) {
      case AnyValue::kIntValue:
        return FromNumber(static_cast<double>(v.int_value()));
      case AnyValue::kDoubleValue:
        return FromNumber(v.double_value());
      case AnyValue::kStringValue: {
        const std::string& s = v.string_value();
        if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return Priority::kDefer;
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size()) return Priority::kDefer;
        return FromNumber(d);
      }
      default:
        return Priority::kDefer;
    }
  }
  return Priority::kDefer;
}

}  // namespace

HeadDecider::HeadDecider(const HeadSamplingOptions& options)
    : mode_(options.mode.value_or(options.hash_seed != 0 ? HeadSamplerMode::kHashSeed
                                                         : HeadSamplerMode::kProportional)),
      seed_(options.hash_seed),
      percentage_(static_cast<float>(options.sampling_percentage)),
      // As the collector: the float32 percentage widened before dividing.
      ratio_(static_cast<double>(percentage_) / 100),
      precision_(options.sampling_precision),
      keeps_all_(percentage_ >= 100),
      keeps_none_(percentage_ <= 0) {
  ORIEL_CHECK(ValidateHeadSamplingOptions(options).ok());
  if (mode_ == HeadSamplerMode::kProportional) {
    // As the collector: the float32 percentage widened before dividing.
    threshold_ =
        ProportionalThreshold(static_cast<double>(percentage_) / 100, options.sampling_precision);
  }
}

bool HeadDecider::SampledTraceId(std::string_view trace_id, std::string_view trace_state) const {
  if (trace_id.size() != 16 || keeps_all_) return true;
  if (keeps_none_) return false;
  if (mode_ == HeadSamplerMode::kHashSeed) return HashSeedSampled(trace_id, seed_, percentage_);
  OtelTraceState ot;
  if (trace_state.find("ot=") != std::string_view::npos) ot = ParseOtelTraceState(trace_state);
  if (!ot.randomness && trace_id == std::string_view("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16)) {
    // The collector finds no randomness in an all-zero trace id and drops the span; it is
    // invalid anyway, so it goes on to be rejected by storage instead.
    return true;
  }
  uint64_t randomness = ot.randomness.value_or(TraceIdRandomness(trace_id));
  if (!ot.threshold) return randomness >= threshold_;
  if (randomness < *ot.threshold) return false;  // an earlier sampler should have dropped it
  constexpr double kTwo56 = 72057594037927936.0;
  double incoming = static_cast<double>((uint64_t{1} << 56) - *ot.threshold) / kTwo56;
  double ratio = incoming * ratio_;
  if (ratio < 1 / kTwo56) return false;  // below the smallest probability: never sampled
  return randomness >= ProportionalThreshold(ratio, precision_);
}

bool HeadDecider::Sampled(const Span& span) const {
  switch (SpanPriority(span)) {
    case Priority::kKeep:
      return true;
    case Priority::kDrop:
      return false;
    case Priority::kDefer:
      break;
  }
  return SampledTraceId(span.trace_id(), span.trace_state());
}

HeadSampler::HeadSampler(const HeadSamplingOptions& options, tracestore::TraceWriter& downstream,
                         metrics::Registry& registry)
    : pass_through_(!options.enabled || options.sampling_percentage >= 100),
      decider_(options),
      downstream_(downstream),
      spans_(registry.AddCounterFamily("oriel_sampling_head_spans_total",
                                       "Spans seen by the probabilistic head sampler, by decision.",
                                       {"decision"})),
      sampled_(spans_.WithLabels({"sampled"})),
      dropped_(spans_.WithLabels({"dropped"})) {}

absl::StatusOr<tracestore::TraceWriteResult> HeadSampler::Write(
    std::vector<ResourceSpans> resource_spans) {
  if (pass_through_) return downstream_.Write(std::move(resource_spans));

  // Decide first, regroup only if something is dropped: a request that is kept whole is
  // forwarded as it is.
  std::vector<bool> keep;
  int64_t dropped = 0;
  for (const ResourceSpans& rs : resource_spans) {
    for (const auto& ss : rs.scope_spans()) {
      for (const Span& span : ss.spans()) {
        bool k = decider_.Sampled(span);
        keep.push_back(k);
        if (!k) ++dropped;
      }
    }
  }
  int64_t total = static_cast<int64_t>(keep.size());
  sampled_.Inc(static_cast<double>(total - dropped));
  dropped_.Inc(static_cast<double>(dropped));
  if (dropped == 0) return downstream_.Write(std::move(resource_spans));

  std::vector<ResourceSpans> kept;
  size_t i = 0;
  for (ResourceSpans& rs : resource_spans) {
    ResourceSpans out;
    for (auto& ss : *rs.mutable_scope_spans()) {
      opentelemetry::proto::trace::v1::ScopeSpans* out_ss = nullptr;
      for (Span& span : *ss.mutable_spans()) {
        if (!keep[i++]) continue;
        if (out_ss == nullptr) {
          out_ss = out.add_scope_spans();
          *out_ss->mutable_scope() = ss.scope();
          out_ss->set_schema_url(ss.schema_url());
        }
        *out_ss->add_spans() = std::move(span);
      }
    }
    if (out.scope_spans_size() == 0) continue;
    *out.mutable_resource() = std::move(*rs.mutable_resource());
    out.set_schema_url(std::move(*rs.mutable_schema_url()));
    kept.push_back(std::move(out));
  }

  tracestore::TraceWriteResult result;
  if (!kept.empty()) {
    absl::StatusOr<tracestore::TraceWriteResult> written = downstream_.Write(std::move(kept));
    if (!written.ok()) return written;
    result = *std::move(written);
  }
  result.spans_written += dropped;
  return result;
}

}  // namespace oriel::pipeline::sampling
