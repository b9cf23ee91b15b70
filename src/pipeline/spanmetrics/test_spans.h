// Hand-built OTLP spans and helpers to read a MetricBatch, for this directory's tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/labels.h"
#include "model/sample.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::pipeline::spanmetrics::testing {

namespace trace = opentelemetry::proto::trace::v1;
using Attrs = std::vector<std::pair<std::string, std::string>>;

inline constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // unix ns
inline constexpr int64_t kMs = 1'000'000;

// A `len`-byte id ending in `n` (non-zero for n > 0).
inline std::string Id(uint64_t n, size_t len) {
  std::string id(len, '\0');
  for (size_t i = 0; i < 8 && i < len; ++i) id[len - 1 - i] = static_cast<char>(n >> (8 * i));
  return id;
}

struct SpanSpec {
  uint64_t trace = 1;
  uint64_t span = 1;
  uint64_t parent = 0;  // 0: none
  std::string name = "op";
  trace::Span::SpanKind kind = trace::Span::SPAN_KIND_INTERNAL;
  trace::Status::StatusCode status = trace::Status::STATUS_CODE_UNSET;
  int64_t duration_ns = 1 * kMs;
  Attrs attrs;
};

inline trace::Span MakeSpan(const SpanSpec& s) {
  trace::Span span;
  span.set_trace_id(Id(s.trace, 16));
  span.set_span_id(Id(s.span, 8));
  if (s.parent != 0) span.set_parent_span_id(Id(s.parent, 8));
  span.set_name(s.name);
  span.set_kind(s.kind);
  span.mutable_status()->set_code(s.status);
  span.set_start_time_unix_nano(kT0);
  span.set_end_time_unix_nano(kT0 + s.duration_ns);
  for (const auto& [k, v] : s.attrs) {
    auto* kv = span.add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
  return span;
}

// A resource with service.name = `service` (none if empty) plus `attrs`, holding `spans`.
inline trace::ResourceSpans Resource(const std::string& service, const Attrs& attrs,
                                     const std::vector<SpanSpec>& spans) {
  trace::ResourceSpans rs;
  auto add = [&](const std::string& k, const std::string& v) {
    auto* kv = rs.mutable_resource()->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  };
  if (!service.empty()) add("service.name", service);
  for (const auto& [k, v] : attrs) add(k, v);
  auto* scope = rs.add_scope_spans();
  scope->mutable_scope()->set_name("test");
  for (const SpanSpec& s : spans) *scope->add_spans() = MakeSpan(s);
  return rs;
}

inline model::Labels L(std::vector<model::Label> items) {
  return model::Labels::FromUnsorted(std::move(items));
}

// The value of the series with exactly `labels` in `batch`, or nullopt.
inline std::optional<double> ValueOf(const model::MetricBatch& batch, const model::Labels& labels) {
  for (const auto& s : batch.series) {
    if (s.labels == labels && !s.samples.empty()) return s.samples.back().value;
  }
  return std::nullopt;
}

// Series of `batch` whose metric name is `name`.
inline std::vector<model::SeriesData> Named(const model::MetricBatch& batch,
                                            std::string_view name) {
  std::vector<model::SeriesData> out;
  for (const auto& s : batch.series) {
    if (s.labels.MetricName() == name) out.push_back(s);
  }
  return out;
}

}  // namespace oriel::pipeline::spanmetrics::testing
