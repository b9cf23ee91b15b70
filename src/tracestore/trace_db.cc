#include "tracestore/trace_db.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "tracestore/span_match.h"
#include "tracestore/span_validation.h"
#include "tracestore/wal_record.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;

constexpr std::string_view kUnknownService = "unknown_service";
// Compaction appends live traces in units of about this size, to bound its extra memory.
constexpr size_t kCompactionBatchBytes = 4 << 20;

std::string ServiceName(const opentelemetry::proto::resource::v1::Resource& resource) {
  for (const auto& kv : resource.attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value() &&
        !kv.value().string_value().empty()) {
      return kv.value().string_value();
    }
  }
  return std::string(kUnknownService);
}

bool SameSpan(const Span& a, const Span& b) {
  return a.span_id() == b.span_id() && a.name() == b.name() &&
         a.start_time_unix_nano() == b.start_time_unix_nano() &&
         a.end_time_unix_nano() == b.end_time_unix_nano();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TraceDB>> TraceDB::Open(const std::string& dir,
                                                       TraceDBOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot create trace store directory {}: {}", dir, ec.message()));
  }
  ORIEL_ASSIGN_OR_RETURN(auto wal, storage::Wal::Open(dir + "/wal", options.wal));
  std::unique_ptr<TraceDB> db(new TraceDB(std::move(wal), std::move(options)));
  uint64_t records = 0;
  absl::Status replayed = db->wal_->Replay(0, [&](std::string_view record) -> absl::Status {
    ++records;
    ResourceSpans rs;
    absl::Status decoded = DecodeWalRecord(record, &rs);
    if (!decoded.ok()) {
      return absl::DataLossError(
          fmt::format("cannot replay trace WAL record {}: {}", records, decoded.message()));
    }
    absl::MutexLock lock(&db->mu_);
    db->IndexLocked(rs);
    db->EnforceBoundsLocked();
    db->EnforceRetentionLocked();
    return absl::OkStatus();
  });
  if (!replayed.ok()) {
    return absl::Status(replayed.code(),
                        fmt::format("cannot open trace store {}: {}", dir, replayed.message()));
  }
  {
    absl::MutexLock lock(&db->mu_);
    db->EnforceRetentionLocked();
    log::Info("replayed trace WAL", {{"records", records},
                                     {"traces", static_cast<uint64_t>(db->traces_.size())},
                                     {"spans", static_cast<uint64_t>(db->spans_)}});
  }
  if (db->options_.maintenance_interval_nano > 0) {
    db->maintenance_ = std::thread([raw = db.get()] { raw->MaintenanceLoop(); });
  }
  return db;
}

TraceDB::TraceDB(std::unique_ptr<storage::Wal> wal, TraceDBOptions options)
    : options_(std::move(options)), wal_(std::move(wal)) {
  if (options_.registry != nullptr) {
    spans_written_ = &options_.registry->AddCounter("oriel_tracestore_spans_written_total",
                                                    "Spans stored durably by the trace store.");
    spans_rejected_ = &options_.registry->AddCounter("oriel_tracestore_spans_rejected_total",
                                                     "Spans the trace store rejected as invalid.");
    traces_gauge_ =
        &options_.registry->AddGauge("oriel_tracestore_traces", "Traces held by the trace store.");
  }
}

TraceDB::~TraceDB() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (maintenance_.joinable()) maintenance_.join();
}

int64_t TraceDB::Now() const {
  if (options_.clock) return options_.clock();
  return absl::ToUnixNanos(absl::Now());
}

absl::StatusOr<TraceWriteResult> TraceDB::Write(const std::vector<ResourceSpans>& resource_spans) {
  TraceWriteResult result;
  std::vector<ResourceSpans> accepted;
  std::vector<std::string> records;
  for (size_t r = 0; r < resource_spans.size(); ++r) {
    const ResourceSpans& in = resource_spans[r];
    ResourceSpans out;
    for (int s = 0; s < in.scope_spans_size(); ++s) {
      const ScopeSpans& in_scope = in.scope_spans(s);
      ScopeSpans* out_scope = nullptr;
      for (int i = 0; i < in_scope.spans_size(); ++i) {
        std::string why = ValidateSpan(in_scope.spans(i));
        if (!why.empty()) {
          if (result.spans_rejected == 0) {
            result.first_rejection =
                fmt::format("span {} of scope {} of resource {}: {}", i, s, r, why);
          }
          ++result.spans_rejected;
          continue;
        }
        if (out_scope == nullptr) {
          out_scope = out.add_scope_spans();
          *out_scope->mutable_scope() = in_scope.scope();
          out_scope->set_schema_url(in_scope.schema_url());
        }
        *out_scope->add_spans() = in_scope.spans(i);
        ++result.spans_written;
      }
    }
    if (out.scope_spans_size() == 0) continue;
    *out.mutable_resource() = in.resource();
    out.set_schema_url(in.schema_url());
    records.push_back(EncodeWalRecord(out));
    accepted.push_back(std::move(out));
  }
  if (spans_rejected_ != nullptr) spans_rejected_->Inc(static_cast<double>(result.spans_rejected));
  if (records.empty()) return result;

  absl::ReaderMutexLock write_lock(&write_mu_);
  std::vector<std::string_view> views(records.begin(), records.end());
  absl::Status appended = wal_->Append(views);
  if (!appended.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot write spans to the trace WAL: {}", appended.message()));
  }
  absl::MutexLock lock(&mu_);
  for (const ResourceSpans& rs : accepted) IndexLocked(rs);
  EnforceBoundsLocked();
  if (spans_written_ != nullptr) spans_written_->Inc(static_cast<double>(result.spans_written));
  return result;
}

size_t TraceDB::IndexLocked(const ResourceSpans& rs) {
  auto resource = std::make_shared<ResourceEntry>();
  resource->resource = rs.resource();
  resource->schema_url = rs.schema_url();
  resource->service = ServiceName(rs.resource());
  resource->key = rs.resource().SerializeAsString();
  resource->key += '\0';
  resource->key += rs.schema_url();
  size_t added = 0;
  ServiceEntry& service = services_[resource->service];
  for (const ScopeSpans& ss : rs.scope_spans()) {
    auto scope = std::make_shared<ScopeEntry>();
    scope->scope = ss.scope();
    scope->schema_url = ss.schema_url();
    scope->key = ss.scope().SerializeAsString();
    scope->key += '\0';
    scope->key += ss.schema_url();
    for (const Span& span : ss.spans()) {
      // Replayed records come from disk: check them as strictly as a write.
      if (!ValidateSpan(span).empty()) continue;
      const size_t bytes = span.ByteSizeLong();
      auto [it, inserted] = traces_.try_emplace(span.trace_id());
      TraceEntry& trace = it->second;
      if (!inserted && trace.span_ids.contains(span.span_id())) {
        bool duplicate = std::any_of(trace.spans.begin(), trace.spans.end(),
                                     [&](const StoredSpan& s) { return SameSpan(s.span, span); });
        if (duplicate) {
          dead_bytes_ += bytes;
          continue;
        }
      }
      const auto end = static_cast<int64_t>(span.end_time_unix_nano());
      const auto start = static_cast<int64_t>(span.start_time_unix_nano());
      if (inserted || end > trace.newest_end) {
        if (!inserted) by_end_.erase({trace.newest_end, span.trace_id()});
        trace.newest_end = inserted ? end : std::max(trace.newest_end, end);
        by_end_.emplace(trace.newest_end, span.trace_id());
      }
      auto [start_it, first_of_service] = service.newest_start.try_emplace(span.trace_id(), start);
      if (first_of_service) {
        service.traces.emplace(start, span.trace_id());
      } else if (start > start_it->second) {
        service.traces.erase({start_it->second, span.trace_id()});
        start_it->second = start;
        service.traces.emplace(start, span.trace_id());
      }
      ++service.operations[{span.name(), static_cast<int32_t>(span.kind())}];
      trace.span_ids.insert(span.span_id());
      trace.spans.push_back(StoredSpan{resource, scope, span});
      trace.bytes += bytes;
      bytes_ += bytes;
      ++spans_;
      ++added;
    }
  }
  if (traces_gauge_ != nullptr) traces_gauge_->Set(static_cast<double>(traces_.size()));
  return added;
}

void TraceDB::DropTraceLocked(const std::string& trace_id) {
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return;
  TraceEntry& trace = it->second;
  for (const StoredSpan& s : trace.spans) {
    auto service = services_.find(s.resource->service);
    if (service == services_.end()) continue;
    ServiceEntry& entry = service->second;
    auto op = entry.operations.find({s.span.name(), static_cast<int32_t>(s.span.kind())});
    if (op != entry.operations.end() && --op->second <= 0) entry.operations.erase(op);
    auto start = entry.newest_start.find(trace_id);
    if (start != entry.newest_start.end()) {
      entry.traces.erase({start->second, trace_id});
      entry.newest_start.erase(start);
    }
    if (entry.traces.empty() && entry.operations.empty()) services_.erase(service);
  }
  by_end_.erase({trace.newest_end, trace_id});
  spans_ -= trace.spans.size();
  bytes_ -= trace.bytes;
  dead_bytes_ += trace.bytes;
  ++traces_dropped_;
  traces_.erase(it);
  if (traces_gauge_ != nullptr) traces_gauge_->Set(static_cast<double>(traces_.size()));
}

void TraceDB::EnforceBoundsLocked() {
  while (!by_end_.empty() && ((options_.max_traces != 0 && traces_.size() > options_.max_traces) ||
                              (options_.max_bytes != 0 && bytes_ > options_.max_bytes))) {
    std::string oldest = by_end_.begin()->second;
    DropTraceLocked(oldest);
  }
}

void TraceDB::EnforceRetentionLocked() {
  if (options_.retention_nano <= 0) return;
  const int64_t cutoff = Now() - options_.retention_nano;
  while (!by_end_.empty() && by_end_.begin()->first < cutoff) {
    std::string oldest = by_end_.begin()->second;
    DropTraceLocked(oldest);
  }
}

Trace TraceDB::BuildTraceLocked(const std::string& trace_id, const TraceEntry& entry) {
  Trace trace;
  trace.trace_id = trace_id;
  // Group by resource, then scope, in the order they first appear.
  std::map<std::string_view, size_t> resource_index;
  std::vector<std::map<std::string_view, size_t>> scope_index;
  for (const StoredSpan& s : entry.spans) {
    auto [r, new_resource] =
        resource_index.try_emplace(s.resource->key, trace.resource_spans.size());
    if (new_resource) {
      auto& rs = trace.resource_spans.emplace_back();
      *rs.mutable_resource() = s.resource->resource;
      rs.set_schema_url(s.resource->schema_url);
      scope_index.emplace_back();
    }
    ResourceSpans& rs = trace.resource_spans[r->second];
    auto [sc, new_scope] = scope_index[r->second].try_emplace(s.scope->key, rs.scope_spans_size());
    if (new_scope) {
      ScopeSpans* ss = rs.add_scope_spans();
      *ss->mutable_scope() = s.scope->scope;
      ss->set_schema_url(s.scope->schema_url);
    }
    *rs.mutable_scope_spans(static_cast<int>(sc->second))->add_spans() = s.span;
  }
  return trace;
}

std::optional<Trace> TraceDB::GetTrace(std::string_view trace_id) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = traces_.find(std::string(trace_id));
  if (it == traces_.end()) return std::nullopt;
  return BuildTraceLocked(it->first, it->second);
}

std::vector<std::string> TraceDB::Services() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : services_) names.push_back(name);
  return names;
}

std::vector<Operation> TraceDB::Operations(std::string_view service,
                                           std::optional<int32_t> span_kind) {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Operation> ops;
  auto it = services_.find(service);
  if (it == services_.end()) return ops;
  for (const auto& [op, count] : it->second.operations) {
    const auto& [name, kind] = op;
    if (span_kind.has_value() && kind != *span_kind) continue;
    ops.push_back(Operation{name, kind});
  }
  return ops;
}

absl::StatusOr<std::vector<Trace>> TraceDB::FindTraces(const TraceQuery& query) {
  if (query.service.empty()) {
    return absl::InvalidArgumentError("cannot find traces: service is required");
  }
  if (query.min_duration_nano < 0 || query.max_duration_nano < 0) {
    return absl::InvalidArgumentError("cannot find traces: durations must not be negative");
  }
  if (query.max_duration_nano != 0 && query.min_duration_nano > query.max_duration_nano) {
    return absl::InvalidArgumentError(
        fmt::format("cannot find traces: min duration {}ns is above max duration {}ns",
                    query.min_duration_nano, query.max_duration_nano));
  }
  if (query.start_unix_nano != 0 && query.end_unix_nano != 0 &&
      query.start_unix_nano > query.end_unix_nano) {
    return absl::InvalidArgumentError("cannot find traces: start is after end");
  }
  const size_t limit = query.limit == 0 ? TraceQuery{}.limit : query.limit;
  std::vector<Trace> found;
  absl::ReaderMutexLock lock(&mu_);
  auto service = services_.find(query.service);
  if (service == services_.end()) return found;
  const auto& by_start = service->second.traces;
  for (auto it = by_start.rbegin(); it != by_start.rend() && found.size() < limit; ++it) {
    // Every span of the service in this trace and the ones after started before the range.
    if (query.start_unix_nano != 0 && it->first < query.start_unix_nano) break;
    auto trace = traces_.find(it->second);
    if (trace == traces_.end()) continue;
    const bool match =
        std::any_of(trace->second.spans.begin(), trace->second.spans.end(), [&](const auto& s) {
          return s.resource->service == query.service &&
                 SpanMatches(query, s.span, s.resource->resource, s.scope->scope);
        });
    if (match) found.push_back(BuildTraceLocked(trace->first, trace->second));
  }
  return found;
}

std::vector<DependencyLink> TraceDB::Dependencies(int64_t end_unix_nano, int64_t lookback_nano) {
  const int64_t after = end_unix_nano - lookback_nano;
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  {
    absl::ReaderMutexLock lock(&mu_);
    absl::flat_hash_map<std::string, std::string_view> service_of;
    for (auto it = by_end_.upper_bound({after, std::string(64, '\xff')}); it != by_end_.end();
         ++it) {
      const TraceEntry& trace = traces_.at(it->second);
      service_of.clear();
      for (const StoredSpan& s : trace.spans) service_of[s.span.span_id()] = s.resource->service;
      for (const StoredSpan& s : trace.spans) {
        const auto end = static_cast<int64_t>(s.span.end_time_unix_nano());
        if (end <= after || end > end_unix_nano || s.span.parent_span_id().empty()) continue;
        auto parent = service_of.find(s.span.parent_span_id());
        if (parent == service_of.end() || parent->second == s.resource->service) continue;
        ++counts[{std::string(parent->second), s.resource->service}];
      }
    }
  }
  std::vector<DependencyLink> links;
  for (auto& [key, count] : counts) links.push_back(DependencyLink{key.first, key.second, count});
  return links;
}

absl::Status TraceDB::Maintain(bool force) {
  absl::MutexLock compact_lock(&compact_mu_);
  bool compact = force;
  {
    absl::MutexLock lock(&mu_);
    EnforceRetentionLocked();
    compact = compact || (dead_bytes_ > 0 && dead_bytes_ >= bytes_);
  }
  if (!compact) return absl::OkStatus();
  return CompactLocked();
}

absl::Status TraceDB::CompactLocked() {
  uint64_t first_live = 0;
  std::vector<std::string> live;
  size_t dead_at_cut = 0;
  {
    // With no write between its WAL append and its indexing, the traces in memory now hold
    // every record before the cut that is still live.
    absl::MutexLock write_lock(&write_mu_);
    ORIEL_ASSIGN_OR_RETURN(first_live, wal_->Cut());
    absl::ReaderMutexLock lock(&mu_);
    live.reserve(traces_.size());
    for (const auto& [trace_id, entry] : traces_) live.push_back(trace_id);
    dead_at_cut = dead_bytes_;
  }
  // Rewrite in batches, building each under a shared lock and appending without it, so that
  // writes and queries go on. Traces dropped meanwhile are skipped; spans written after the cut
  // may be rewritten too, which replay deduplicates.
  size_t next = 0;
  while (next < live.size()) {
    std::vector<std::string> records;
    size_t batch_bytes = 0;
    {
      absl::ReaderMutexLock lock(&mu_);
      for (; next < live.size() && batch_bytes < kCompactionBatchBytes; ++next) {
        auto it = traces_.find(live[next]);
        if (it == traces_.end()) continue;
        Trace trace = BuildTraceLocked(it->first, it->second);
        for (const ResourceSpans& rs : trace.resource_spans) {
          records.push_back(EncodeWalRecord(rs));
          batch_bytes += records.back().size();
        }
      }
    }
    if (records.empty()) continue;
    std::vector<std::string_view> views(records.begin(), records.end());
    absl::Status appended = wal_->Append(views);
    if (!appended.ok()) {
      return absl::UnavailableError(
          fmt::format("cannot compact the trace WAL: {}", appended.message()));
    }
  }
  ORIEL_RETURN_IF_ERROR(wal_->RemoveSegmentsBefore(first_live));
  absl::MutexLock lock(&mu_);
  dead_bytes_ -= std::min(dead_bytes_, dead_at_cut);
  ++compactions_;
  return absl::OkStatus();
}

void TraceDB::MaintenanceLoop() {
  const absl::Duration interval = absl::Nanoseconds(options_.maintenance_interval_nano);
  for (;;) {
    {
      absl::MutexLock lock(&stop_mu_);
      stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), interval);
      if (stop_) return;
    }
    absl::Status status = Maintain();
    if (!status.ok()) log::Error("cannot maintain the trace store", {{"err", status}});
  }
}

TraceDBStats TraceDB::Stats() {
  absl::ReaderMutexLock lock(&mu_);
  return TraceDBStats{.traces = traces_.size(),
                      .spans = spans_,
                      .bytes = bytes_,
                      .traces_dropped = traces_dropped_,
                      .compactions = compactions_};
}

}  // namespace oriel::tracestore
