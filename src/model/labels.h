// Label sets: the identity of a series (and of a log stream). Sorted by name, names unique.
#pragma once

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oriel::model {

inline constexpr std::string_view kMetricName = "__name__";

// An owned label, for building label sets.
struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

// One label of a Labels set (or of any buffer the viewer keeps alive): views, no ownership.
struct LabelRef {
  std::string_view name;
  std::string_view value;
  bool operator==(const LabelRef&) const = default;
  auto operator<=>(const LabelRef&) const = default;
};

// An immutable, sorted set of labels. Empty values are dropped (Prometheus treats a label with an
// empty value as absent). The names and values live in one shared, reference-counted buffer
// behind an 8-byte handle: copies (query evaluation copies label sets per series and step) cost
// a reference count, and a head of millions of series pays one allocation per set, not one per
// label and string. Iteration yields LabelRef views into that buffer, valid while any copy of
// the set lives. Thread-safe like a shared_ptr: distinct handles may be used concurrently.
class Labels {
 public:
  class Iterator;

  Labels() = default;
  Labels(const Labels& o) noexcept : rep_(o.rep_) { Ref(rep_); }
  Labels(Labels&& o) noexcept : rep_(std::exchange(o.rep_, nullptr)) {}
  Labels& operator=(const Labels& o) noexcept {
    Ref(o.rep_);
    Unref(std::exchange(rep_, o.rep_));
    return *this;
  }
  Labels& operator=(Labels&& o) noexcept {
    if (this != &o) Unref(std::exchange(rep_, std::exchange(o.rep_, nullptr)));
    return *this;
  }
  ~Labels() { Unref(rep_); }

  // Sorts, drops empty values; when a name repeats the last value wins.
  static Labels FromUnsorted(std::vector<Label> labels);
  // REQUIRES (for both): sorted by name, names unique, no empty values (e.g. from a trusted
  // decoder). The views are copied; they need not outlive the call.
  static Labels FromSorted(const std::vector<Label>& labels);
  static Labels FromSortedViews(std::span<const LabelRef> labels);

  size_t size() const { return rep_ == nullptr ? 0 : rep_->count(); }
  bool empty() const { return rep_ == nullptr; }
  // REQUIRES: i < size().
  LabelRef operator[](size_t i) const { return rep_->At(i); }
  Iterator begin() const;
  Iterator end() const;

  // The value of `name`, "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricName); }

  // A stable 64-bit hash of the whole set (xxh3), the same on every run and machine. Computed
  // once per shared set and remembered: the head hashes every series of every write.
  uint64_t Hash() const;
  // What Hash() gives the set of these labels, without building it. REQUIRES: `labels` as a
  // set holds them (sorted by name, names unique, no empty values).
  static uint64_t HashOf(std::span<const LabelRef> labels);
  // Whether the set holds exactly `labels`, in order.
  bool Equals(std::span<const LabelRef> labels) const;

  // Prometheus notation: `name{a="b", c="d"}`, or `{a="b"}` without a metric name.
  std::string ToString() const;

  // Whether both handles share one buffer (then they are equal without comparing).
  bool SharesBufferWith(const Labels& o) const { return rep_ == o.rep_; }
  // The shared buffer's address (null when empty), the same for every handle sharing it: an
  // identity for memo tables, which must hold a copy so that the address is not reused.
  const void* BufferAddress() const { return rep_; }

  // A number a store may keep with the shared set, as a hint where it keeps the set (the metrics
  // head: its series id), so that a later lookup with this very set (e.g. a handle a receiver
  // cached, see MetricsWriter::ShareLabels) can go straight there. Only a hint: another store
  // holding the same set may overwrite it, so the store must check what it finds (that the
  // entry holds a handle sharing this buffer). kNoIndexSlot for the empty set or when unset.
  // Thread-safe (a relaxed atomic).
  static constexpr uint32_t kNoIndexSlot = UINT32_MAX;
  uint32_t IndexSlot() const {
    return rep_ == nullptr ? kNoIndexSlot : rep_->slot.load(std::memory_order_relaxed);
  }
  void SetIndexSlot(uint32_t slot) const {
    if (rep_ != nullptr) rep_->slot.store(slot, std::memory_order_relaxed);
  }

  // Heap bytes of the shared buffer (0 when empty), for memory accounting.
  size_t BufferBytes() const { return rep_ == nullptr ? 0 : rep_->AllocationBytes(); }

  bool operator==(const Labels& o) const;
  std::strong_ordering operator<=>(const Labels& o) const;

 private:
  // The buffer: this header, then 2 * count end offsets of each name and value in the text, as
  // narrow as the text's length allows (u8 up to 255 bytes, which most series' sets are, else
  // u16 up to 65535, else u32), then the text (names and values back to back, no separators).
  // The header's tail padding is where the offsets start, so the layout is spelled out by
  // kHeaderBytes rather than sizeof.
  struct Rep {
    std::atomic<uint32_t> refs;
    std::atomic<uint32_t> slot;
    // The set's hash, filled in by the first Hash() call (any thread may; every thread computes
    // the same value, so a relaxed race is harmless).
    std::atomic<uint64_t> hash;
    uint32_t count_and_width;  // count << 2 | log2 of the offset width in bytes (0, 1 or 2)

    size_t count() const { return count_and_width >> 2; }
    size_t offset_bytes() const { return size_t{1} << (count_and_width & 3); }
    // End offset of field f (2i: name i, 2i+1: value i) in the text.
    size_t End(size_t f) const;
    size_t TextBytes() const { return count() == 0 ? 0 : End(2 * count() - 1); }
    const char* Text() const;
    LabelRef At(size_t i) const;
    // Offsets and text: what two equal sets have byte for byte.
    size_t PayloadBytes() const;
    size_t AllocationBytes() const;
  };
  static constexpr size_t kHeaderBytes = 20;
  static constexpr uint64_t kHashUnknown = 0;  // a hash equal to it is recomputed each call

  static void Ref(Rep* r) {
    if (r != nullptr) r->refs.fetch_add(1, std::memory_order_relaxed);
  }
  static void Unref(Rep* r) {
    if (r != nullptr && r->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) Free(r);
  }
  static void Free(Rep* r);
  static uint64_t ComputeHash(const Labels& labels);

  Rep* rep_ = nullptr;  // null when empty
};

// A random-access iterator over a set's labels, yielding LabelRef values.
class Labels::Iterator {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using iterator_concept = std::random_access_iterator_tag;
  using value_type = LabelRef;
  using difference_type = std::ptrdiff_t;
  using reference = LabelRef;
  // `it->name` works through a proxy holding the view.
  struct pointer {
    LabelRef ref;
    const LabelRef* operator->() const { return &ref; }
  };

  Iterator() = default;
  Iterator(const Rep* rep, size_t i) : rep_(rep), i_(i) {}

  LabelRef operator*() const { return rep_->At(i_); }
  pointer operator->() const { return {rep_->At(i_)}; }
  LabelRef operator[](difference_type n) const { return rep_->At(i_ + n); }

  Iterator& operator++() { return ++i_, *this; }
  Iterator operator++(int) { return Iterator(rep_, i_++); }
  Iterator& operator--() { return --i_, *this; }
  Iterator operator--(int) { return Iterator(rep_, i_--); }
  Iterator& operator+=(difference_type n) { return i_ += n, *this; }
  Iterator& operator-=(difference_type n) { return i_ -= n, *this; }
  friend Iterator operator+(Iterator it, difference_type n) { return it += n; }
  friend Iterator operator+(difference_type n, Iterator it) { return it += n; }
  friend Iterator operator-(Iterator it, difference_type n) { return it -= n; }
  friend difference_type operator-(const Iterator& a, const Iterator& b) {
    return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
  }
  bool operator==(const Iterator& o) const { return i_ == o.i_; }
  auto operator<=>(const Iterator& o) const { return i_ <=> o.i_; }

 private:
  const Rep* rep_ = nullptr;
  size_t i_ = 0;
};

inline Labels::Iterator Labels::begin() const { return Iterator(rep_, 0); }
inline Labels::Iterator Labels::end() const { return Iterator(rep_, size()); }

inline const char* Labels::Rep::Text() const {
  return reinterpret_cast<const char*>(this) + kHeaderBytes + 2 * count() * offset_bytes();
}

inline size_t Labels::Rep::End(size_t f) const {
  const char* offsets = reinterpret_cast<const char*>(this) + kHeaderBytes;
  switch (count_and_width & 3) {
    case 0:
      return reinterpret_cast<const uint8_t*>(offsets)[f];
    case 1:
      return reinterpret_cast<const uint16_t*>(offsets)[f];
    default:
      return reinterpret_cast<const uint32_t*>(offsets)[f];
  }
}

inline LabelRef Labels::Rep::At(size_t i) const {
  const char* text = Text();
  size_t name_begin = i == 0 ? 0 : End(2 * i - 1);
  size_t name_end = End(2 * i);
  size_t value_end = End(2 * i + 1);
  return {std::string_view(text + name_begin, name_end - name_begin),
          std::string_view(text + name_end, value_end - name_end)};
}

// A label set as views (e.g. into a request body) with its Labels::HashOf, for finding a stored
// set equal to it without building one. The views must outlive the lookup.
struct LabelViews {
  std::span<const LabelRef> labels;  // sorted by name, names unique, no empty values
  uint64_t hash = 0;
};

// Builds a label set by edits on top of a base (used by relabelling, PromQL, translators).
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base);
  // Sets (or with an empty value, removes) a label.
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  std::string_view Get(std::string_view name) const;
  Labels Build() const;

 private:
  std::vector<Label> items_;  // unsorted; deletions are empty values
};

// Label and metric names as Prometheus' legacy validation scheme accepts them.
bool IsValidLegacyMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidLegacyLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*

}  // namespace oriel::model
