// Test helpers: a TraceWriter that records what it is given, and span builders.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/span_validation.h"
#include "tracestore/trace_store.h"

namespace oriel::pipeline::sampling::testing {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

// Records every span it is given; fails every Write with `fail` when set, and rejects spans
// that tracestore::ValidateSpan refuses, as the real store does.
class FakeTraceWriter final : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<ResourceSpans> resource_spans) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (!fail_.ok()) return fail_;
    tracestore::TraceWriteResult result;
    for (const ResourceSpans& rs : resource_spans) {
      for (const auto& ss : rs.scope_spans()) {
        for (const Span& span : ss.spans()) {
          if (std::string why = tracestore::ValidateSpan(span); !why.empty()) {
            if (result.spans_rejected++ == 0) result.first_rejection = why;
            continue;
          }
          spans_.push_back(span);
          resources_.push_back(rs.resource().SerializeAsString());
          ++result.spans_written;
        }
      }
    }
    return result;
  }

  void set_fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }
  std::vector<Span> spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }
  // The serialized resource each recorded span arrived under.
  std::vector<std::string> resources() const {
    std::lock_guard<std::mutex> lock(mu_);
    return resources_;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  absl::Status fail_;
  std::vector<Span> spans_;
  std::vector<std::string> resources_;
  int calls_ = 0;
};

inline std::string TraceId(uint64_t hi, uint64_t lo) {
  std::string id(16, '\0');
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<char>(hi >> (56 - 8 * i));
    id[8 + i] = static_cast<char>(lo >> (56 - 8 * i));
  }
  return id;
}

inline Span MakeSpan(const std::string& trace_id, uint64_t span_number, uint64_t start_ns,
                     uint64_t end_ns, bool error = false) {
  Span span;
  span.set_trace_id(trace_id);
  std::string span_id(8, '\0');
  for (int i = 0; i < 8; ++i) span_id[i] = static_cast<char>((span_number + 1) >> (56 - 8 * i));
  span.set_span_id(span_id);
  span.set_name("op");
  span.set_start_time_unix_nano(start_ns);
  span.set_end_time_unix_nano(end_ns);
  if (error)
    span.mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  return span;
}

// One resource (service.name = `service`) with one scope holding `spans`.
inline ResourceSpans MakeResourceSpans(const std::string& service, std::vector<Span> spans) {
  ResourceSpans rs;
  auto* attr = rs.mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  auto* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("test");
  for (Span& s : spans) *ss->add_spans() = std::move(s);
  return rs;
}

// The value of `series` (e.g. `x_total{decision="sampled"}`) in the registry's exposition, or -1
// when it is not there.
inline double MetricValue(const metrics::Registry& registry, const std::string& series) {
  std::istringstream text(registry.Expose());
  for (std::string line; std::getline(text, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return -1;
}

}  // namespace oriel::pipeline::sampling::testing
