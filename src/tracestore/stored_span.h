// A span as the trace engine holds it: the OTLP span with shared handles on its resource and
// scope, and the assembly of such spans, from the head and from segments, into one Trace.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

inline constexpr std::string_view kUnknownService = "unknown_service";

struct ResourceEntry {
  opentelemetry::proto::resource::v1::Resource resource;
  std::string schema_url;
  std::string service;  // service.name, kUnknownService when missing
  std::string key;      // serialized resource and schema url: identical resources merge on read
};

struct ScopeEntry {
  opentelemetry::proto::common::v1::InstrumentationScope scope;
  std::string schema_url;
  std::string key;
};

// Resources and scopes are shared by every span of one ResourceSpans/ScopeSpans (or segment
// block), and a span may outlive the others (retention drops whole traces), hence shared
// ownership.
struct StoredSpan {
  std::shared_ptr<const ResourceEntry> resource;
  std::shared_ptr<const ScopeEntry> scope;
  opentelemetry::proto::trace::v1::Span span;
};

std::string ServiceName(const opentelemetry::proto::resource::v1::Resource& resource);

// The `key` of the entry MakeResourceEntry (MakeScopeEntry) would make of these.
std::string ResourceKey(const opentelemetry::proto::resource::v1::Resource& resource,
                        std::string_view schema_url);
std::string ScopeKey(const opentelemetry::proto::common::v1::InstrumentationScope& scope,
                     std::string_view schema_url);

std::shared_ptr<const ResourceEntry> MakeResourceEntry(
    opentelemetry::proto::resource::v1::Resource resource, std::string schema_url);
std::shared_ptr<const ScopeEntry> MakeScopeEntry(
    opentelemetry::proto::common::v1::InstrumentationScope scope, std::string schema_url);

// Whether two spans are the same stored span: equal span id, name, start and end (a client's
// retry, or a span present both in a segment and in a WAL replayed after a crash).
bool SameSpan(const opentelemetry::proto::trace::v1::Span& a,
              const opentelemetry::proto::trace::v1::Span& b);

// Groups `spans` (all of trace `trace_id`) by resource, then scope, in the order they first
// appear; a span equal (SameSpan) to an earlier one is left out. The spans are moved into the
// trace (each StoredSpan keeps its resource and scope).
Trace BuildTrace(std::string_view trace_id, std::span<StoredSpan* const> spans);

}  // namespace oriel::tracestore
