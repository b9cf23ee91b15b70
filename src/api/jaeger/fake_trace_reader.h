// A tracestore::TraceReader for tests: holds spans in memory, answers lookups by scanning them,
// and records the last search and dependencies arguments.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tracestore/trace_store.h"

namespace oriel::api::jaeger {

class FakeTraceReader : public tracestore::TraceReader {
 public:
  using ResourceSpans = opentelemetry::proto::trace::v1::ResourceSpans;

  void Add(const ResourceSpans& rs) { stored_.push_back(rs); }
  void SetDependencies(std::vector<tracestore::DependencyLink> links) { links_ = std::move(links); }
  void SetFindError(absl::Status st) { find_error_ = std::move(st); }

  std::optional<tracestore::Trace> GetTrace(std::string_view trace_id) override {
    tracestore::Trace t{std::string(trace_id), {}};
    for (const ResourceSpans& rs : stored_) {
      ResourceSpans copy = rs;
      bool any = false;
      for (auto& ss : *copy.mutable_scope_spans()) {
        auto* spans = ss.mutable_spans();
        spans->erase(std::remove_if(spans->begin(), spans->end(),
                                    [&](const auto& s) { return s.trace_id() != trace_id; }),
                     spans->end());
        any |= !spans->empty();
      }
      if (any) t.resource_spans.push_back(std::move(copy));
    }
    if (t.resource_spans.empty()) return std::nullopt;
    return t;
  }

  std::vector<std::string> Services() override {
    std::vector<std::string> out;
    for (const ResourceSpans& rs : stored_) out.push_back(ServiceOf(rs));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::vector<tracestore::Operation> Operations(std::string_view service,
                                                std::optional<int32_t> span_kind) override {
    std::vector<std::pair<std::string, int32_t>> ops;
    for (const ResourceSpans& rs : stored_) {
      if (ServiceOf(rs) != service) continue;
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) {
          if (span_kind && s.kind() != *span_kind) continue;
          ops.emplace_back(s.name(), s.kind());
        }
      }
    }
    std::sort(ops.begin(), ops.end());
    ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
    std::vector<tracestore::Operation> out;
    for (auto& [name, kind] : ops) out.push_back({name, kind});
    return out;
  }

  // Returns every trace with a span of the query's service (and operation, when given); the
  // other conditions are only recorded, for the tests to check what the API passed.
  absl::StatusOr<std::vector<tracestore::Trace>> FindTraces(
      const tracestore::TraceQuery& query) override {
    last_query_ = query;
    if (!find_error_.ok()) return find_error_;
    std::vector<std::string> ids;
    for (const ResourceSpans& rs : stored_) {
      if (ServiceOf(rs) != query.service) continue;
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) {
          if (!query.operation.empty() && s.name() != query.operation) continue;
          if (std::find(ids.begin(), ids.end(), s.trace_id()) == ids.end()) {
            ids.push_back(s.trace_id());
          }
        }
      }
    }
    std::vector<tracestore::Trace> out;
    for (const std::string& id : ids) {
      if (out.size() == query.limit) break;
      out.push_back(*GetTrace(id));
    }
    return out;
  }

  std::vector<tracestore::DependencyLink> Dependencies(int64_t end_unix_nano,
                                                       int64_t lookback_nano) override {
    last_dependencies_ = {end_unix_nano, lookback_nano};
    return links_;
  }

  std::optional<tracestore::TraceQuery> last_query_;
  std::pair<int64_t, int64_t> last_dependencies_{};

 private:
  static std::string ServiceOf(const ResourceSpans& rs) {
    for (const auto& kv : rs.resource().attributes()) {
      if (kv.key() == "service.name") return kv.value().string_value();
    }
    return "";
  }

  std::vector<ResourceSpans> stored_;
  std::vector<tracestore::DependencyLink> links_;
  absl::Status find_error_;
};

}  // namespace oriel::api::jaeger
