// The in-memory head of the metrics engine: series found by their label set, each with its
// compressed chunks of in-order samples and a buffer of out-of-order ones, the postings index,
// and the append rules Prometheus applies.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "base/small_mutex.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/sample.h"
#include "tsdb/exemplar_storage.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/packed_chunk.h"
#include "tsdb/postings.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {

struct HeadOptions {
  // Floats older than a series' last sample but not older than (newest sample - window) are
  // accepted into an out-of-order buffer merged on read, also when their range is already in
  // blocks (see CheckFloat). 0 disables out-of-order ingestion. Histograms are never accepted
  // out of order.
  int64_t out_of_order_time_window_ms = 0;
  // At most; float chunks that pack smaller are closed at half of it (see HeadChunk).
  int samples_per_chunk = 120;
  size_t max_exemplars = 100000;  // total over all series; 0 disables exemplars
  // How series are hashed for lookup; null: model::Labels::Hash. Injectable so that tests can
  // force collisions, which must be told apart by comparing the labels.
  uint64_t (*label_hash)(const model::Labels&) = nullptr;
};

// Without an out-of-order window, samples older than (head max time - this) are refused as too
// old: Prometheus' half of the 2h block range.
inline constexpr int64_t kMinValidTimeWindowMs = 3600 * 1000;

// What the append rules say about one sample.
enum class Verdict : uint8_t {
  kAppend,            // new, in order
  kAppendOutOfOrder,  // new, into the out-of-order buffer
  kDuplicate,         // same timestamp and value as a stored sample: accepted, nothing to store
  kRejectOutOfOrder,  // older than the series' last sample (no or outside the OOO window)
  kRejectDuplicate,   // same timestamp as a stored sample, another value
  kRejectTooOld,      // older than the head allows
};

// The error text Prometheus uses for a refused sample (e.g. "out of order sample").
std::string_view VerdictMessage(Verdict v);

// A float chunk is XOR-encoded while it takes appends and packed when full, or already when half
// full if that is smaller (see Head::ApplyFloat); histogram chunks stay as written.
struct HeadChunk {
  std::variant<XorChunk, HistogramChunk, PackedFloatChunk> data;
  bool is_float() const { return data.index() != 1; }
  bool is_packed() const { return data.index() == 2; }
  int num_samples() const;
  int64_t min_time() const;
  int64_t max_time() const;
  std::string_view bytes() const;
};

// One series of the head. Locking: writers hold append_mu from checking a write through its WAL
// append to applying it, so a series' order in the WAL is its order in the head; applying also
// takes data_mu, which readers hold while they copy. So the sample fields are written with both
// held and may be read with either.
class MemSeries {
 public:
  MemSeries(uint32_t ref, model::Labels labels) : ref(ref), labels(std::move(labels)) {}
  ~MemSeries() { FreeChunks(); }
  MemSeries(const MemSeries&) = delete;
  MemSeries& operator=(const MemSeries&) = delete;

  // What few series have: samples that do not go into the in-order chunks (only series written
  // out of order, with an out-of-order window) and a last histogram (only histogram series).
  // Held behind one pointer allocated on first use: three empty vectors and a pointer in every
  // series would cost 80 bytes each.
  struct Rare {
    std::vector<model::Sample> ooo;  // out-of-order floats, sorted, timestamps unique
    // Out-of-order floats older than the head's valid range when they came (their range was
    // already cut into blocks): they go into blocks of their own (see DB::PersistWindow), never
    // into the head's next in-order block. `late_persisting` holds those being written to such
    // a block. Both sorted, timestamps unique; not counted in the head's MinTime/MaxTime.
    std::vector<model::Sample> late;
    std::vector<model::Sample> late_persisting;
    std::unique_ptr<model::HistogramSample> last_histogram;
  };

  // Fields are ordered so that the small ones share words: a head holds millions of series, and
  // at 80 bytes each jemalloc gives them 80 (96 was the next size class).
  const uint32_t ref;
  // Four bytes each (std::mutex takes 40).
  SmallMutex append_mu;
  mutable SmallMutex data_mu;

 private:
  // The in-order chunks: a count and an array (12 bytes, std::vector took 24) whose capacity is
  // the count rounded up to a power of two. Allocated without new[]'s 8-byte element count,
  // which would put an array of one 64-byte chunk in jemalloc's 80-byte size class.
  uint32_t num_chunks_ = 0;
  HeadChunk* chunks_ = nullptr;

 public:
  const model::Labels labels;

  // In-order samples, ascending, non-overlapping.
  std::span<HeadChunk> chunks() { return {chunks_, num_chunks_}; }
  std::span<const HeadChunk> chunks() const { return {chunks_, num_chunks_}; }
  // Appends an empty float chunk and returns it.
  HeadChunk& AddChunk();
  void SetChunks(std::vector<HeadChunk> chunks);

  const std::vector<model::Sample>& ooo() const { return Rarely().ooo; }
  const std::vector<model::Sample>& late() const { return Rarely().late; }
  const std::vector<model::Sample>& late_persisting() const { return Rarely().late_persisting; }
  // The out-of-order buffers for changing, allocated if the series had none.
  Rare& MutableOutOfOrder() { return MutableRare(); }
  // The last in-order histogram, or null (only series that have histograms have one).
  const model::HistogramSample* last_histogram() const { return Rarely().last_histogram.get(); }
  void SetLastHistogram(const model::HistogramSample& h);

  int64_t last_time = 0;         // of the last in-order sample
  uint64_t last_bits = 0;        // of the last in-order float
  int64_t min_time = INT64_MAX;  // over all samples, late ones included
  int64_t max_time = INT64_MIN;
  bool has_in_order = false;
  bool last_is_float = true;
  // Whether this series' record is durable in the WAL. Guarded by append_mu.
  bool logged = false;

 private:
  const Rare& Rarely() const {
    static const Rare kNone;
    return rare_ != nullptr ? *rare_ : kNone;
  }
  void FreeChunks();  // leaves none
  Rare& MutableRare() {
    if (rare_ == nullptr) rare_ = std::make_unique<Rare>();
    return *rare_;
  }
  std::unique_ptr<Rare> rare_;  // null until the first rare thing
};

// What one write has already accepted for a series but not yet applied (so the checks of its
// later samples see them). Initialise with Staged::Of(series) under append_mu.
struct Staged {
  static Staged Of(const MemSeries& s);
  bool has_last = false;
  int64_t last_time = 0;
  bool last_is_float = true;
  uint64_t last_bits = 0;
  const model::HistogramSample* last_histogram = nullptr;  // points into the write or series
  // Every staged float; inline because a write usually carries one sample per series.
  absl::InlinedVector<std::pair<int64_t, uint64_t>, 1> floats;
  int64_t max_ooo_time = INT64_MIN;  // of the staged out-of-order floats
};

// An immutable copy of a series' data overlapping a time range, for lock-free iteration.
struct SeriesSnapshot {
  struct Chunk {
    bool is_float = true;
    // Float bytes in the delta encoding (a packed head chunk) instead of XOR.
    bool is_delta = false;
    std::string bytes;
    int num_samples = 0;
    int64_t min_time = 0;
    int64_t max_time = 0;
    // Float samples already decoded (blocks' delta chunks); when non-empty, `bytes` is unused.
    std::vector<model::Sample> samples;
  };
  model::Labels labels;
  std::vector<Chunk> chunks;
  std::vector<model::Sample> ooo;
};

class Head {
 public:
  explicit Head(HeadOptions options);
  ~Head();

  const HeadOptions& options() const { return options_; }

  // The series for each label set, creating the missing ones; `created` (if not null) tells
  // which were new. Fails with kResourceExhausted, creating nothing, when the new series would
  // take the head past `max_series` (0: no limit). Thread-safe.
  [[nodiscard]] absl::StatusOr<std::vector<MemSeries*>> GetOrCreate(
      std::span<const model::Labels* const> labels, size_t max_series, std::vector<bool>* created);

  // The head's own label set for each of `sets` it holds a series for (see
  // MetricsWriter::FindLabels); the others' entries of `out` are left as they are. Thread-safe.
  // REQUIRES: out.size() == sets.size().
  void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) const;

  // Recreates series `ref` during WAL replay; an existing series `ref` must have `labels`.
  [[nodiscard]] absl::Status CreateWithRef(uint32_t ref, const model::Labels& labels);

  // The series with id `ref`, or null. Thread-safe.
  MemSeries* Get(uint32_t ref) const;
  size_t NumSeries() const;

  // Highest and lowest sample timestamps ever applied (INT64_MIN / INT64_MAX when empty).
  int64_t MaxTime() const { return max_time_.load(std::memory_order_acquire); }
  int64_t MinTime() const { return min_time_.load(std::memory_order_acquire); }

  // Samples older than this are refused as too old (kRejectTooOld): their time range is already
  // in a block (or being written to one). With an out-of-order window, floats older than this
  // but inside the window are accepted anyway as late samples (see ApplyLateFloat). Thread-safe.
  void SetMinValidTime(int64_t t) { min_valid_time_.store(t, std::memory_order_release); }
  int64_t MinValidTime() const { return min_valid_time_.load(std::memory_order_acquire); }

  // Drops every sample older than `t` (chunks straddling `t` are re-encoded) and unlinks the
  // series left without samples (or that never had any) from the index, so selects and Get no
  // longer find them; returns how many. Their objects are retired, not freed (see FreeRetired).
  // MinTime() becomes the oldest remaining sample. REQUIRES: no concurrent writer (readers may
  // run).
  size_t TruncateBefore(int64_t t);
  // Frees the series retired by TruncateBefore. REQUIRES: nobody holds a pointer to one (no
  // reader or writer that could have found it before it was unlinked is still running).
  void FreeRetired();

  // The append rules. With an out-of-order window, an older float is accepted (as
  // kAppendOutOfOrder) when not older than (newest sample - window), the newest sample being the
  // head's or, when the head is behind, the newest one persisted (MinValidTime() - 1); a float
  // below MinValidTime() is then a late sample (ApplyLateFloat). Same timestamp as a stored
  // sample: kDuplicate with the same value, else kRejectDuplicate and the stored value stays
  // (Prometheus drops such out-of-order inserts too). REQUIRES: s.append_mu held; `staged` from
  // Staged::Of(s) plus this write's accepted samples (RecordFloat/RecordHistogram); `head_max_time`
  // the head's max time including this write's accepted samples.
  Verdict CheckFloat(const MemSeries& s, const Staged& staged, int64_t t, double v,
                     int64_t head_max_time) const;
  Verdict CheckHistogram(const MemSeries& s, const Staged& staged, const model::HistogramSample& h,
                         int64_t head_max_time) const;
  static void RecordFloat(Staged& staged, Verdict verdict, int64_t t, double v);
  static void RecordHistogram(Staged& staged, Verdict verdict, const model::HistogramSample& h);

  // Stores an accepted sample: appended in order when newer than the series' last sample,
  // otherwise inserted into the out-of-order buffer (a float at an existing timestamp is
  // dropped). Also what WAL replay uses, since the WAL only holds accepted samples.
  // REQUIRES: s.append_mu held (or single-threaded replay). Takes s.data_mu.
  void ApplyFloat(MemSeries& s, int64_t t, double v);
  void ApplyHistogram(MemSeries& s, const model::HistogramSample& h);
  // Stores an accepted float older than MinValidTime() into `s.late` (dropped when the late
  // samples already hold its timestamp). What replay of out-of-order WAL records uses too.
  // REQUIRES: as ApplyFloat. Takes s.data_mu.
  void ApplyLateFloat(MemSeries& s, int64_t t, double v);
  // Moves the late samples of `s` to `s.late_persisting` (after those a failed persist left
  // there) and returns a copy of all of them, for writing them into blocks; readers still see
  // them. REQUIRES: no concurrent writer. Takes s.data_mu.
  std::vector<model::Sample> BeginPersistLate(MemSeries& s);
  // Drops `s.late_persisting` once it is durable in blocks; a series left without samples goes
  // at the next TruncateBefore. REQUIRES: no concurrent writer (the append checks read the late
  // samples under append_mu alone). Takes s.data_mu.
  void EndPersistLate(MemSeries& s);
  // Late samples held (late and late_persisting). Thread-safe.
  int64_t NumLate() const { return num_late_.load(std::memory_order_acquire); }

  ExemplarStorage& exemplars() { return exemplars_; }
  const ExemplarStorage& exemplars() const { return exemplars_; }

  // Latest metadata per metric family wins. Thread-safe.
  void SetMetadata(const model::MetricMetadata& m);
  std::vector<model::MetricMetadata> Metadata(std::string_view metric, size_t limit) const;

  // Series matching all matchers (see PostingsIndex::Select), in id order. Thread-safe.
  std::vector<MemSeries*> Select(std::span<const model::Matcher> matchers) const;
  // Sorts series of this head by labels, as selects return them. Thread-safe; REQUIRES: none of
  // `series` freed meanwhile (the caller is a registered reader).
  void SortByLabels(std::vector<MemSeries*>& series) const;
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(std::string_view name) const;

  // Copies the chunks and out-of-order samples of `s` overlapping [mint, maxt], the late ones
  // only `with_late`; nullopt when nothing overlaps. Takes s.data_mu.
  std::optional<SeriesSnapshot> Snapshot(const MemSeries& s, int64_t mint, int64_t maxt,
                                         bool with_late = true) const;
  // Whether `s` has a sample in [mint, maxt] (by its time bounds). Takes s.data_mu.
  bool Overlaps(const MemSeries& s, int64_t mint, int64_t maxt) const;

 private:
  struct Existing {
    bool found = false;
    bool is_float = false;
    uint64_t bits = 0;
  };
  // The stored or staged sample of `s` at `t`, if any.
  Existing SampleAt(const MemSeries& s, const Staged& staged, int64_t t) const;
  // The series whose labels share the buffer of `labels`, found by the set's index slot (the
  // series ref CreateLocked put there), or null. REQUIRES: index_mu_ held, shared or exclusive.
  MemSeries* FindBySlotLocked(const model::Labels& labels) const;
  // REQUIRES: index_mu_ held, shared or exclusive.
  MemSeries* FindLocked(const model::Labels& labels, uint64_t hash) const;
  // REQUIRES: index_mu_ held exclusively.
  MemSeries* CreateLocked(uint32_t ref, const model::Labels& labels);
  void UpdateTimeBounds(MemSeries& s, int64_t t);
  uint64_t HashOf(const model::Labels& labels) const {
    return options_.label_hash != nullptr ? options_.label_hash(labels) : labels.Hash();
  }
  HeadChunk& ChunkForAppend(MemSeries& s, bool is_float, int64_t t);

  const HeadOptions options_;

  mutable std::shared_mutex index_mu_;              // guards the members up to num_series_
  std::vector<std::unique_ptr<MemSeries>> series_;  // by ref
  // The refs of the series in series_, as a hash set whose hash and equality look at the
  // series' label sets: 4 bytes a slot (a map from the hash to a list of series took 24, 50 MB
  // of a 1M-series head). Lookups by a label set and its hash (LabelsKey).
  struct LabelsKey {
    const model::Labels* labels;
    uint64_t hash;  // HashOf(*labels)
  };
  // A label set as views, hashed as HashOf would hash the set.
  struct ViewsKey {
    std::span<const model::LabelRef> labels;
    uint64_t hash;
  };
  struct SeriesRefHash {
    using is_transparent = void;
    const Head* head;
    size_t operator()(uint32_t ref) const { return head->HashOf(head->series_[ref]->labels); }
    size_t operator()(const LabelsKey& key) const { return key.hash; }
    size_t operator()(const ViewsKey& key) const { return key.hash; }
  };
  struct SeriesRefEq {
    using is_transparent = void;
    const Head* head;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t ref, const LabelsKey& key) const {
      return head->series_[ref]->labels == *key.labels;
    }
    bool operator()(const LabelsKey& key, uint32_t ref) const { return (*this)(ref, key); }
    bool operator()(uint32_t ref, const ViewsKey& key) const {
      return head->series_[ref]->labels.Equals(key.labels);
    }
    bool operator()(const ViewsKey& key, uint32_t ref) const { return (*this)(ref, key); }
  };
  absl::flat_hash_set<uint32_t, SeriesRefHash, SeriesRefEq> by_labels_;
  PostingsIndex postings_;
  size_t num_series_ = 0;
  std::vector<std::unique_ptr<MemSeries>> retired_;  // unlinked, not yet freed

  std::atomic<int64_t> max_time_{INT64_MIN};
  std::atomic<int64_t> min_time_{INT64_MAX};
  std::atomic<int64_t> min_valid_time_{INT64_MIN};
  std::atomic<int64_t> num_late_{0};

  ExemplarStorage exemplars_;

  // Every series' position in label order when it was last computed, by ref (with the series
  // then at that ref, to tell a stale entry): a select then sorts its series by integers instead
  // of comparing label sets (a sixth of an instant query's CPU on a 10k-series head, measured).
  struct LabelRanks {
    std::vector<const MemSeries*> series;
    std::vector<uint32_t> rank;
  };
  mutable std::mutex label_ranks_mu_;  // guards the pointer, not the (immutable) ranks
  mutable std::shared_ptr<const LabelRanks> label_ranks_;

  mutable std::mutex metadata_mu_;  // guards metadata_
  absl::flat_hash_map<std::string, model::MetricMetadata> metadata_;
};

}  // namespace oriel::tsdb
