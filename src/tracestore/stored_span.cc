#include "tracestore/stored_span.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace oriel::tracestore {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;

std::string ServiceName(const opentelemetry::proto::resource::v1::Resource& resource) {
  for (const auto& kv : resource.attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value() &&
        !kv.value().string_value().empty()) {
      return kv.value().string_value();
    }
  }
  return std::string(kUnknownService);
}

std::string ResourceKey(const opentelemetry::proto::resource::v1::Resource& resource,
                        std::string_view schema_url) {
  std::string key = resource.SerializeAsString();
  key += '\0';
  key += schema_url;
  return key;
}

std::string ScopeKey(const opentelemetry::proto::common::v1::InstrumentationScope& scope,
                     std::string_view schema_url) {
  std::string key = scope.SerializeAsString();
  key += '\0';
  key += schema_url;
  return key;
}

std::shared_ptr<const ResourceEntry> MakeResourceEntry(
    opentelemetry::proto::resource::v1::Resource resource, std::string schema_url) {
  auto entry = std::make_shared<ResourceEntry>();
  entry->resource = std::move(resource);
  entry->schema_url = std::move(schema_url);
  entry->service = ServiceName(entry->resource);
  entry->key = ResourceKey(entry->resource, entry->schema_url);
  return entry;
}

std::shared_ptr<const ScopeEntry> MakeScopeEntry(
    opentelemetry::proto::common::v1::InstrumentationScope scope, std::string schema_url) {
  auto entry = std::make_shared<ScopeEntry>();
  entry->scope = std::move(scope);
  entry->schema_url = std::move(schema_url);
  entry->key = ScopeKey(entry->scope, entry->schema_url);
  return entry;
}

bool SameSpan(const Span& a, const Span& b) {
  return a.span_id() == b.span_id() && a.name() == b.name() &&
         a.start_time_unix_nano() == b.start_time_unix_nano() &&
         a.end_time_unix_nano() == b.end_time_unix_nano();
}

Trace BuildTrace(std::string_view trace_id, std::span<StoredSpan* const> spans) {
  Trace trace;
  trace.trace_id = std::string(trace_id);
  std::map<std::string_view, size_t> resource_index;
  std::vector<std::map<std::string_view, size_t>> scope_index;
  absl::flat_hash_map<std::string, std::vector<const Span*>> seen;  // by span id
  for (StoredSpan* s : spans) {
    auto& same_id = seen[s->span.span_id()];
    bool duplicate = false;
    for (const Span* other : same_id) duplicate = duplicate || SameSpan(*other, s->span);
    if (duplicate) continue;
    auto [r, new_resource] =
        resource_index.try_emplace(s->resource->key, trace.resource_spans.size());
    if (new_resource) {
      auto& rs = trace.resource_spans.emplace_back();
      *rs.mutable_resource() = s->resource->resource;
      rs.set_schema_url(s->resource->schema_url);
      scope_index.emplace_back();
    }
    ResourceSpans& rs = trace.resource_spans[r->second];
    auto [sc, new_scope] = scope_index[r->second].try_emplace(s->scope->key, rs.scope_spans_size());
    if (new_scope) {
      ScopeSpans* ss = rs.add_scope_spans();
      *ss->mutable_scope() = s->scope->scope;
      ss->set_schema_url(s->scope->schema_url);
    }
    // Moved, not copied: a span is a few dozen allocations. The trace holds it from here on.
    Span* added = rs.mutable_scope_spans(static_cast<int>(sc->second))->add_spans();
    *added = std::move(s->span);
    same_id.push_back(added);
  }
  return trace;
}

}  // namespace oriel::tracestore
