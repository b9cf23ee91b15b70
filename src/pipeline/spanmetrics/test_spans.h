// Hand-built OTLP spans and helpers to read an OTLP metrics export request, for this
// directory's tests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
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

using Request = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
namespace otlp_metrics = opentelemetry::proto::metrics::v1;
// Attributes by key, values rendered for comparison: strings as is, bools "true"/"false",
// ints in decimal ("<type N>" for other types, which these tests do not expect).
using AttrMap = std::map<std::string, std::string>;

inline AttrMap ToMap(
    const google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>& kvs) {
  AttrMap out;
  for (const auto& kv : kvs) {
    const auto& v = kv.value();
    std::string s;
    if (v.has_string_value()) {
      s = v.string_value();
    } else if (v.has_bool_value()) {
      s = v.bool_value() ? "true" : "false";
    } else if (v.has_int_value()) {
      s = std::to_string(v.int_value());
    } else {
      s = "<type " + std::to_string(v.value_case()) + ">";
    }
    out[kv.key()] = s;
  }
  return out;
}

// A data point of metric `name` with its metric and resource.
struct Point {
  const opentelemetry::proto::resource::v1::Resource* resource = nullptr;
  const otlp_metrics::ScopeMetrics* scope = nullptr;
  const otlp_metrics::Metric* metric = nullptr;
  const otlp_metrics::NumberDataPoint* sum = nullptr;           // Sum metrics
  const otlp_metrics::HistogramDataPoint* histogram = nullptr;  // Histogram metrics
  AttrMap attrs;
};

// Every data point of metric `name` in `req`.
inline std::vector<Point> Points(const Request& req, std::string_view name) {
  std::vector<Point> out;
  for (const auto& rm : req.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        if (m.name() != name) continue;
        for (const auto& p : m.sum().data_points()) {
          out.push_back({&rm.resource(), &sm, &m, &p, nullptr, ToMap(p.attributes())});
        }
        for (const auto& p : m.histogram().data_points()) {
          out.push_back({&rm.resource(), &sm, &m, nullptr, &p, ToMap(p.attributes())});
        }
      }
    }
  }
  return out;
}

// The data point of metric `name` with exactly attributes `attrs`, or nullopt.
inline std::optional<Point> Find(const Request& req, std::string_view name, const AttrMap& attrs) {
  for (Point& p : Points(req, name)) {
    if (p.attrs == attrs) return p;
  }
  return std::nullopt;
}

// The int value of the Sum point `name`{attrs}, or nullopt.
inline std::optional<int64_t> CounterOf(const Request& req, std::string_view name,
                                        const AttrMap& attrs) {
  auto p = Find(req, name, attrs);
  if (!p.has_value() || p->sum == nullptr) return std::nullopt;
  return p->sum->as_int();
}

// The Histogram point `name`{attrs}, or nullptr.
inline const otlp_metrics::HistogramDataPoint* HistogramOf(const Request& req,
                                                           std::string_view name,
                                                           const AttrMap& attrs) {
  auto p = Find(req, name, attrs);
  return p.has_value() ? p->histogram : nullptr;
}

inline std::vector<uint64_t> Buckets(const otlp_metrics::HistogramDataPoint& p) {
  return {p.bucket_counts().begin(), p.bucket_counts().end()};
}

}  // namespace oriel::pipeline::spanmetrics::testing
