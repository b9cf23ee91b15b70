#include "tsdb/head.h"

#include <algorithm>
#include <bit>
#include <iterator>
#include <memory>
#include <set>

#include "base/check.h"
#include "base/status.h"

namespace oriel::tsdb {
namespace {

int64_t SaturatingSub(int64_t a, int64_t b) {
  if (b > 0 && a < INT64_MIN + b) return INT64_MIN;
  return a - b;
}

bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameBits(a[i], b[i])) return false;
  }
  return true;
}

// Bit-exact equality of everything but the timestamp (a duplicate must be the same sample).
bool SameHistogram(const model::HistogramSample& a, const model::HistogramSample& b) {
  return a.counter_reset == b.counter_reset && a.schema == b.schema &&
         SameBits(a.zero_threshold, b.zero_threshold) && SameBits(a.zero_count, b.zero_count) &&
         SameBits(a.count, b.count) && SameBits(a.sum, b.sum) &&
         a.positive_spans == b.positive_spans && SameBits(a.positive_buckets, b.positive_buckets) &&
         a.negative_spans == b.negative_spans && SameBits(a.negative_buckets, b.negative_buckets) &&
         SameBits(a.custom_values, b.custom_values);
}

bool EarlierThan(const model::Sample& a, int64_t t) { return a.timestamp_ms < t; }

// The sample at `t` of a sorted buffer, or null.
const model::Sample* FindSample(const std::vector<model::Sample>& buffer, int64_t t) {
  auto it = std::lower_bound(buffer.begin(), buffer.end(), t, EarlierThan);
  return it != buffer.end() && it->timestamp_ms == t ? &*it : nullptr;
}

// Appends the samples of `from` within [mint, maxt] to the sorted `to`, keeping it sorted; on a
// shared timestamp the sample already in `to` stays.
void MergeInRange(std::vector<model::Sample>& to, const std::vector<model::Sample>& from,
                  int64_t mint, int64_t maxt) {
  auto first = std::lower_bound(from.begin(), from.end(), mint, EarlierThan);
  auto last =
      std::upper_bound(from.begin(), from.end(), maxt,
                       [](int64_t t, const model::Sample& a) { return t < a.timestamp_ms; });
  if (first >= last) return;
  std::vector<model::Sample> merged;
  merged.reserve(to.size() + static_cast<size_t>(last - first));
  std::merge(to.begin(), to.end(), first, last, std::back_inserter(merged),
             [](const model::Sample& a, const model::Sample& b) {
               return a.timestamp_ms < b.timestamp_ms;
             });
  merged.erase(std::unique(merged.begin(), merged.end(),
                           [](const model::Sample& a, const model::Sample& b) {
                             return a.timestamp_ms == b.timestamp_ms;
                           }),
               merged.end());
  to = std::move(merged);
}

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_acq_rel)) {
  }
}

void AtomicMin(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_acq_rel)) {
  }
}

}  // namespace

std::string_view VerdictMessage(Verdict v) {
  switch (v) {
    case Verdict::kAppend:
    case Verdict::kAppendOutOfOrder:
    case Verdict::kDuplicate:
      return "";
    case Verdict::kRejectOutOfOrder:
      return "out of order sample";
    case Verdict::kRejectDuplicate:
      return "duplicate sample for timestamp";
    case Verdict::kRejectTooOld:
      return "too old sample";
  }
  return "";
}

int HeadChunk::num_samples() const {
  return std::visit([](const auto& c) { return c.num_samples(); }, data);
}
int64_t HeadChunk::min_time() const {
  return std::visit([](const auto& c) { return c.min_time(); }, data);
}
int64_t HeadChunk::max_time() const {
  return std::visit([](const auto& c) { return c.max_time(); }, data);
}
std::string_view HeadChunk::bytes() const {
  return std::visit([](const auto& c) { return c.bytes(); }, data);
}

// Every series of the head is one of these: keep it in jemalloc's 80-byte size class.
static_assert(sizeof(MemSeries) <= 80);

HeadChunk& MemSeries::AddChunk() {
  ORIEL_CHECK(num_chunks_ < UINT32_MAX);
  const uint32_t capacity = num_chunks_ == 0 ? 0 : std::bit_ceil(num_chunks_);
  if (num_chunks_ == capacity) {
    HeadChunk* grown =
        std::allocator<HeadChunk>().allocate(capacity == 0 ? 1 : size_t{capacity} * 2);
    std::uninitialized_move_n(chunks_, num_chunks_, grown);
    const uint32_t n = num_chunks_;
    FreeChunks();
    chunks_ = grown;
    num_chunks_ = n;
  }
  return *std::construct_at(chunks_ + num_chunks_++);
}

void MemSeries::SetChunks(std::vector<HeadChunk> chunks) {
  ORIEL_CHECK(chunks.size() < UINT32_MAX);
  FreeChunks();
  if (chunks.empty()) return;
  chunks_ = std::allocator<HeadChunk>().allocate(std::bit_ceil(chunks.size()));
  std::uninitialized_move(chunks.begin(), chunks.end(), chunks_);
  num_chunks_ = static_cast<uint32_t>(chunks.size());
}

void MemSeries::FreeChunks() {
  if (chunks_ == nullptr) return;
  std::destroy_n(chunks_, num_chunks_);
  // A non-null array holds at least one chunk, and its capacity is the count rounded up.
  std::allocator<HeadChunk>().deallocate(chunks_, std::bit_ceil(size_t{num_chunks_}));
  chunks_ = nullptr;
  num_chunks_ = 0;
}

void MemSeries::SetLastHistogram(const model::HistogramSample& h) {
  Rare& rare = MutableRare();
  if (rare.last_histogram == nullptr) {
    rare.last_histogram = std::make_unique<model::HistogramSample>(h);
  } else {
    *rare.last_histogram = h;
  }
}

Staged Staged::Of(const MemSeries& s) {
  Staged st;
  st.has_last = s.has_in_order;
  st.last_time = s.last_time;
  st.last_is_float = s.last_is_float;
  st.last_bits = s.last_bits;
  st.last_histogram = s.last_histogram();
  return st;
}

Head::Head(HeadOptions options)
    : options_(options),
      by_labels_(0, SeriesRefHash{this}, SeriesRefEq{this}),
      exemplars_(options.max_exemplars) {
  ORIEL_CHECK(options_.samples_per_chunk > 0);
}

Head::~Head() = default;

MemSeries* Head::FindBySlotLocked(const model::Labels& labels) const {
  uint32_t ref = labels.IndexSlot();
  if (ref >= series_.size()) return nullptr;  // kNoIndexSlot included
  // The slot is a hint (another head may have set it, or the series be retired): only a series
  // holding this very buffer is the one.
  MemSeries* s = series_[ref].get();
  return s != nullptr && s->labels.SharesBufferWith(labels) ? s : nullptr;
}

MemSeries* Head::FindLocked(const model::Labels& labels, uint64_t hash) const {
  auto it = by_labels_.find(LabelsKey{&labels, hash});
  return it == by_labels_.end() ? nullptr : series_[*it].get();
}

MemSeries* Head::CreateLocked(uint32_t ref, const model::Labels& labels) {
  if (ref >= series_.size()) series_.resize(static_cast<size_t>(ref) + 1);
  series_[ref] = std::make_unique<MemSeries>(ref, labels);
  series_[ref]->labels.SetIndexSlot(ref);
  by_labels_.insert(ref);
  postings_.Add(ref, labels);
  ++num_series_;
  return series_[ref].get();
}

absl::StatusOr<std::vector<MemSeries*>> Head::GetOrCreate(
    std::span<const model::Labels* const> labels, size_t max_series, std::vector<bool>* created) {
  std::vector<MemSeries*> out(labels.size(), nullptr);
  std::vector<uint64_t> hashes(labels.size());
  if (created != nullptr) created->assign(labels.size(), false);
  std::vector<size_t> missing;
  // Label sets that are the head's own copies (a receiver's cache hands those out) carry their
  // series' ref and need no hash lookup; the others are hashed before taking the lock.
  std::vector<size_t> unslotted;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i]->IndexSlot() == model::Labels::kNoIndexSlot) {
      hashes[i] = HashOf(*labels[i]);
      unslotted.push_back(i);
    }
  }
  {
    std::shared_lock lock(index_mu_);
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i]->IndexSlot() == model::Labels::kNoIndexSlot) continue;
      out[i] = FindBySlotLocked(*labels[i]);
      if (out[i] == nullptr) {  // a stale hint: look it up as the others
        hashes[i] = HashOf(*labels[i]);
        unslotted.push_back(i);
      }
    }
    // On a big head nearly every lookup misses the cache; asking for the slots a few lookups
    // ahead overlaps those misses instead of waiting for each in turn.
    constexpr size_t kPrefetchAhead = 8;
    for (size_t k = 0; k < unslotted.size() && k < kPrefetchAhead; ++k) {
      by_labels_.prefetch(LabelsKey{labels[unslotted[k]], hashes[unslotted[k]]});
    }
    for (size_t k = 0; k < unslotted.size(); ++k) {
      if (k + kPrefetchAhead < unslotted.size()) {
        size_t ahead = unslotted[k + kPrefetchAhead];
        by_labels_.prefetch(LabelsKey{labels[ahead], hashes[ahead]});
      }
      size_t i = unslotted[k];
      out[i] = FindLocked(*labels[i], hashes[i]);
      if (out[i] == nullptr) missing.push_back(i);
    }
  }
  if (missing.empty()) return out;
  std::sort(missing.begin(), missing.end());  // series are created in batch order

  std::lock_guard lock(index_mu_);
  // Another writer may have created some meanwhile; a batch may name one series twice.
  std::set<model::Labels> fresh;
  for (size_t i : missing) {
    if (FindLocked(*labels[i], hashes[i]) == nullptr) fresh.insert(*labels[i]);
  }
  if (max_series > 0 && num_series_ + fresh.size() > max_series) {
    return absl::ResourceExhaustedError(fmt::format(
        "cannot create series: the active series limit {} is reached ({} in the head, {} new in "
        "this write)",
        max_series, num_series_, fresh.size()));
  }
  if (series_.size() + fresh.size() > UINT32_MAX) {
    return absl::ResourceExhaustedError("cannot create series: series ids are exhausted");
  }
  for (size_t i : missing) {
    out[i] = FindLocked(*labels[i], hashes[i]);
    if (out[i] == nullptr) {
      out[i] = CreateLocked(static_cast<uint32_t>(series_.size()), *labels[i]);
      if (created != nullptr) (*created)[i] = true;
    }
  }
  return out;
}

void Head::FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) const {
  ORIEL_CHECK(out.size() == sets.size());
  // The callers' hashes are Labels::Hash; a head hashing otherwise (tests forcing collisions)
  // hashes the set as it would.
  std::vector<uint64_t> own_hashes;
  if (options_.label_hash != nullptr) {
    own_hashes.reserve(sets.size());
    for (const model::LabelViews& set : sets) {
      own_hashes.push_back(options_.label_hash(model::Labels::FromSortedViews(set.labels)));
    }
  }
  auto key = [&](size_t i) {
    return ViewsKey{sets[i].labels, own_hashes.empty() ? sets[i].hash : own_hashes[i]};
  };
  std::shared_lock lock(index_mu_);
  // Nearly every probe of a big head misses the CPU cache: ask for the slots a few sets ahead.
  constexpr size_t kPrefetchAhead = 8;
  for (size_t i = 0; i < sets.size() && i < kPrefetchAhead; ++i) by_labels_.prefetch(key(i));
  for (size_t i = 0; i < sets.size(); ++i) {
    if (i + kPrefetchAhead < sets.size()) by_labels_.prefetch(key(i + kPrefetchAhead));
    auto it = by_labels_.find(key(i));
    // Copied under the index lock: a series unlinked meanwhile is not freed before it is let go.
    if (it != by_labels_.end()) out[i] = series_[*it]->labels;
  }
}

absl::Status Head::CreateWithRef(uint32_t ref, const model::Labels& labels) {
  std::lock_guard lock(index_mu_);
  uint64_t hash = HashOf(labels);
  if (ref < series_.size() && series_[ref] != nullptr) {
    if (series_[ref]->labels == labels) return absl::OkStatus();
    return absl::DataLossError(fmt::format("cannot replay series record: ref {} is {} but was {}",
                                           ref, labels.ToString(),
                                           series_[ref]->labels.ToString()));
  }
  if (MemSeries* other = FindLocked(labels, hash); other != nullptr) {
    return absl::DataLossError(fmt::format("cannot replay series record: {} has ref {} and ref {}",
                                           labels.ToString(), other->ref, ref));
  }
  if (labels.empty()) {
    return absl::DataLossError(
        fmt::format("cannot replay series record: ref {} has no labels", ref));
  }
  CreateLocked(ref, labels);
  return absl::OkStatus();
}

MemSeries* Head::Get(uint32_t ref) const {
  std::shared_lock lock(index_mu_);
  return ref < series_.size() ? series_[ref].get() : nullptr;
}

size_t Head::NumSeries() const {
  std::shared_lock lock(index_mu_);
  return num_series_;
}

Head::Existing Head::SampleAt(const MemSeries& s, const Staged& staged, int64_t t) const {
  for (const auto& [st, bits] : staged.floats) {
    if (st == t) return {true, true, bits};
  }
  for (const std::vector<model::Sample>* buffer : {&s.ooo(), &s.late(), &s.late_persisting()}) {
    if (const model::Sample* x = FindSample(*buffer, t); x != nullptr) {
      return {true, true, std::bit_cast<uint64_t>(x->value)};
    }
  }
  std::span<const HeadChunk> chunks = s.chunks();
  auto chunk_it = std::lower_bound(chunks.begin(), chunks.end(), t,
                                   [](const HeadChunk& c, int64_t t) { return c.max_time() < t; });
  if (chunk_it == chunks.end() || chunk_it->min_time() > t) return {};
  if (!chunk_it->is_float()) {
    HistogramIterator it(chunk_it->bytes(), chunk_it->num_samples());
    if (it.Seek(t) && it.t() == t) return {true, false, 0};
    return {};
  }
  if (const auto* packed = std::get_if<PackedFloatChunk>(&chunk_it->data)) {
    std::vector<model::Sample> samples;
    (void)packed->DecodeInto(&samples);  // a corrupt chunk has no sample to collide with
    const model::Sample* x = FindSample(samples, t);
    return x != nullptr ? Existing{true, true, std::bit_cast<uint64_t>(x->value)} : Existing{};
  }
  XorIterator it(chunk_it->bytes(), chunk_it->num_samples());
  if (it.Seek(t) && it.t() == t) return {true, true, std::bit_cast<uint64_t>(it.v())};
  return {};
}

Verdict Head::CheckFloat(const MemSeries& s, const Staged& staged, int64_t t, double v,
                         int64_t head_max_time) const {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (int64_t min_valid_time = MinValidTime(); t < min_valid_time) {
    // The range is in blocks already: only the out-of-order window lets the sample in, as a
    // late sample. The newest persisted sample bounds the window too, so that a restart with
    // an empty head does not open it to any age.
    int64_t window = options_.out_of_order_time_window_ms;
    if (window == 0) return Verdict::kRejectTooOld;
    int64_t newest = std::max(head_max_time, min_valid_time - 1);
    if (t < SaturatingSub(newest, window)) return Verdict::kRejectTooOld;
    Existing e = SampleAt(s, staged, t);
    if (e.found) {
      return e.is_float && e.bits == bits ? Verdict::kDuplicate : Verdict::kRejectDuplicate;
    }
    return Verdict::kAppendOutOfOrder;
  }
  bool head_empty = head_max_time == INT64_MIN;
  int64_t min_valid = head_empty ? INT64_MIN : SaturatingSub(head_max_time, kMinValidTimeWindowMs);
  if (t >= min_valid) {
    if (!staged.has_last || t > staged.last_time) {
      // Out-of-order samples are older than the in-order bound was when they came, so they
      // cannot be at or after `t`; checked anyway (cheaply) because a collision would make one
      // sample shadow another on read.
      bool maybe_in_ooo =
          (!s.ooo().empty() && s.ooo().back().timestamp_ms >= t) || staged.max_ooo_time >= t;
      if (maybe_in_ooo) {
        Existing e = SampleAt(s, staged, t);
        if (e.found) {
          return e.is_float && e.bits == bits ? Verdict::kDuplicate : Verdict::kRejectDuplicate;
        }
      }
      return Verdict::kAppend;
    }
    if (t == staged.last_time) {
      return staged.last_is_float && bits == staged.last_bits ? Verdict::kDuplicate
                                                              : Verdict::kRejectDuplicate;
    }
  }
  int64_t window = options_.out_of_order_time_window_ms;
  if (window > 0) {
    if (!head_empty && t < SaturatingSub(head_max_time, window)) return Verdict::kRejectTooOld;
    Existing e = SampleAt(s, staged, t);
    if (e.found) {
      return e.is_float && e.bits == bits ? Verdict::kDuplicate : Verdict::kRejectDuplicate;
    }
    return Verdict::kAppendOutOfOrder;
  }
  if (t < min_valid) return Verdict::kRejectTooOld;
  return Verdict::kRejectOutOfOrder;
}

Verdict Head::CheckHistogram(const MemSeries& s, const Staged& staged,
                             const model::HistogramSample& h, int64_t head_max_time) const {
  int64_t t = h.timestamp_ms;
  if (t < MinValidTime()) return Verdict::kRejectTooOld;
  bool head_empty = head_max_time == INT64_MIN;
  int64_t min_valid = head_empty ? INT64_MIN : SaturatingSub(head_max_time, kMinValidTimeWindowMs);
  if (t >= min_valid) {
    if (!staged.has_last || t > staged.last_time) return Verdict::kAppend;
    if (t == staged.last_time) {
      return !staged.last_is_float && staged.last_histogram != nullptr &&
                     SameHistogram(*staged.last_histogram, h)
                 ? Verdict::kDuplicate
                 : Verdict::kRejectDuplicate;
    }
  }
  // Out-of-order native histograms are not supported: older ones are refused like floats
  // without an out-of-order window.
  int64_t window = options_.out_of_order_time_window_ms;
  if (window > 0 && !head_empty && t < SaturatingSub(head_max_time, window)) {
    return Verdict::kRejectTooOld;
  }
  if (window == 0 && t < min_valid) return Verdict::kRejectTooOld;
  return Verdict::kRejectOutOfOrder;
}

void Head::RecordFloat(Staged& staged, Verdict verdict, int64_t t, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (verdict == Verdict::kAppend) {
    staged.has_last = true;
    staged.last_time = t;
    staged.last_is_float = true;
    staged.last_bits = bits;
  }
  if (verdict == Verdict::kAppend || verdict == Verdict::kAppendOutOfOrder) {
    staged.floats.emplace_back(t, bits);
  }
  if (verdict == Verdict::kAppendOutOfOrder) staged.max_ooo_time = std::max(staged.max_ooo_time, t);
}

void Head::RecordHistogram(Staged& staged, Verdict verdict, const model::HistogramSample& h) {
  if (verdict != Verdict::kAppend) return;
  staged.has_last = true;
  staged.last_time = h.timestamp_ms;
  staged.last_is_float = false;
  staged.last_histogram = &h;
}

HeadChunk& Head::ChunkForAppend(MemSeries& s, bool is_float, int64_t t) {
  std::span<HeadChunk> chunks = s.chunks();
  if (chunks.empty() || chunks.back().is_float() != is_float || chunks.back().is_packed() ||
      chunks.back().num_samples() >= options_.samples_per_chunk) {
    HeadChunk& added = s.AddChunk();
    if (!is_float) added.data.emplace<HistogramChunk>();
    return added;
  }
  return chunks.back();
}

void Head::UpdateTimeBounds(MemSeries& s, int64_t t) {
  s.min_time = std::min(s.min_time, t);
  s.max_time = std::max(s.max_time, t);
  AtomicMax(max_time_, t);
  AtomicMin(min_time_, t);
}

void Head::ApplyFloat(MemSeries& s, int64_t t, double v) {
  std::lock_guard lock(s.data_mu);
  if (!s.has_in_order || t > s.last_time) {
    HeadChunk& chunk = ChunkForAppend(s, true, t);
    auto& xor_chunk = std::get<XorChunk>(chunk.data);
    xor_chunk.Append(t, v);
    // A full chunk takes no more appends: keep it in the smaller block encoding. A half-full
    // one is packed (and so closed) too when that is smaller: the open XOR buffers, grown step
    // by step, are what a head holds most of (a head of 100k exporter series x 240 samples
    // peaked 40 MiB lower with chunks closed half full than full, and ended 25 MiB lower).
    const int n = xor_chunk.num_samples();
    if (n >= options_.samples_per_chunk || n == options_.samples_per_chunk / 2) {
      if (std::optional<PackedFloatChunk> packed = PackedFloatChunk::Pack(xor_chunk)) {
        chunk.data = *std::move(packed);
      }
    }
    s.has_in_order = true;
    s.last_time = t;
    s.last_is_float = true;
    s.last_bits = std::bit_cast<uint64_t>(v);
  } else if (t == s.last_time) {
    return;
  } else {
    std::vector<model::Sample>& ooo = s.MutableOutOfOrder().ooo;
    auto it = std::lower_bound(ooo.begin(), ooo.end(), t, EarlierThan);
    if (it != ooo.end() && it->timestamp_ms == t) return;
    ooo.insert(it, model::Sample{t, v});
  }
  UpdateTimeBounds(s, t);
}

void Head::ApplyLateFloat(MemSeries& s, int64_t t, double v) {
  std::lock_guard lock(s.data_mu);
  // Replay may read a late sample twice (checkpoint and segment) or after it was persisted.
  if (FindSample(s.late_persisting(), t) != nullptr) return;
  std::vector<model::Sample>& late = s.MutableOutOfOrder().late;
  auto it = std::lower_bound(late.begin(), late.end(), t, EarlierThan);
  if (it != late.end() && it->timestamp_ms == t) return;
  late.insert(it, model::Sample{t, v});
  num_late_.fetch_add(1, std::memory_order_acq_rel);
  // Only the series' bounds: the head's MinTime/MaxTime drive persisting in-order windows.
  s.min_time = std::min(s.min_time, t);
  s.max_time = std::max(s.max_time, t);
}

std::vector<model::Sample> Head::BeginPersistLate(MemSeries& s) {
  std::lock_guard lock(s.data_mu);
  if (s.late().empty() && s.late_persisting().empty()) return {};
  MemSeries::Rare& b = s.MutableOutOfOrder();
  size_t before = b.late.size() + b.late_persisting.size();
  MergeInRange(b.late_persisting, b.late, INT64_MIN, INT64_MAX);
  b.late.clear();
  num_late_.fetch_sub(static_cast<int64_t>(before - b.late_persisting.size()),
                      std::memory_order_acq_rel);
  return b.late_persisting;
}

void Head::EndPersistLate(MemSeries& s) {
  std::lock_guard lock(s.data_mu);
  if (s.late_persisting().empty()) return;
  std::vector<model::Sample>& persisting = s.MutableOutOfOrder().late_persisting;
  num_late_.fetch_sub(static_cast<int64_t>(persisting.size()), std::memory_order_acq_rel);
  persisting.clear();
  persisting.shrink_to_fit();
  s.min_time = INT64_MAX;
  if (!s.chunks().empty()) s.min_time = s.chunks().front().min_time();
  if (!s.ooo().empty()) s.min_time = std::min(s.min_time, s.ooo().front().timestamp_ms);
  if (!s.late().empty()) s.min_time = std::min(s.min_time, s.late().front().timestamp_ms);
  if (s.min_time == INT64_MAX) s.max_time = INT64_MIN;
}

void Head::ApplyHistogram(MemSeries& s, const model::HistogramSample& h) {
  std::lock_guard lock(s.data_mu);
  // The checks accept only newer histograms; anything else (a hand-made WAL) is dropped.
  if (s.has_in_order && h.timestamp_ms <= s.last_time) return;
  std::get<HistogramChunk>(ChunkForAppend(s, false, h.timestamp_ms).data).Append(h);
  s.has_in_order = true;
  s.last_time = h.timestamp_ms;
  s.last_is_float = false;
  s.SetLastHistogram(h);
  UpdateTimeBounds(s, h.timestamp_ms);
}

size_t Head::TruncateBefore(int64_t t) {
  std::vector<MemSeries*> all;
  {
    std::shared_lock lock(index_mu_);
    for (const auto& s : series_) {
      if (s != nullptr) all.push_back(s.get());
    }
  }
  std::vector<MemSeries*> emptied;
  int64_t new_min = INT64_MAX;
  for (MemSeries* s : all) {
    std::lock_guard lock(s->data_mu);
    // Series without any sample (all in blocks, or every write refused) go too.
    if (s->min_time < t || s->min_time == INT64_MAX) {
      std::vector<HeadChunk> kept;
      for (HeadChunk& c : s->chunks()) {
        if (c.max_time() < t) continue;
        if (c.min_time() >= t) {
          kept.push_back(std::move(c));
          continue;
        }
        HeadChunk nc;
        if (const auto* packed = std::get_if<PackedFloatChunk>(&c.data)) {
          std::vector<model::Sample> samples;
          (void)packed->DecodeInto(&samples);  // a corrupt chunk is dropped whole
          std::erase_if(samples, [t](const model::Sample& x) { return x.timestamp_ms < t; });
          if (!samples.empty()) nc.data = PackedFloatChunk::FromSamples(samples);
        } else if (c.is_float()) {
          XorChunk x;
          XorIterator it(c.bytes(), c.num_samples());
          if (it.Seek(t)) {
            do {
              x.Append(it.t(), it.v());
            } while (it.Next());
          }
          nc.data = std::move(x);
        } else {
          HistogramChunk h;
          HistogramIterator it(c.bytes(), c.num_samples());
          if (it.Seek(t)) {
            do {
              h.Append(it.at());
            } while (it.Next());
          }
          nc.data = std::move(h);
        }
        if (nc.num_samples() > 0) kept.push_back(std::move(nc));
      }
      s->SetChunks(std::move(kept));
      if (!s->ooo().empty()) {
        std::erase_if(s->MutableOutOfOrder().ooo,
                      [t](const model::Sample& x) { return x.timestamp_ms < t; });
      }
      s->min_time = INT64_MAX;
      if (!s->chunks().empty()) s->min_time = s->chunks().front().min_time();
      if (!s->ooo().empty()) s->min_time = std::min(s->min_time, s->ooo().front().timestamp_ms);
      // Late samples stay: they go into blocks of their own.
      for (const auto* late : {&s->late(), &s->late_persisting()}) {
        if (!late->empty()) s->min_time = std::min(s->min_time, late->front().timestamp_ms);
      }
      if (s->min_time == INT64_MAX) {
        s->max_time = INT64_MIN;
        emptied.push_back(s);
      }
    }
    // The head's MinTime leaves the late samples out (see MemSeries::late).
    if (!s->chunks().empty()) new_min = std::min(new_min, s->chunks().front().min_time());
    if (!s->ooo().empty()) new_min = std::min(new_min, s->ooo().front().timestamp_ms);
  }
  {
    std::lock_guard lock(index_mu_);
    for (MemSeries* s : emptied) {
      postings_.Remove(s->ref, s->labels);
      by_labels_.erase(s->ref);  // before series_[ref] goes: the set's hash reads it
      retired_.push_back(std::move(series_[s->ref]));
      --num_series_;
    }
  }
  min_time_.store(new_min, std::memory_order_release);
  return emptied.size();
}

void Head::FreeRetired() {
  std::lock_guard lock(index_mu_);
  retired_.clear();
}

void Head::SetMetadata(const model::MetricMetadata& m) {
  std::lock_guard lock(metadata_mu_);
  metadata_[m.metric_family] = m;
}

std::vector<model::MetricMetadata> Head::Metadata(std::string_view metric, size_t limit) const {
  std::lock_guard lock(metadata_mu_);
  std::vector<model::MetricMetadata> out;
  if (!metric.empty()) {
    auto it = metadata_.find(std::string(metric));
    if (it != metadata_.end()) out.push_back(it->second);
    return out;
  }
  out.reserve(metadata_.size());
  for (const auto& [name, m] : metadata_) out.push_back(m);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.metric_family < b.metric_family; });
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

std::vector<MemSeries*> Head::Select(std::span<const model::Matcher> matchers) const {
  std::shared_lock lock(index_mu_);
  std::vector<MemSeries*> out;
  for (uint32_t id : postings_.Select(matchers).ToVector()) out.push_back(series_[id].get());
  return out;
}

void Head::SortByLabels(std::vector<MemSeries*>& series) const {
  auto by_labels = [](const MemSeries* a, const MemSeries* b) { return a->labels < b->labels; };
  std::shared_ptr<const LabelRanks> ranks;
  {
    std::lock_guard lock(label_ranks_mu_);
    ranks = label_ranks_;
  }
  auto known = [&](const MemSeries* s) {
    return s->ref < ranks->series.size() && ranks->series[s->ref] == s;
  };
  if (ranks == nullptr || !std::all_of(series.begin(), series.end(), known)) {
    // Series created since the ranks were computed. Recomputing them sorts every series of the
    // head: worth it only for a selection that is a good part of the head.
    if (series.size() * 4 < NumSeries()) {
      std::sort(series.begin(), series.end(), by_labels);
      return;
    }
    auto fresh = std::make_shared<LabelRanks>();
    {
      std::shared_lock lock(index_mu_);
      std::vector<const MemSeries*> all;
      all.reserve(num_series_);
      for (const auto& s : series_) {
        if (s != nullptr) all.push_back(s.get());
      }
      std::sort(all.begin(), all.end(), by_labels);
      fresh->series.assign(series_.size(), nullptr);
      fresh->rank.assign(series_.size(), 0);
      for (size_t i = 0; i < all.size(); ++i) {
        fresh->series[all[i]->ref] = all[i];
        fresh->rank[all[i]->ref] = static_cast<uint32_t>(i);
      }
    }
    ranks = fresh;
    {
      std::lock_guard lock(label_ranks_mu_);
      label_ranks_ = std::move(fresh);
    }
    if (!std::all_of(series.begin(), series.end(), known)) {
      // A selected series unlinked before the ranks were computed.
      std::sort(series.begin(), series.end(), by_labels);
      return;
    }
  }
  const std::vector<uint32_t>& rank = ranks->rank;
  std::sort(series.begin(), series.end(),
            [&](const MemSeries* a, const MemSeries* b) { return rank[a->ref] < rank[b->ref]; });
}

std::vector<std::string> Head::LabelNames() const {
  std::shared_lock lock(index_mu_);
  return postings_.LabelNames();
}

std::vector<std::string> Head::LabelValues(std::string_view name) const {
  std::shared_lock lock(index_mu_);
  return postings_.LabelValues(name);
}

bool Head::Overlaps(const MemSeries& s, int64_t mint, int64_t maxt) const {
  std::lock_guard lock(s.data_mu);
  return s.min_time <= maxt && s.max_time >= mint;
}

std::optional<SeriesSnapshot> Head::Snapshot(const MemSeries& s, int64_t mint, int64_t maxt,
                                             bool with_late) const {
  std::lock_guard lock(s.data_mu);
  if (s.min_time > maxt || s.max_time < mint) return std::nullopt;
  SeriesSnapshot snap;
  for (const HeadChunk& c : s.chunks()) {
    if (c.max_time() < mint || c.min_time() > maxt) continue;
    snap.chunks.push_back({c.is_float(),
                           c.is_packed(),
                           std::string(c.bytes()),
                           c.num_samples(),
                           c.min_time(),
                           c.max_time(),
                           {}});
  }
  for (const model::Sample& sample : s.ooo()) {
    if (sample.timestamp_ms >= mint && sample.timestamp_ms <= maxt) snap.ooo.push_back(sample);
  }
  if (with_late) {
    MergeInRange(snap.ooo, s.late(), mint, maxt);
    MergeInRange(snap.ooo, s.late_persisting(), mint, maxt);
  }
  if (snap.chunks.empty() && snap.ooo.empty()) return std::nullopt;
  snap.labels = s.labels;
  return snap;
}

}  // namespace oriel::tsdb
