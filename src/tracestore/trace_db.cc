#include "tracestore/trace_db.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "tracestore/span_match.h"
#include "tracestore/span_memory.h"
#include "tracestore/span_validation.h"
#include "tracestore/wal_record.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;

// Compaction appends live traces in units of about this size, to bound its extra memory.
constexpr size_t kCompactionBatchBytes = 4 << 20;
constexpr std::string_view kSegmentDir = "segments";
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr std::string_view kTmpSuffix = ".tmp";

// What the head's indexes hold beside the spans, for its memory estimate: trace ids are inline
// keys (TraceKey); B-tree nodes are about 2/3 full; hash tables are 7/8 full.
constexpr size_t kOrderedEntryBytes = sizeof(std::pair<int64_t, TraceKey>) * 3 / 2;
// Per span: its HeadSpan in the trace's vector (grown by doubling, so ~1.5x on average) and
// its span id in the trace's set.
constexpr size_t kSpanIndexBytes = sizeof(HeadSpan) * 3 / 2 + (sizeof(uint64_t) + 1) * 8 / 7;
// Per service of a trace: its entry in the service's time-ordered set and in newest_start.
constexpr size_t kServiceOfTraceBytes =
    kOrderedEntryBytes + (sizeof(TraceKey) + sizeof(int64_t) + 1) * 8 / 7;

// A span id (8 bytes, as validated) as the word the head's span id sets hold.
uint64_t SpanIdWord(std::string_view span_id) {
  uint64_t word = 0;
  std::memcpy(&word, span_id.data(), std::min(span_id.size(), sizeof(word)));
  return word;
}

// A decimal number made of digits only (no sign, no overflow).
std::optional<uint64_t> ParseNumber(std::string_view s) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Parses `<seq>-<wal checkpoint>.seg`.
std::optional<std::pair<uint64_t, uint64_t>> ParseSegmentName(std::string_view name) {
  if (name.size() <= kSegmentSuffix.size() ||
      name.substr(name.size() - kSegmentSuffix.size()) != kSegmentSuffix) {
    return std::nullopt;
  }
  name.remove_suffix(kSegmentSuffix.size());
  const size_t dash = name.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto seq = ParseNumber(name.substr(0, dash));
  auto checkpoint = ParseNumber(name.substr(dash + 1));
  if (!seq || !checkpoint) return std::nullopt;
  return std::make_pair(*seq, *checkpoint);
}

// The serialized spans of `rs`, whose serialization is `serialized`, in order: copies of the
// bytes the WAL record is made of, so that a span is serialized once.
std::vector<std::string> SpanBytes(const ResourceSpans& rs, std::string_view serialized) {
  size_t count = 0;
  for (const ScopeSpans& ss : rs.scope_spans()) count += static_cast<size_t>(ss.spans_size());
  std::vector<std::string_view> views;
  views.reserve(count);
  std::vector<std::string> bytes;
  bytes.reserve(count);
  if (SplitSerializedSpans(serialized, &views).ok() && views.size() == count) {
    for (std::string_view view : views) bytes.emplace_back(view);
    return bytes;
  }
  // Not expected of protobuf's own encoding; serializing each span is always right.
  for (const ScopeSpans& ss : rs.scope_spans()) {
    for (const Span& span : ss.spans()) bytes.push_back(span.SerializeAsString());
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TraceDB>> TraceDB::Open(const std::string& dir,
                                                       TraceDBOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir + "/" + std::string(kSegmentDir), ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot create trace store directory {}: {}", dir, ec.message()));
  }
  ORIEL_ASSIGN_OR_RETURN(auto wal, storage::Wal::Open(dir + "/wal", options.wal));
  std::unique_ptr<TraceDB> db(new TraceDB(std::move(wal), std::move(options), dir));
  uint64_t checkpoint = 0;
  absl::Status loaded = db->LoadSegments(&checkpoint);
  if (!loaded.ok()) {
    return absl::Status(loaded.code(),
                        fmt::format("cannot open trace store {}: {}", dir, loaded.message()));
  }
  uint64_t records = 0;
  absl::Status replayed =
      db->wal_->Replay(checkpoint, [&](std::string_view record) -> absl::Status {
        ++records;
        ResourceSpans rs;
        absl::Status decoded = DecodeWalRecord(record, &rs);
        if (!decoded.ok()) {
          return absl::DataLossError(
              fmt::format("cannot replay trace WAL record {}: {}", records, decoded.message()));
        }
        absl::MutexLock lock(&db->mu_);
        db->IndexLocked(rs, /*span_bytes=*/nullptr);
        db->EnforceBoundsLocked();
        db->EnforceRetentionLocked();
        return absl::OkStatus();
      });
  if (!replayed.ok()) {
    return absl::Status(replayed.code(),
                        fmt::format("cannot open trace store {}: {}", dir, replayed.message()));
  }
  // The next flush must cut the WAL above every checkpoint (the WAL only renumbers from zero
  // when its directory was emptied by hand).
  while (db->wal_->CurrentSegment() < checkpoint) {
    ORIEL_RETURN_IF_ERROR(db->wal_->Cut().status());
  }
  // What a crash left of the WAL below the newest checkpoint is in a segment already.
  ORIEL_RETURN_IF_ERROR(db->wal_->RemoveSegmentsBefore(checkpoint));
  {
    absl::MutexLock lock(&db->mu_);
    db->EnforceRetentionLocked();
    db->DropSegmentsLocked();
    log::Info("opened trace store", {{"records", records},
                                     {"head_traces", static_cast<uint64_t>(db->traces_.size())},
                                     {"head_spans", static_cast<uint64_t>(db->spans_)},
                                     {"segments", static_cast<uint64_t>(db->segments_.size())}});
  }
  if (db->options_.maintenance_interval_nano > 0) {
    db->maintenance_ = std::thread([raw = db.get()] { raw->MaintenanceLoop(); });
  }
  return db;
}

absl::Status TraceDB::LoadSegments(uint64_t* wal_checkpoint) {
  const std::string seg_dir = dir_ + "/" + std::string(kSegmentDir);
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> found;  // seq, checkpoint, path
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(seg_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kTmpSuffix.size() &&
        std::string_view(name).substr(name.size() - kTmpSuffix.size()) == kTmpSuffix) {
      // A flush that did not finish: its spans are still in the WAL.
      std::filesystem::remove(entry.path(), ec);
      continue;
    }
    auto parsed = ParseSegmentName(name);
    if (!parsed) {
      log::Warn("ignoring unknown file in the trace segment directory", {{"file", name}});
      continue;
    }
    found.emplace_back(parsed->first, parsed->second, entry.path().string());
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot list trace segments in {}: {}", seg_dir, ec.message()));
  }
  std::sort(found.begin(), found.end());
  // The lowest WAL segment still on disk: a newest segment whose checkpoint is above it was
  // never relied upon (the WAL below its checkpoint is deleted only after it is durable).
  std::optional<uint64_t> lowest_wal;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/wal", ec)) {
    const std::string name = entry.path().filename().string();
    auto parsed = ParseNumber(name);
    if (!parsed) continue;
    const uint64_t index = *parsed;
    if (std::filesystem::file_size(entry.path(), ec) == 0 && !ec) continue;
    lowest_wal = lowest_wal ? std::min(*lowest_wal, index) : index;
  }
  std::vector<std::shared_ptr<Segment>> segments;
  uint64_t checkpoint = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& [seq, seg_checkpoint, path] = found[i];
    auto segment = Segment::Open(path);
    if (!segment.ok()) {
      const bool newest = i + 1 == found.size();
      if (newest && lowest_wal.has_value() && *lowest_wal < seg_checkpoint &&
          segment.status().code() == absl::StatusCode::kDataLoss) {
        log::Warn("removing the newest trace segment, unreadable; its spans are in the WAL",
                  {{"file", path}, {"err", segment.status()}});
        std::filesystem::remove(path, ec);
        if (ec) {
          return absl::UnavailableError(
              fmt::format("cannot remove trace segment {}: {}", path, ec.message()));
        }
        break;
      }
      return segment.status();
    }
    checkpoint = std::max(checkpoint, seg_checkpoint);
    segments.push_back(*std::move(segment));
  }
  absl::MutexLock lock(&mu_);
  segments_ = std::move(segments);
  if (!found.empty()) next_segment_seq_ = std::get<0>(found.back()) + 1;
  *wal_checkpoint = checkpoint;
  return absl::OkStatus();
}

TraceDB::TraceDB(std::unique_ptr<storage::Wal> wal, TraceDBOptions options, std::string dir)
    : options_(std::move(options)), dir_(std::move(dir)), wal_(std::move(wal)) {
  stall_memory_bytes_ = options_.write_stall_memory_bytes != 0 ? options_.write_stall_memory_bytes
                                                               : 2 * options_.flush_memory_bytes;
  RegisterMetrics();
}

void TraceDB::UpdateGaugesLocked() {
  if (options_.registry == nullptr) return;
  traces_gauge_->Set(static_cast<double>(traces_.size()));
  head_spans_gauge_->Set(static_cast<double>(spans_));
  head_memory_gauge_->Set(static_cast<double>(memory_bytes_));
  uint64_t bytes = 0;
  uint64_t spans = 0;
  for (const auto& segment : segments_) {
    bytes += segment->file_bytes();
    spans += segment->spans();
  }
  segments_gauge_->Set(static_cast<double>(segments_.size()));
  segment_bytes_gauge_->Set(static_cast<double>(bytes));
  segment_spans_gauge_->Set(static_cast<double>(spans));
}

void TraceDB::RegisterMetrics() {
  if (options_.registry == nullptr) return;
  metrics::Registry& r = *options_.registry;
  spans_written_ = &r.AddCounter("oriel_tracestore_spans_written_total",
                                 "Spans stored durably by the trace store.");
  spans_rejected_ = &r.AddCounter("oriel_tracestore_spans_rejected_total",
                                  "Spans the trace store rejected as invalid.");
  traces_gauge_ = &r.AddGauge("oriel_tracestore_traces", "Traces held in the trace store's head.");
  head_spans_gauge_ =
      &r.AddGauge("oriel_tracestore_head_spans", "Spans in the trace store's in-memory head.");
  head_memory_gauge_ = &r.AddGauge("oriel_tracestore_head_memory_bytes",
                                   "Estimated memory of the trace store's head (spans, indexes).");
  write_stalls_counter_ =
      &r.AddCounter("oriel_tracestore_write_stalls_total",
                    "Trace writes that waited for a head flush because the head was over its "
                    "memory bound.");
  segments_gauge_ = &r.AddGauge("oriel_tracestore_segments", "Trace segments on disk.");
  segment_bytes_gauge_ =
      &r.AddGauge("oriel_tracestore_segment_bytes", "Bytes of the trace segment files on disk.");
  segment_spans_gauge_ =
      &r.AddGauge("oriel_tracestore_segment_spans", "Spans in the trace segments on disk.");
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

absl::StatusOr<TraceWriteResult> TraceDB::Write(std::vector<ResourceSpans> resource_spans) {
  // Moves between heap messages swap their contents: nothing is copied.
  google::protobuf::RepeatedPtrField<ResourceSpans> field;
  field.Reserve(static_cast<int>(resource_spans.size()));
  for (ResourceSpans& rs : resource_spans) field.Add(std::move(rs));
  std::vector<std::string_view> encoded;
  return WriteSpans(field, encoded);
}

absl::StatusOr<TraceWriteResult> TraceDB::WriteBatch(SpanBatch& batch) {
  if (batch.resource_spans == nullptr) return WriteEncoded(batch.read);
  return WriteSpans(*batch.resource_spans, batch.encoded);
}

absl::StatusOr<TraceWriteResult> TraceDB::WriteEncoded(
    const std::vector<EncodedResourceSpans>& read) {
  TraceWriteResult result;
  std::vector<std::string_view> serialized;  // of each kept resource
  std::deque<std::string> reencoded;         // of those with refused spans (stable addresses)
  // The kept resources and the head form of their valid spans, made before taking mu_ (the
  // copies of the span bytes are most of the work); their resource and scope are set under it.
  std::vector<const EncodedResourceSpans*> kept;
  std::vector<std::vector<HeadSpan>> heads;
  for (size_t r = 0; r < read.size(); ++r) {
    const EncodedResourceSpans& rs = read[r];
    std::vector<HeadSpan> spans;
    size_t refused = 0;
    for (size_t s = 0; s < rs.scopes.size(); ++s) {
      const std::vector<EncodedSpan>& scope_spans = rs.scopes[s].spans;
      for (size_t i = 0; i < scope_spans.size(); ++i) {
        if (scope_spans[i].valid) {
          spans.push_back(MakeHeadSpan(scope_spans[i]));
          continue;
        }
        if (result.spans_rejected == 0) {
          result.first_rejection = fmt::format("span {} of scope {} of resource {}: {}", i, s, r,
                                               ValidateSpan(scope_spans[i]));
        }
        ++result.spans_rejected;
        ++refused;
      }
    }
    if (spans.empty()) continue;
    result.spans_written += static_cast<int64_t>(spans.size());
    // The resource as received when none of its spans was refused; otherwise the encoding of the
    // kept ones.
    if (refused == 0) {
      serialized.push_back(rs.bytes);
    } else {
      serialized.push_back(reencoded.emplace_back(
          EncodeKeptSpans(rs, [](const EncodedSpan& span) { return span.valid; })));
    }
    kept.push_back(&rs);
    heads.push_back(std::move(spans));
  }
  ORIEL_RETURN_IF_ERROR(CommitWrite(serialized, result, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (size_t r = 0; r < kept.size(); ++r) IndexEncodedLocked(*kept[r], heads[r]);
  }));
  return result;
}

absl::Status TraceDB::CommitWrite(const std::vector<std::string_view>& kept,
                                  const TraceWriteResult& result,
                                  absl::FunctionRef<void()> index_locked) {
  if (spans_rejected_ != nullptr) spans_rejected_->Inc(static_cast<double>(result.spans_rejected));
  if (kept.empty()) return absl::OkStatus();
  ORIEL_RETURN_IF_ERROR(WaitForHeadRoom());

  absl::ReaderMutexLock write_lock(&write_mu_);
  // The WAL writes the request's bytes from where they are: no record is copied together.
  std::vector<std::array<std::string_view, 2>> parts;
  std::vector<storage::Wal::RecordParts> records;
  parts.reserve(kept.size());
  records.reserve(kept.size());
  for (std::string_view serialized : kept) {
    records.emplace_back(parts.emplace_back(PlainWalRecordParts(serialized)));
  }
  absl::Status appended = wal_->AppendParts(records);
  if (!appended.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot write spans to the trace WAL: {}", appended.message()));
  }
  bool flush = false;
  {
    absl::MutexLock lock(&mu_);
    index_locked();
    EnforceBoundsLocked();
    flush = FlushDueLocked();
  }
  if (flush && options_.maintenance_interval_nano > 0) {
    absl::MutexLock lock(&stop_mu_);
    flush_wanted_ = true;
  }
  if (spans_written_ != nullptr) spans_written_->Inc(static_cast<double>(result.spans_written));
  return absl::OkStatus();
}

void TraceDB::IndexEncodedLocked(const EncodedResourceSpans& rs, std::vector<HeadSpan>& heads) {
  std::string key(rs.resource);
  key += '\0';
  key += rs.schema_url;
  auto resource_it = resource_cache_.find(key);
  std::shared_ptr<const ResourceEntry> resource;
  if (resource_it != resource_cache_.end()) {
    resource = resource_it->second;
  } else {
    opentelemetry::proto::resource::v1::Resource parsed;
    // Checked when the bytes were read; an unparsable resource would be stored as empty.
    (void)parsed.ParseFromArray(rs.resource.data(), static_cast<int>(rs.resource.size()));
    if (resource_cache_.size() >= kEntryCacheSize) resource_cache_.clear();
    resource = MakeResourceEntry(std::move(parsed), std::string(rs.schema_url));
    resource_cache_.emplace(std::move(key), resource);
  }
  ServiceEntry& service = services_[resource->service];
  size_t next = 0;
  for (const EncodedScopeSpans& ss : rs.scopes) {
    std::shared_ptr<const ScopeEntry> scope;
    for (const EncodedSpan& span : ss.spans) {
      if (!span.valid) continue;
      if (scope == nullptr) {
        std::string scope_key(ss.scope);
        scope_key += '\0';
        scope_key += ss.schema_url;
        auto it = scope_cache_.find(scope_key);
        if (it != scope_cache_.end()) {
          scope = it->second;
        } else {
          opentelemetry::proto::common::v1::InstrumentationScope parsed;
          (void)parsed.ParseFromArray(ss.scope.data(), static_cast<int>(ss.scope.size()));
          if (scope_cache_.size() >= kEntryCacheSize) scope_cache_.clear();
          scope = MakeScopeEntry(std::move(parsed), std::string(ss.schema_url));
          scope_cache_.emplace(std::move(scope_key), scope);
        }
      }
      HeadSpan& head = heads[next++];
      head.resource = resource;
      head.scope = scope;
      // Valid: 16 bytes.
      const std::optional<TraceKey> trace_id = TraceKey::From(span.trace_id);
      if (!trace_id.has_value()) continue;
      IndexSpanLocked(*trace_id, std::move(head), service);
    }
  }
  // None of the spans was stored (all duplicates): no service to list.
  if (service.traces.empty() && service.operations.empty()) services_.erase(resource->service);
}

absl::StatusOr<TraceWriteResult> TraceDB::WriteSpans(
    google::protobuf::RepeatedPtrField<ResourceSpans>& resource_spans,
    std::vector<std::string_view>& encoded) {
  if (!encoded.empty() && encoded.size() != static_cast<size_t>(resource_spans.size())) {
    encoded.clear();  // not one per resource: not to be trusted
  }
  TraceWriteResult result;
  std::vector<std::string_view> kept_bytes;  // the serialization of each kept resource
  std::deque<std::string> serializations;    // those made here (stable addresses)
  std::vector<std::vector<std::string>> span_bytes;  // of each kept resource
  // Invalid spans are removed in place; the rest stay where they are (the head keeps their
  // bytes). `kept` counts the resources with spans left, compacted to the front.
  int kept = 0;
  for (int r = 0; r < resource_spans.size(); ++r) {
    auto* scopes = resource_spans.Mutable(r)->mutable_scope_spans();
    const int64_t rejected_before = result.spans_rejected;
    int kept_scopes = 0;
    for (int s = 0; s < scopes->size(); ++s) {
      auto* spans = scopes->Mutable(s)->mutable_spans();
      int kept_spans = 0;
      for (int i = 0; i < spans->size(); ++i) {
        std::string why = ValidateSpan(spans->Get(i));
        if (!why.empty()) {
          if (result.spans_rejected == 0) {
            result.first_rejection =
                fmt::format("span {} of scope {} of resource {}: {}", i, s, r, why);
          }
          ++result.spans_rejected;
          continue;
        }
        if (kept_spans != i) spans->SwapElements(kept_spans, i);
        ++kept_spans;
      }
      if (kept_spans < spans->size()) spans->DeleteSubrange(kept_spans, spans->size() - kept_spans);
      if (kept_spans == 0) continue;
      result.spans_written += kept_spans;
      if (kept_scopes != s) scopes->SwapElements(kept_scopes, s);
      ++kept_scopes;
    }
    if (kept_scopes < scopes->size())
      scopes->DeleteSubrange(kept_scopes, scopes->size() - kept_scopes);
    if (kept_scopes == 0) continue;
    if (kept != r) resource_spans.SwapElements(kept, r);
    const ResourceSpans& rs = resource_spans.Get(kept);
    // The resource as received when none of its spans was refused; otherwise one serialization.
    // Either way the WAL record is made of it, and the head keeps its span bytes.
    std::string_view bytes;
    if (!encoded.empty() && result.spans_rejected == rejected_before &&
        !encoded[static_cast<size_t>(r)].empty()) {
      bytes = encoded[static_cast<size_t>(r)];
    } else {
      bytes = serializations.emplace_back(rs.SerializeAsString());
    }
    span_bytes.push_back(SpanBytes(rs, bytes));
    kept_bytes.push_back(bytes);
    if (!encoded.empty())
      std::swap(encoded[static_cast<size_t>(kept)], encoded[static_cast<size_t>(r)]);
    ++kept;
  }
  if (kept < resource_spans.size())
    resource_spans.DeleteSubrange(kept, resource_spans.size() - kept);
  if (!encoded.empty()) encoded.resize(static_cast<size_t>(kept));
  ORIEL_RETURN_IF_ERROR(CommitWrite(kept_bytes, result, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (int r = 0; r < resource_spans.size(); ++r) {
      IndexLocked(resource_spans.Get(r), &span_bytes[static_cast<size_t>(r)]);
    }
  }));
  return result;
}

absl::Status TraceDB::WaitForHeadRoom() {
  if (stall_memory_bytes_ == 0) return absl::OkStatus();
  // Waiting makes sense only for a flush that runs or that the background thread will start.
  const bool background = options_.maintenance_interval_nano > 0;
  auto room = [this, background]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return memory_bytes_ <= stall_memory_bytes_ || !(flushing_ || (background && FlushDueLocked()));
  };
  {
    absl::ReaderMutexLock lock(&mu_);
    if (room()) return absl::OkStatus();
  }
  // The flush frees the head when it ends; writing on meanwhile would grow it without bound
  // when writes outpace segment encoding.
  absl::MutexLock lock(&mu_);
  ++write_stalls_;
  if (write_stalls_counter_ != nullptr) write_stalls_counter_->Inc();
  if (mu_.AwaitWithTimeout(absl::Condition(&room),
                           absl::Nanoseconds(options_.write_stall_timeout_nano))) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      fmt::format("cannot write spans: the trace head holds an estimated {} bytes, over its bound "
                  "of {}, while a flush to disk runs; retry later",
                  memory_bytes_, stall_memory_bytes_));
}

std::shared_ptr<const ResourceEntry> TraceDB::ResourceLocked(const ResourceSpans& rs) {
  std::string key = ResourceKey(rs.resource(), rs.schema_url());
  auto it = resource_cache_.find(key);
  if (it != resource_cache_.end()) return it->second;
  // Bounded, as resources are client input; dropping the cache only costs the sharing.
  if (resource_cache_.size() >= kEntryCacheSize) resource_cache_.clear();
  auto entry = MakeResourceEntry(rs.resource(), rs.schema_url());
  resource_cache_.emplace(std::move(key), entry);
  return entry;
}

std::shared_ptr<const ScopeEntry> TraceDB::ScopeLocked(const ScopeSpans& ss) {
  std::string key = ScopeKey(ss.scope(), ss.schema_url());
  auto it = scope_cache_.find(key);
  if (it != scope_cache_.end()) return it->second;
  if (scope_cache_.size() >= kEntryCacheSize) scope_cache_.clear();
  auto entry = MakeScopeEntry(ss.scope(), ss.schema_url());
  scope_cache_.emplace(std::move(key), entry);
  return entry;
}

size_t TraceDB::IndexLocked(const ResourceSpans& rs, std::vector<std::string>* span_bytes) {
  auto resource = ResourceLocked(rs);
  // Every span of a resource is of its service: one lookup for all of them.
  ServiceEntry& service = services_[resource->service];
  size_t added = 0;
  size_t next = 0;
  for (const ScopeSpans& ss : rs.scope_spans()) {
    auto scope = ScopeLocked(ss);
    for (const Span& span : ss.spans()) {
      std::string bytes;
      if (span_bytes != nullptr) {
        bytes = std::move((*span_bytes)[next++]);
      } else {
        // Replayed records come from disk: check them as strictly as a write.
        if (!ValidateSpan(span).empty()) continue;
        bytes = span.SerializeAsString();
      }
      // Validated: 16 bytes.
      const std::optional<TraceKey> trace_id = TraceKey::From(span.trace_id());
      if (!trace_id.has_value()) continue;
      if (IndexSpanLocked(*trace_id, MakeHeadSpan(resource, scope, span, std::move(bytes)),
                          service)) {
        ++added;
      }
    }
  }
  // None of the spans was stored (duplicates, or invalid on replay): no service to list.
  if (service.traces.empty() && service.operations.empty()) services_.erase(resource->service);
  return added;
}

bool TraceDB::IndexSpanLocked(const TraceKey& trace_id, HeadSpan span, ServiceEntry& service) {
  const size_t bytes = span.bytes.size();
  auto [it, inserted] = traces_.try_emplace(trace_id);
  TraceEntry& trace = it->second;
  size_t memory = 0;
  if (inserted) {
    trace.generation = ++next_generation_;
    memory += sizeof(std::pair<const TraceKey, TraceEntry>) * 8 / 7 + kOrderedEntryBytes;
  }
  const uint64_t span_id = SpanIdWord(span.span_id);
  if (!inserted && trace.span_ids.contains(span_id)) {
    bool duplicate = std::any_of(trace.spans.begin(), trace.spans.end(),
                                 [&](const HeadSpan& s) { return SameHeadSpan(s, span); });
    if (duplicate) {
      dead_bytes_ += bytes;
      return false;
    }
  }
  const int64_t end = span.end;
  const int64_t start = span.start;
  auto reorder = [](TimeOrderedTraces& traces, int64_t from, int64_t to, const TraceKey& id) {
    traces.erase({from, id});
    traces.emplace(to, id);
  };
  if (inserted) {
    trace.newest_end = end;
    by_end_.emplace(end, trace_id);
  } else if (end > trace.newest_end) {
    reorder(by_end_, trace.newest_end, end, trace_id);
    trace.newest_end = end;
  }
  auto [start_it, first_of_service] = service.newest_start.try_emplace(trace_id, start);
  if (first_of_service) {
    memory += kServiceOfTraceBytes;
    service.traces.emplace(start, trace_id);
  } else if (start > start_it->second) {
    reorder(service.traces, start_it->second, start, trace_id);
    start_it->second = start;
  }
  const std::pair<std::string_view, int32_t> op_key(span.name(), span.kind);
  auto op = service.operations.find(op_key);
  if (op == service.operations.end()) {
    op = service.operations.emplace(std::pair(std::string(op_key.first), op_key.second), 0).first;
  }
  ++op->second;
  span.operation_spans = &op->second;
  trace.span_ids.insert(span_id);
  trace.bytes += bytes;
  memory += kSpanIndexBytes + HeadSpanHeapBytes(span);
  trace.memory += memory;
  memory_bytes_ += memory;
  if (spans_ == 0) head_since_ = Now();
  bytes_ += bytes;
  ++spans_;
  trace.spans.push_back(std::move(span));
  return true;
}

void TraceDB::DropTraceLocked(const TraceKey& trace_id, bool flushed,
                              std::vector<TraceEntry>* removed) {
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return;
  TraceEntry& trace = it->second;
  // Spans of one resource come together: its service is looked up once per run of them.
  const ResourceEntry* last_resource = nullptr;
  auto service = services_.end();
  for (const HeadSpan& s : trace.spans) {
    if (s.resource.get() != last_resource) {
      last_resource = s.resource.get();
      service = services_.find(s.resource->service);
      if (service != services_.end()) {
        ServiceEntry& entry = service->second;
        auto start = entry.newest_start.find(trace_id);
        if (start != entry.newest_start.end()) {
          entry.traces.erase({start->second, trace_id});
          entry.newest_start.erase(start);
        }
      }
    }
    if (service == services_.end()) continue;
    ServiceEntry& entry = service->second;
    if (--*s.operation_spans <= 0) {
      entry.operations.erase(std::pair<std::string_view, int32_t>(s.name(), s.kind));
    }
    if (entry.traces.empty() && entry.operations.empty()) {
      services_.erase(service);
      service = services_.end();
      last_resource = nullptr;
    }
  }
  by_end_.erase({trace.newest_end, trace_id});
  spans_ -= trace.spans.size();
  bytes_ -= trace.bytes;
  memory_bytes_ -= trace.memory;
  if (!flushed) {
    dead_bytes_ += trace.bytes;
    ++traces_dropped_;
  }
  if (removed != nullptr) removed->push_back(std::move(trace));
  traces_.erase(it);
}

void TraceDB::EnforceBoundsLocked() {
  while (!by_end_.empty() && ((options_.max_traces != 0 && traces_.size() > options_.max_traces) ||
                              (options_.max_bytes != 0 && bytes_ > options_.max_bytes))) {
    const TraceKey oldest = by_end_.begin()->second;
    DropTraceLocked(oldest);
  }
  UpdateGaugesLocked();
}

void TraceDB::EnforceRetentionLocked() {
  if (options_.retention_nano <= 0) return;
  const int64_t cutoff = Now() - options_.retention_nano;
  while (!by_end_.empty() && by_end_.begin()->first < cutoff) {
    const TraceKey oldest = by_end_.begin()->second;
    DropTraceLocked(oldest);
  }
  UpdateGaugesLocked();
}

Trace TraceDB::BuildTraceLocked(const TraceKey& trace_id, const TraceEntry& entry) {
  std::vector<StoredSpan> parsed(entry.spans.size());
  std::vector<StoredSpan*> spans;
  spans.reserve(entry.spans.size());
  for (size_t i = 0; i < entry.spans.size(); ++i) {
    if (ParseHeadSpan(entry.spans[i], &parsed[i])) spans.push_back(&parsed[i]);
  }
  return BuildTrace(trace_id.view(), spans);
}

std::optional<Trace> TraceDB::GetMergedTrace(std::string_view trace_id) {
  std::vector<HeadSpan> spans;
  std::vector<std::shared_ptr<Segment>> segments;
  {
    // One lock for both: a flush moves spans from the head into a new segment atomically.
    lookups_waiting_.fetch_add(1, std::memory_order_relaxed);
    absl::ReaderMutexLock lock(&mu_);
    lookups_waiting_.fetch_sub(1, std::memory_order_relaxed);
    segments = segments_;
    const std::optional<TraceKey> key = TraceKey::From(trace_id);
    auto it = key.has_value() ? traces_.find(*key) : traces_.end();
    if (it != traces_.end()) {
      const std::vector<HeadSpan>& head = it->second.spans;
      spans.assign(head.begin() + static_cast<ptrdiff_t>(DrainingSpansLocked(*key, it->second)),
                   head.end());
    }
  }
  // Older segments first, then the head: the order the spans were written in.
  std::vector<StoredSpan> all;
  for (const auto& segment : segments) {
    auto from_segment = segment->ReadTrace(trace_id);
    if (!from_segment.ok()) {
      log::Error("cannot read a trace from a segment", {{"err", from_segment.status()}});
      continue;
    }
    for (auto& s : *from_segment) all.push_back(std::move(s));
  }
  // Parsed after mu_ is released: the copies are the reader's.
  for (const HeadSpan& s : spans) {
    StoredSpan parsed;
    if (ParseHeadSpan(s, &parsed)) all.push_back(std::move(parsed));
  }
  if (all.empty()) return std::nullopt;
  std::vector<StoredSpan*> pointers;
  pointers.reserve(all.size());
  for (StoredSpan& s : all) pointers.push_back(&s);
  return BuildTrace(trace_id, pointers);
}

std::optional<Trace> TraceDB::GetTrace(std::string_view trace_id) {
  return GetMergedTrace(trace_id);
}

std::vector<std::string> TraceDB::Services() {
  absl::ReaderMutexLock lock(&mu_);
  std::set<std::string> names;
  for (const auto& [name, entry] : services_) names.insert(name);
  for (const auto& segment : segments_) {
    for (const std::string& name : segment->services()) names.insert(name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::vector<Operation> TraceDB::Operations(std::string_view service,
                                           std::optional<int32_t> span_kind) {
  absl::ReaderMutexLock lock(&mu_);
  std::set<std::pair<std::string, int32_t>> found;
  auto it = services_.find(service);
  if (it != services_.end()) {
    for (const auto& [op, count] : it->second.operations) found.insert(op);
  }
  for (const auto& segment : segments_) {
    const auto& names = segment->services();
    for (const SegmentOperation& op : segment->operations()) {
      if (names[op.service] == service) found.emplace(op.name, op.kind);
    }
  }
  std::vector<Operation> ops;
  for (const auto& [name, kind] : found) {
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
  // (newest span start of the service, trace id) of the matches of every part, merged by id.
  std::map<std::string, int64_t> matches;
  std::vector<std::shared_ptr<Segment>> segments;
  {
    absl::ReaderMutexLock lock(&mu_);
    segments = segments_;
    auto service = services_.find(query.service);
    if (service != services_.end()) {
      const auto& by_start = service->second.traces;
      size_t found = 0;
      HeadMatchScratch scratch;  // for head spans whose attributes tags need
      for (auto it = by_start.rbegin(); it != by_start.rend() && found < limit; ++it) {
        // Every span of the service in this trace and the ones after started before the range.
        if (query.start_unix_nano != 0 && it->first < query.start_unix_nano) break;
        auto trace = traces_.find(it->second);
        if (trace == traces_.end()) continue;
        const bool match =
            std::any_of(trace->second.spans.begin(), trace->second.spans.end(), [&](const auto& s) {
              return s.resource->service == query.service && HeadSpanMatches(query, s, &scratch);
            });
        if (match) {
          matches[std::string(it->second.view())] = it->first;
          ++found;
        }
      }
    }
  }
  // Segments newest first (by their newest span of the service), stopping once `limit` matches
  // are newer than anything an older segment holds.
  std::vector<std::pair<int64_t, const Segment*>> by_newest;
  for (const auto& segment : segments) {
    std::optional<int64_t> newest = segment->NewestStart(query.service);
    if (!newest.has_value()) continue;
    if (query.start_unix_nano != 0 && *newest < query.start_unix_nano) continue;
    by_newest.emplace_back(*newest, segment.get());
  }
  std::sort(by_newest.begin(), by_newest.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [segment_newest, segment] : by_newest) {
    if (matches.size() >= limit) {
      std::vector<int64_t> keys;
      keys.reserve(matches.size());
      for (const auto& [id, newest] : matches) keys.push_back(newest);
      std::nth_element(keys.begin(), keys.begin() + static_cast<ptrdiff_t>(limit - 1), keys.end(),
                       std::greater<>());
      if (keys[limit - 1] > segment_newest) break;
    }
    ORIEL_ASSIGN_OR_RETURN(auto found, segment->Find(query, limit));
    for (auto& [newest, id] : found) {
      auto [it, inserted] = matches.try_emplace(std::move(id), newest);
      if (!inserted) it->second = std::max(it->second, newest);
    }
  }
  std::vector<std::pair<int64_t, std::string>> ranked;
  ranked.reserve(matches.size());
  for (auto& [id, newest] : matches) ranked.emplace_back(newest, id);
  std::sort(ranked.rbegin(), ranked.rend());
  if (ranked.size() > limit) ranked.resize(limit);
  std::vector<Trace> traces;
  for (const auto& [newest, id] : ranked) {
    std::optional<Trace> trace = GetMergedTrace(id);
    // Dropped by retention since it matched.
    if (trace.has_value()) traces.push_back(*std::move(trace));
  }
  return traces;
}

std::vector<DependencyLink> TraceDB::Dependencies(int64_t end_unix_nano, int64_t lookback_nano) {
  const int64_t after = end_unix_nano - lookback_nano;
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  std::vector<std::shared_ptr<Segment>> segments;
  {
    // One lock for the head and the segment list: a flush moves spans from one to the other.
    absl::ReaderMutexLock lock(&mu_);
    segments = segments_;
    absl::flat_hash_map<std::string, std::string_view> service_of;
    for (auto it = by_end_.upper_bound({after, TraceKey::Max()}); it != by_end_.end(); ++it) {
      const TraceEntry& trace = traces_.at(it->second);
      // Spans a published segment holds are counted there, as after the flush.
      const std::span<const HeadSpan> head =
          std::span(trace.spans).subspan(DrainingSpansLocked(it->second, trace));
      service_of.clear();
      for (const HeadSpan& s : head) service_of[s.span_id] = s.resource->service;
      for (const HeadSpan& s : head) {
        const int64_t end = s.end;
        if (end <= after || end > end_unix_nano || s.parent_span_id.empty()) continue;
        auto parent = service_of.find(s.parent_span_id);
        if (parent == service_of.end() || parent->second == s.resource->service) continue;
        ++counts[{std::string(parent->second), s.resource->service}];
      }
    }
  }
  for (const auto& segment : segments) {
    if (segment->max_end() <= after || segment->min_start() > end_unix_nano) continue;
    absl::Status added = segment->AddDependencies(after, end_unix_nano, &counts);
    if (!added.ok()) log::Error("cannot read dependencies from a segment", {{"err", added}});
  }
  std::vector<DependencyLink> links;
  for (auto& [key, count] : counts) links.push_back(DependencyLink{key.first, key.second, count});
  return links;
}

absl::Status TraceDB::Maintain(bool force) {
  absl::MutexLock compact_lock(&compact_mu_);
  bool flush = false;
  {
    absl::MutexLock lock(&mu_);
    EnforceRetentionLocked();
    DropSegmentsLocked();
    flush = FlushDueLocked();
  }
  if (flush) ORIEL_RETURN_IF_ERROR(FlushLocked());
  bool compact = force;
  {
    absl::MutexLock lock(&mu_);
    compact = compact || (dead_bytes_ > 0 && dead_bytes_ >= bytes_);
  }
  if (!compact) return absl::OkStatus();
  return CompactLocked();
}

absl::Status TraceDB::Flush() {
  absl::MutexLock compact_lock(&compact_mu_);
  return FlushLocked();
}

bool TraceDB::FlushDueLocked() {
  if (spans_ == 0) return false;
  return (options_.flush_spans != 0 && spans_ >= options_.flush_spans) ||
         (options_.flush_bytes != 0 && bytes_ >= options_.flush_bytes) ||
         (options_.flush_memory_bytes != 0 && memory_bytes_ >= options_.flush_memory_bytes) ||
         (options_.flush_age_nano > 0 && Now() - head_since_ >= options_.flush_age_nano);
}

void TraceDB::DropSegmentsLocked() {
  const int64_t cutoff = options_.retention_nano > 0 ? Now() - options_.retention_nano : 0;
  uint64_t disk = 0;
  for (const auto& segment : segments_) disk += segment->file_bytes();
  std::vector<std::shared_ptr<Segment>> kept;
  for (const auto& segment : segments_) {
    const bool expired = options_.retention_nano > 0 && segment->max_end() < cutoff;
    // Oldest first: drop from the front while the rest is over the bound.
    const bool over =
        options_.max_disk_bytes != 0 && disk > options_.max_disk_bytes && kept.empty();
    if (!expired && !over) {
      kept.push_back(segment);
      continue;
    }
    disk -= segment->file_bytes();
    ++segments_dropped_;
    std::error_code ec;
    // Readers that copied the pointer keep reading through the open descriptor.
    std::filesystem::remove(segment->path(), ec);
    if (ec) {
      log::Error("cannot remove trace segment", {{"file", segment->path()}, {"err", ec.message()}});
    }
  }
  segments_ = std::move(kept);
  UpdateGaugesLocked();
}

absl::Status TraceDB::FlushLocked() {
  uint64_t cut = 0;
  std::vector<FlushedTrace> snapshot;
  uint64_t seq = 0;
  {
    // With no write between its WAL append and its indexing, the head now holds every record
    // before the cut.
    absl::MutexLock write_lock(&write_mu_);
    absl::MutexLock lock(&mu_);
    if (traces_.empty()) return absl::OkStatus();
    ORIEL_ASSIGN_OR_RETURN(cut, wal_->Cut());
    snapshot.reserve(traces_.size());
    for (const auto& [id, entry] : traces_) {
      snapshot.push_back(FlushedTrace{id, entry.generation, entry.spans.size()});
    }
    seq = next_segment_seq_++;
    flushing_ = true;
  }
  // Every return below ends the flush, for writers waiting on it too.
  absl::Cleanup end_flush = [this] {
    absl::MutexLock lock(&mu_);
    flushing_ = false;
    draining_ = nullptr;
  };
  std::sort(snapshot.begin(), snapshot.end(),
            [](const FlushedTrace& a, const FlushedTrace& b) { return a.id < b.id; });
  const std::string path =
      fmt::format("{}/{}/{:08}-{:020}{}", dir_, kSegmentDir, seq, cut, kSegmentSuffix);
  ORIEL_ASSIGN_OR_RETURN(auto writer,
                         SegmentWriter::Create(path, cut,
                                               {.block_bytes = options_.segment_block_bytes,
                                                .zstd_level = options_.segment_zstd_level}));
  // Blocks are encoded under the shared lock (writes wait only for that) and compressed and
  // written without it. The encoder reads the head spans' bytes in place.
  std::vector<const HeadSpan*> spans;
  for (size_t next = 0; next < snapshot.size();) {
    {
      absl::ReaderMutexLock lock(&mu_);
      for (; next < snapshot.size() && !writer->BlockFull(); ++next) {
        FlushedTrace& flushed = snapshot[next];
        auto it = traces_.find(flushed.id);
        // Dropped meanwhile (retention or bounds): its spans are dead.
        if (it == traces_.end() || it->second.generation != flushed.generation) {
          flushed.spans = 0;
          continue;
        }
        spans.clear();
        flushed.spans = std::min(flushed.spans, it->second.spans.size());
        for (size_t i = 0; i < flushed.spans; ++i) spans.push_back(&it->second.spans[i]);
        writer->AddTrace(flushed.id.view(), spans);
      }
    }
    ORIEL_RETURN_IF_ERROR(writer->CloseBlock());
  }
  if (writer->spans() == 0) return absl::OkStatus();
  ORIEL_RETURN_IF_ERROR(writer->Finish());
  ORIEL_ASSIGN_OR_RETURN(auto segment, Segment::Open(path));
  auto flushed = std::make_shared<const std::vector<FlushedTrace>>(std::move(snapshot));
  {
    // One step for readers: the segment appears and the head spans it holds disappear.
    absl::MutexLock lock(&mu_);
    segments_.push_back(std::move(segment));
    draining_ = flushed;
    UpdateGaugesLocked();
  }
  DrainFlushedLocked(*flushed);
  {
    absl::MutexLock lock(&mu_);
    draining_ = nullptr;
    // The spans the compaction would have to rewrite are now on disk.
    dead_bytes_ = std::min(dead_bytes_, bytes_);
    if (spans_ > 0) head_since_ = Now();
    ++flushes_;
    flushing_ = false;  // wakes stalled writers now rather than after the WAL deletion
    UpdateGaugesLocked();
  }
  return wal_->RemoveSegmentsBefore(cut);
}

void TraceDB::DrainFlushedLocked(const std::vector<FlushedTrace>& flushed) {
  // Few enough traces per lock hold that a read or write waits well under a millisecond; the
  // removed entries (every attribute an allocation) are freed after the lock is released.
  constexpr size_t kTracesPerBatch = 64;
  std::vector<TraceEntry> removed;
  removed.reserve(kTracesPerBatch);
  for (size_t next = 0; next < flushed.size();) {
    {
      absl::MutexLock lock(&mu_);
      for (const size_t end = std::min(flushed.size(), next + kTracesPerBatch); next < end;
           ++next) {
        const FlushedTrace& trace = flushed[next];
        if (trace.spans == 0) continue;
        auto it = traces_.find(trace.id);
        if (it == traces_.end() || it->second.generation != trace.generation) continue;
        DropTraceLocked(trace.id, /*flushed=*/true, &removed);
        // Spans written during the flush stay in the head.
        std::vector<HeadSpan>& spans = removed.back().spans;
        for (size_t i = trace.spans; i < spans.size(); ++i) {
          ServiceEntry& service = services_[spans[i].resource->service];
          IndexSpanLocked(trace.id, std::move(spans[i]), service);
        }
      }
      UpdateGaugesLocked();
    }
    removed.clear();
    // A waiter woken by the unlock above is rarely scheduled before this thread takes the lock
    // again, so lookups used to wait for many batches (10-80 ms per lookup during a drain).
    // Let them in, for a bounded time so that a stream of lookups cannot stall the drain.
    for (int i = 0; i < 20 && lookups_waiting_.load(std::memory_order_relaxed) > 0; ++i) {
      absl::SleepFor(absl::Microseconds(50));
    }
  }
}

size_t TraceDB::DrainingSpansLocked(const TraceKey& trace_id, const TraceEntry& entry) const {
  if (draining_ == nullptr) return 0;
  auto it = std::lower_bound(draining_->begin(), draining_->end(), trace_id,
                             [](const FlushedTrace& t, const TraceKey& id) { return t.id < id; });
  // A trace dropped and written again since is a new generation the segment does not hold.
  if (it == draining_->end() || it->id != trace_id || it->generation != entry.generation) return 0;
  return std::min(it->spans, entry.spans.size());
}

absl::Status TraceDB::CompactLocked() {
  uint64_t first_live = 0;
  std::vector<TraceKey> live;
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
      auto wake = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stop_ || flush_wanted_; };
      stop_mu_.AwaitWithTimeout(absl::Condition(&wake), interval);
      if (stop_) return;
      flush_wanted_ = false;
    }
    absl::Status status = Maintain();
    if (!status.ok()) log::Error("cannot maintain the trace store", {{"err", status}});
  }
}

TraceDBStats TraceDB::Stats() {
  absl::ReaderMutexLock lock(&mu_);
  TraceDBStats stats{.traces = traces_.size(),
                     .spans = spans_,
                     .bytes = bytes_,
                     .memory_bytes = memory_bytes_,
                     .write_stalls = write_stalls_,
                     .traces_dropped = traces_dropped_,
                     .compactions = compactions_,
                     .head_spans = spans_,
                     .segments = segments_.size(),
                     .flushes = flushes_,
                     .segments_dropped = segments_dropped_};
  if (draining_ != nullptr) {
    for (const FlushedTrace& flushed : *draining_) {
      auto it = traces_.find(flushed.id);
      if (it == traces_.end()) continue;
      const size_t draining = DrainingSpansLocked(flushed.id, it->second);
      stats.draining_spans += draining;
      if (draining != 0 && draining == it->second.spans.size()) --stats.traces;
    }
    stats.spans -= stats.draining_spans;
    stats.head_spans -= stats.draining_spans;
  }
  for (const auto& segment : segments_) {
    stats.traces += segment->traces();
    stats.spans += segment->spans();
    stats.segment_bytes += segment->file_bytes();
    stats.segment_spans += segment->spans();
  }
  return stats;
}

}  // namespace oriel::tracestore
