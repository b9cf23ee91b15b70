// Label sets: the identity of a series (and of a log stream). Sorted by name, names unique.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace oriel::model {

inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

// An immutable, sorted set of labels. Empty values are dropped (Prometheus treats a label with an
// empty value as absent). Copies share one immutable vector, so passing label sets around (query
// evaluation copies them per series and step) costs a reference count, not an allocation.
class Labels {
 public:
  Labels() = default;
  // Sorts, drops empty values; when a name repeats the last value wins.
  static Labels FromUnsorted(std::vector<Label> labels);
  // REQUIRES: sorted by name, names unique, no empty values (e.g. from a trusted decoder).
  static Labels FromSorted(std::vector<Label> labels);

  const std::vector<Label>& items() const { return rep_ ? rep_->items : Empty(); }
  size_t size() const { return items().size(); }
  bool empty() const { return items().empty(); }
  auto begin() const { return items().begin(); }
  auto end() const { return items().end(); }

  // The value of `name`, "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricName); }

  // A stable 64-bit hash of the whole set (xxh3), the same on every run and machine. Computed
  // once per shared set and remembered: the head hashes every series of every write.
  uint64_t Hash() const;

  // Prometheus notation: `name{a="b", c="d"}`, or `{a="b"}` without a metric name.
  std::string ToString() const;

  bool operator==(const Labels& o) const { return rep_ == o.rep_ || items() == o.items(); }
  auto operator<=>(const Labels& o) const { return items() <=> o.items(); }

 private:
  // A hash that happens to equal this is simply recomputed on every call.
  static constexpr uint64_t kHashUnknown = 0;
  // The shared immutable set and its hash, filled in by the first Hash() call (any thread may;
  // every thread computes the same value, so a relaxed race is harmless).
  struct Rep {
    explicit Rep(std::vector<Label> l) : items(std::move(l)) {}
    const std::vector<Label> items;
    mutable std::atomic<uint64_t> hash{kHashUnknown};
  };

  static const std::vector<Label>& Empty();
  static uint64_t ComputeHash(const std::vector<Label>& items);
  std::shared_ptr<const Rep> rep_;  // null when empty
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
