// The trace engine: spans in memory with indexes by trace id and service, made durable by a WAL
// (storage::Wal in <dir>/wal) that is replayed on open. Retention by time and memory bounds drop
// whole traces; compaction rewrites the live spans into a fresh WAL segment and deletes the older
// segments, so the log does not grow without bound.
//
// Everything lives in memory (as parsed protobuf spans) plus the WAL: there are no on-disk
// columnar segments yet, so max_bytes bounds both memory and what a restart replays. It counts
// serialized span bytes; the heap they take is a few times more.
//
// WAL records: one per stored ResourceSpans subset (the accepted spans of one resource, grouped
// by scope), format in wal_record.h. A record that does not decode fails the replay.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/metrics.h"
#include "storage/wal.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

struct TraceDBOptions {
  // Traces whose newest span ended before now - retention are dropped (0 = keep forever).
  int64_t retention_nano = int64_t{15} * 24 * 3600 * 1'000'000'000;
  // Memory bounds (0 = unbounded): past either one, the traces with the oldest newest span are
  // dropped after a write. Bytes are the serialized size of the spans.
  size_t max_traces = 0;
  size_t max_bytes = 0;
  // How often the background thread applies retention and compacts the WAL (0 = never; call
  // Maintain() yourself).
  int64_t maintenance_interval_nano = int64_t{60} * 1'000'000'000;
  storage::WalOptions wal;
  // Now in Unix nanoseconds; a seam for tests. Defaults to the system clock.
  std::function<int64_t()> clock;
  // Self-metrics: oriel_tracestore_spans_written_total, oriel_tracestore_spans_rejected_total,
  // oriel_tracestore_traces. Optional; must outlive the TraceDB. They are registered on Open, so
  // at most one TraceDB per Registry.
  metrics::Registry* registry = nullptr;
};

// Counters for tests and self-monitoring.
struct TraceDBStats {
  size_t traces = 0;
  size_t spans = 0;
  size_t bytes = 0;             // as counted against max_bytes
  uint64_t traces_dropped = 0;  // by retention or memory bounds, since Open
  uint64_t compactions = 0;     // since Open
};

class TraceDB final : public TraceWriter, public TraceReader {
 public:
  // Opens the store in `dir` (created if needed), replaying <dir>/wal. Retention and bounds are
  // applied to the replayed data. Fails on a corrupt WAL (kDataLoss naming segment and offset).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TraceDB>> Open(const std::string& dir,
                                                                     TraceDBOptions options = {});
  ~TraceDB() override;
  TraceDB(const TraceDB&) = delete;
  TraceDB& operator=(const TraceDB&) = delete;

  // TraceWriter. Invalid spans (see ValidateSpan) are counted and skipped; the rest are in the WAL
  // (fsync'd) before they become visible to readers and before Write returns. A span identical in
  // trace id, span id, name, start and end to a stored one (a client's retry, or a replay after
  // an interrupted compaction) is stored once. A write error is kUnavailable and poisons the WAL:
  // later writes fail until the store is reopened.
  [[nodiscard]] absl::StatusOr<TraceWriteResult> Write(
      const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans) override;

  // TraceReader. A span's service is its resource's service.name attribute, "unknown_service"
  // when missing. GetTrace groups spans by resource and scope (identical resources written in
  // separate requests are merged). FindTraces scans the traces of query.service from the one
  // with the most recent span of that service backwards, skipping traces whose spans of that
  // service all started before query.start_unix_nano, and stops after query.limit matches: the
  // cost is bounded by the service's traces in the time range. Traces are ordered by their most
  // recent span start of the service, newest first. Tags: see span_match.h.
  std::optional<Trace> GetTrace(std::string_view trace_id) override;
  std::vector<std::string> Services() override;
  std::vector<Operation> Operations(std::string_view service,
                                    std::optional<int32_t> span_kind) override;
  [[nodiscard]] absl::StatusOr<std::vector<Trace>> FindTraces(const TraceQuery& query) override;
  // Counts, for each span ending in (end - lookback, end] whose parent span is in the same trace
  // with a different service, one call parent service -> child service. Sorted by parent, child.
  std::vector<DependencyLink> Dependencies(int64_t end_unix_nano, int64_t lookback_nano) override;

  // Drops traces past retention, then compacts the WAL when at least half of what it holds was
  // dropped (or `force`). Compaction cuts the WAL (writes wait only for that), appends every trace
  // live at the cut into the new segment in batches while writes go on, then deletes the
  // segments before the cut. A crash before the deletion replays both copies; identical spans
  // are stored once, so nothing is lost or duplicated. One compaction runs at a time.
  [[nodiscard]] absl::Status Maintain(bool force = false);

  TraceDBStats Stats();

 private:
  struct ResourceEntry {
    opentelemetry::proto::resource::v1::Resource resource;
    std::string schema_url;
    std::string service;
    std::string key;  // serialized resource and schema url: identical resources merge on read
  };
  struct ScopeEntry {
    opentelemetry::proto::common::v1::InstrumentationScope scope;
    std::string schema_url;
    std::string key;
  };
  // Resources and scopes are shared by every span of one ResourceSpans/ScopeSpans, and a span may
  // outlive the others (retention drops whole traces), hence shared ownership.
  struct StoredSpan {
    std::shared_ptr<const ResourceEntry> resource;
    std::shared_ptr<const ScopeEntry> scope;
    opentelemetry::proto::trace::v1::Span span;
  };
  struct TraceEntry {
    std::vector<StoredSpan> spans;
    absl::flat_hash_set<std::string> span_ids;
    int64_t newest_end = 0;
    size_t bytes = 0;
  };
  struct ServiceEntry {
    // (name, kind) -> stored spans with it, so that operations go away with their traces.
    std::map<std::pair<std::string, int32_t>, int64_t> operations;
    // (newest span start of this service in the trace, trace id), and that start by trace id.
    std::set<std::pair<int64_t, std::string>> traces;
    absl::flat_hash_map<std::string, int64_t> newest_start;
  };

  TraceDB(std::unique_ptr<storage::Wal> wal, TraceDBOptions options);

  int64_t Now() const;
  // Adds spans of one ResourceSpans (already validated) to the indexes; returns how many were new.
  size_t IndexLocked(const opentelemetry::proto::trace::v1::ResourceSpans& rs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropTraceLocked(const std::string& trace_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnforceBoundsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnforceRetentionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Trace BuildTraceLocked(const std::string& trace_id, const TraceEntry& entry)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  void MaintenanceLoop();

  TraceDBOptions options_;
  std::unique_ptr<storage::Wal> wal_;

  // Writers hold write_mu_ shared across WAL append and indexing (so group commit batches them);
  // compaction holds it exclusively while it cuts the WAL, so that every record before the cut
  // is indexed by then.
  absl::Mutex write_mu_;
  absl::Mutex compact_mu_;  // one Maintain at a time
  absl::Mutex mu_;          // guards the indexes below
  absl::flat_hash_map<std::string, TraceEntry> traces_ ABSL_GUARDED_BY(mu_);
  // (newest span end, trace id) of every trace: retention, bounds and Dependencies walk it.
  std::set<std::pair<int64_t, std::string>> by_end_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ServiceEntry, std::less<>> services_ ABSL_GUARDED_BY(mu_);
  size_t spans_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes dropped since the last compaction, and stored (written or replayed) since then.
  size_t dead_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t traces_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t compactions_ ABSL_GUARDED_BY(mu_) = 0;

  metrics::Counter* spans_written_ = nullptr;
  metrics::Counter* spans_rejected_ = nullptr;
  metrics::Gauge* traces_gauge_ = nullptr;

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread maintenance_;
};

}  // namespace oriel::tracestore
