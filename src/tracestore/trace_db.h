// The trace engine: a head of recent spans in memory, made durable by a WAL (storage::Wal in
// <dir>/wal), and immutable columnar segments on disk (<dir>/segments, segment.h) that the head
// is cut into when it grows past the flush thresholds.
//
// Head: spans serialized, as their WAL record holds them, with the fields the indexes need
// decoded (head_span.h), indexed by trace id and service, as written (WAL records: one per
// stored ResourceSpans subset, format in wal_record.h). Queries parse the head spans they read;
// a flush encodes its segment from their bytes. Retention by time and the head
// bounds (max_traces, max_bytes) drop whole head traces; WAL compaction rewrites the live head
// into a fresh WAL segment and deletes the older ones.
//
// Memory: the head is flushed when its estimated in-memory size (the span bytes, their decoded
// fields and the indexes; HeadSpanHeapBytes) passes flush_memory_bytes. Writes outpacing the flush
// wait for it once the head passes write_stall_memory_bytes (backpressure; kResourceExhausted after
// a timeout), so that the head stays bounded however fast spans arrive.
//
// Flush (head cut): the WAL is cut at segment C while writes wait; the head traces present then
// are written, sorted by trace id, into `segments/<seq>-<C>.seg` (temporary name, fsync, rename,
// directory fsync), the segment is opened and published to readers, which from then on skip
// the flushed spans still in the head; the flush then drops them from the head in small batches
// (so that reads and writes never wait for the whole removal), and the WAL segments below C are
// deleted. Spans written during the flush stay in the head (and the WAL at or after C). Each
// segment records C as its WAL checkpoint: opening replays the WAL only from the newest checkpoint,
// so a crash between the segment's rename and the WAL deletion neither loses nor duplicates spans.
// A segment that does not open is kDataLoss naming the file, unless it is the newest one and the
// WAL below its checkpoint is still there (it was never relied upon): then it is removed and the
// WAL replayed instead.
//
// Reads merge the head and every segment: GetTrace looks the id up in each segment's in-memory
// trace-id index (one block read per segment holding the trace), FindTraces prunes segment
// blocks by service and start time and decodes only candidates; each part yields its newest
// `limit` matches, ranked together by the newest span start of the service. Retention by time
// drops whole segments whose newest span ended before the cutoff (segments are partitioned by
// ingest time: one per head cut, flush_age_nano bounds how much time one covers);
// max_disk_bytes drops the oldest segments. Segments are not merged by compaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/absl_view.h"
#include "base/metrics.h"
#include "storage/wal.h"
#include "tracestore/head_span.h"
#include "tracestore/segment.h"
#include "tracestore/stored_span.h"
#include "tracestore/trace_key.h"
#include "tracestore/trace_store.h"

namespace oriel::tracestore {

struct TraceDBOptions {
  // Traces whose newest span ended before now - retention are dropped (0 = keep forever).
  int64_t retention_nano = int64_t{15} * 24 * 3600 * 1'000'000'000;
  // Memory bounds of the head (0 = unbounded): past either one, the head traces with the oldest
  // newest span are dropped after a write. Bytes are the serialized size of the spans. With
  // head flushes on (the default), they are a safety net for when flushing cannot keep up.
  size_t max_traces = 0;
  size_t max_bytes = 0;
  // Head cut thresholds (0 = none): past any one of them the head is flushed into a segment, by
  // the background thread or the next Maintain().
  size_t flush_spans = 0;
  // Serialized span bytes, as max_bytes. None by default: the head holds spans serialized, so
  // flush_memory_bytes (about 1.4x the span bytes) is the size bound, and the one configured.
  size_t flush_bytes = 0;
  // Estimated memory of the head (the serialized spans, their decoded index fields and the
  // indexes, about 1.3x the serialized size), the bound that keeps the process's memory in
  // check. Set by the config's traces.head.max_memory.
  size_t flush_memory_bytes = 128 << 20;
  // Backpressure: while the head's estimated memory is past this (0: twice flush_memory_bytes;
  // with flush_memory_bytes 0, none) and a flush runs or is due for the background thread,
  // writes wait for it to end, and after write_stall_timeout_nano fail with kResourceExhausted
  // (the sender retries later).
  size_t write_stall_memory_bytes = 0;
  int64_t write_stall_timeout_nano = int64_t{10} * 1'000'000'000;
  int64_t flush_age_nano = int64_t{2} * 3600 * 1'000'000'000;  // since the head's first span
  // Size bound of the segments on disk (0 = unbounded): past it, Maintain drops the oldest.
  uint64_t max_disk_bytes = 0;
  // Uncompressed size of a segment block and its zstd level: smaller blocks make GetTrace
  // faster, larger ones and higher levels compress better. At 11M loadgen spans (bench/run.py
  // otlp-traces-10m): 1 MiB at level 6 gives 56.2 bytes/span, level 3 58.0 for 21% less server
  // CPU per span in all (the flush's zstd at level 6 was that costly); 256 KiB at level 3 67.4.
  size_t segment_block_bytes = 1 << 20;
  int segment_zstd_level = 3;
  // How often the background thread applies retention and compacts the WAL (0 = never; call
  // Maintain() yourself).
  int64_t maintenance_interval_nano = int64_t{60} * 1'000'000'000;
  storage::WalOptions wal;
  // Now in Unix nanoseconds; a seam for tests. Defaults to the system clock.
  std::function<int64_t()> clock;
  // Self-metrics: oriel_tracestore_spans_written_total, oriel_tracestore_spans_rejected_total,
  // oriel_tracestore_traces, oriel_tracestore_head_spans, oriel_tracestore_head_memory_bytes,
  // oriel_tracestore_write_stalls_total, oriel_tracestore_segments,
  // oriel_tracestore_segment_bytes, oriel_tracestore_segment_spans. Optional; must outlive the
  // TraceDB. They are registered on Open, so at most one TraceDB per Registry.
  metrics::Registry* registry = nullptr;
};

// Counters for tests and self-monitoring.
struct TraceDBStats {
  // Head and segments; a trace with spans in several of them counts once in each.
  size_t traces = 0;
  size_t spans = 0;
  size_t bytes = 0;             // of the head, as counted against max_bytes
  size_t memory_bytes = 0;      // of the head, estimated, as counted against flush_memory_bytes
  uint64_t write_stalls = 0;    // writes that waited for a flush (backpressure), since Open
  uint64_t traces_dropped = 0;  // head traces dropped by retention or memory bounds, since Open
  uint64_t compactions = 0;     // since Open
  // Spans only in the head. A flush counts its spans in its segment as soon as it is published,
  // while it still drops them from the head (draining_spans of them are left to drop).
  size_t head_spans = 0;
  size_t draining_spans = 0;
  size_t segments = 0;
  uint64_t segment_bytes = 0;  // file sizes
  uint64_t segment_spans = 0;
  uint64_t flushes = 0;           // head cuts into segments since Open
  uint64_t segments_dropped = 0;  // by retention or max_disk_bytes, since Open
};

class TraceDB final : public TraceWriter, public TraceReader {
 public:
  // Opens the store in `dir` (created if needed): loads the segment indexes of <dir>/segments
  // and replays <dir>/wal from the newest segment's checkpoint. Retention and bounds are applied
  // to the replayed data. Fails on a corrupt WAL (kDataLoss naming segment and offset) or
  // segment (kDataLoss naming the file; see the header comment for the newest segment).
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
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) override;
  // As Write. A resource none of whose spans is refused is stored as its encoding in the batch
  // (when the batch has it): the WAL record and the head's span bytes are made of those bytes,
  // not of a new serialization. A batch read in place is stored without being decoded (the WAL
  // record of a resource with refused spans is then the encoding of its other spans).
  [[nodiscard]] absl::StatusOr<TraceWriteResult> WriteBatch(SpanBatch& batch) override;

  // TraceReader. A span's service is its resource's service.name attribute, "unknown_service"
  // when missing. GetTrace merges the head and the segments and groups spans by resource and
  // scope (identical resources written in separate requests are merged; a span stored twice is
  // returned once); a segment block that fails to read is logged and left out. FindTraces scans
  // the head's traces of query.service from the one with the most recent span of that service
  // backwards, skipping traces whose spans of that service all started before
  // query.start_unix_nano, and stops after query.limit matches; then the segments holding the
  // service, newest first, until query.limit matches are newer than the next segment (see the
  // header comment). Traces are ordered by their most recent span start of the service, newest
  // first. Tags: see span_match.h. A segment block that fails to read is kDataLoss naming it.
  std::optional<Trace> GetTrace(std::string_view trace_id) override;
  std::vector<std::string> Services() override;
  std::vector<Operation> Operations(std::string_view service,
                                    std::optional<int32_t> span_kind) override;
  [[nodiscard]] absl::StatusOr<std::vector<Trace>> FindTraces(const TraceQuery& query) override;
  // Counts, for each span ending in (end - lookback, end] whose parent span is in the same trace
  // with a different service, one call parent service -> child service. Sorted by parent, child.
  // A scan of the head and of the segment blocks in the window; a parent and child that a flush
  // put into different parts (head or segments) are not paired.
  std::vector<DependencyLink> Dependencies(int64_t end_unix_nano, int64_t lookback_nano) override;

  // Drops traces and segments past retention and segments past max_disk_bytes, flushes the head
  // into a segment when it is past a flush threshold, then compacts the WAL when at least half
  // of what it holds was dropped (or `force`). Compaction cuts the WAL (writes wait only for that),
  // appends every trace live at the cut into the new segment in batches while writes go on, then
  // deletes the segments before the cut. A crash before the deletion replays both copies; identical
  // spans are stored once, so nothing is lost or duplicated. One compaction runs at a time.
  [[nodiscard]] absl::Status Maintain(bool force = false);

  // Cuts the head into a new segment now (see the header comment); a no-op for an empty head.
  // Writes and reads go on meanwhile. One flush or compaction runs at a time.
  [[nodiscard]] absl::Status Flush();

  TraceDBStats Stats();

 private:
  struct TraceEntry {
    std::vector<HeadSpan> spans;
    absl::flat_hash_set<uint64_t>
        span_ids;  // the 8 bytes of each span id, as SpanIdWord reads them
    int64_t newest_end = 0;
    size_t bytes = 0;
    size_t memory = 0;        // estimated, of the spans and their index entries
    uint64_t generation = 0;  // tells a trace dropped and written again from the original
  };
  // Hash and equality of (name, kind) operation keys, also of (string_view, kind) without a copy.
  struct OperationHash {
    using is_transparent = void;
    template <typename A>
    size_t operator()(const A& a) const {
      return absl::HashOf(base::AbslView(a.first), a.second);
    }
  };
  struct OperationEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::string_view(a.first) == std::string_view(b.first) && a.second == b.second;
    }
  };
  // A head trace as a flush wrote it: its first `spans` spans are in the flush's segment.
  struct FlushedTrace {
    TraceKey id;
    uint64_t generation = 0;
    size_t spans = 0;
  };
  // (a time, trace id) in time order. A B-tree: every span written may move its trace in two of
  // these, and red-black tree nodes (a cache miss per level) made that ~6% of ingest CPU.
  using TimeOrderedTraces = absl::btree_set<std::pair<int64_t, TraceKey>>;
  struct ServiceEntry {
    // (name, kind) -> stored spans with it, so that operations go away with their traces. Hashed:
    // every span written looks its operation up, and Operations() sorts what it lists.
    // Nodes stay put: each indexed span points at its operation's count (operation_spans).
    absl::node_hash_map<std::pair<std::string, int32_t>, int64_t, OperationHash, OperationEq>
        operations;
    // (newest span start of this service in the trace, trace id), and that start by trace id.
    TimeOrderedTraces traces;
    absl::flat_hash_map<TraceKey, int64_t> newest_start;
  };

  TraceDB(std::unique_ptr<storage::Wal> wal, TraceDBOptions options, std::string dir);

  int64_t Now() const;
  // Write and WriteBatch: `encoded` is empty or holds the encoding of each resource ("" when
  // unknown).
  absl::StatusOr<TraceWriteResult> WriteSpans(
      google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>&
          resource_spans,
      std::vector<std::string_view>& encoded);
  // WriteBatch of a batch read in place.
  absl::StatusOr<TraceWriteResult> WriteEncoded(const std::vector<EncodedResourceSpans>& read);
  // The end of both write paths: counts the refused spans, appends a plain WAL record of each of
  // `kept` (the serialized kept resources) to the WAL, and only once they are durable calls
  // `index_locked` (with mu_ held) to make their spans visible; then asks for a flush when one is
  // due and counts the written spans. Nothing is appended or indexed when `kept` is empty.
  absl::Status CommitWrite(const std::vector<std::string_view>& kept,
                           const TraceWriteResult& result, absl::FunctionRef<void()> index_locked)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Adds the valid spans of `rs`, whose head forms are `heads` (in order; moved out), to the
  // indexes.
  void IndexEncodedLocked(const EncodedResourceSpans& rs, std::vector<HeadSpan>& heads)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the spans of `rs` to the indexes; returns how many were new. `span_bytes`: from Write,
  // which validated the spans, their serializations in order (moved out); null on replay, where
  // the spans are validated and serialized here.
  size_t IndexLocked(const opentelemetry::proto::trace::v1::ResourceSpans& rs,
                     std::vector<std::string>* span_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `service`: the entry of span.resource->service (looked up once per resource by the caller).
  bool IndexSpanLocked(const TraceKey& trace_id, HeadSpan span, ServiceEntry& service)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The shared entry of the resource (scope) of `rs` (`ss`), copied from it when new: every
  // request of a service repeats the same resource, which is held once.
  std::shared_ptr<const ResourceEntry> ResourceLocked(
      const opentelemetry::proto::trace::v1::ResourceSpans& rs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const ScopeEntry> ScopeLocked(
      const opentelemetry::proto::trace::v1::ScopeSpans& ss) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `flushed`: the trace moved to a segment (not counted as dropped, not dead in the WAL).
  // With `removed`, the entry is moved there rather than destroyed (so that the caller can free
  // its spans after releasing mu_).
  void DropTraceLocked(const TraceKey& trace_id, bool flushed = false,
                       std::vector<TraceEntry>* removed = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool FlushDueLocked() ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void DropSegmentsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  // Backpressure before a write: waits while the head is past write_stall_memory_bytes and a
  // flush runs or is due; kResourceExhausted after write_stall_timeout_nano.
  absl::Status WaitForHeadRoom() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status LoadSegments(uint64_t* wal_checkpoint);
  void RegisterMetrics();
  void UpdateGaugesLocked() ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void EnforceBoundsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnforceRetentionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many spans at the front of the head trace `entry` (with id `trace_id`) a published
  // segment holds that the flush has not dropped from the head yet; reads skip them.
  size_t DrainingSpansLocked(const TraceKey& trace_id, const TraceEntry& entry) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Drops the traces of the published segment from the head, a batch per lock hold.
  void DrainFlushedLocked(const std::vector<FlushedTrace>& flushed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  Trace BuildTraceLocked(const TraceKey& trace_id, const TraceEntry& entry)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The trace from the head and every segment; a segment read error is logged and skipped.
  std::optional<Trace> GetMergedTrace(std::string_view trace_id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_);
  void MaintenanceLoop();

  TraceDBOptions options_;
  const std::string dir_;
  std::unique_ptr<storage::Wal> wal_;

  // Writers hold write_mu_ shared across WAL append and indexing (so group commit batches them);
  // compaction holds it exclusively while it cuts the WAL, so that every record before the cut
  // is indexed by then.
  absl::Mutex write_mu_;
  absl::Mutex compact_mu_;  // one Maintain at a time
  absl::Mutex mu_;          // guards the indexes below
  // Lookups by trace id waiting for mu_: the flush's drain lets them in between its batches.
  std::atomic<int> lookups_waiting_{0};
  absl::flat_hash_map<TraceKey, TraceEntry> traces_ ABSL_GUARDED_BY(mu_);
  // (newest span end, trace id) of every trace: retention, bounds and Dependencies walk it.
  TimeOrderedTraces by_end_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ServiceEntry, std::less<>> services_ ABSL_GUARDED_BY(mu_);
  // Shared resource and scope entries by key (ResourceKey, ScopeKey); cleared when full.
  static constexpr size_t kEntryCacheSize = 4096;
  absl::flat_hash_map<std::string, std::shared_ptr<const ResourceEntry>> resource_cache_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const ScopeEntry>> scope_cache_
      ABSL_GUARDED_BY(mu_);
  size_t spans_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // estimated, see TraceEntry::memory
  size_t stall_memory_bytes_ = 0;                 // resolved write_stall_memory_bytes
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;    // a flush is between its WAL cut and its end
  // The traces of the segment a flush published and is dropping from the head, sorted by id
  // (null otherwise). Shared with the flush, which reads it without mu_.
  std::shared_ptr<const std::vector<FlushedTrace>> draining_ ABSL_GUARDED_BY(mu_);
  uint64_t write_stalls_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes dropped since the last compaction, and stored (written or replayed) since then.
  size_t dead_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t traces_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t compactions_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t head_since_ ABSL_GUARDED_BY(mu_) = 0;  // Now() when the head got its first span
  // Oldest first. Readers copy the pointers under mu_ and read the files without it.
  std::vector<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);
  uint64_t next_segment_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t flushes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t segments_dropped_ ABSL_GUARDED_BY(mu_) = 0;

  metrics::Counter* spans_written_ = nullptr;
  metrics::Counter* spans_rejected_ = nullptr;
  metrics::Gauge* traces_gauge_ = nullptr;
  metrics::Gauge* head_spans_gauge_ = nullptr;
  metrics::Gauge* head_memory_gauge_ = nullptr;
  metrics::Counter* write_stalls_counter_ = nullptr;
  metrics::Gauge* segments_gauge_ = nullptr;
  metrics::Gauge* segment_bytes_gauge_ = nullptr;
  metrics::Gauge* segment_spans_gauge_ = nullptr;

  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  bool flush_wanted_ ABSL_GUARDED_BY(stop_mu_) = false;  // wakes the background thread
  std::thread maintenance_;
};

}  // namespace oriel::tracestore
