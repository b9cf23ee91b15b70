// The metrics side of the simulated fleet: a fixed set of node_exporter-like series (plus each
// host's API server with classic histograms) whose values move every scrape interval the way
// real counters, gauges and histograms do. Same options and seed, same series and values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "loadgen/rng.h"

namespace oriel::loadgen {

enum class SeriesKind : uint8_t {
  kCounter,
  kGauge,
  kHistogramBucket,  // cumulative count of one `le` bucket
  kHistogramSum,
  kHistogramCount,
};

// One label as ids into NodeSeriesSet's symbol table.
struct LabelRef {
  uint32_t name;
  uint32_t value;
};

class NodeSeriesSet {
 public:
  struct Options {
    int64_t series = 100000;  // exact number of active series
    uint64_t seed = 1;
  };

  // Builds the series of as many hosts as `options.series` needs; the last host is cut at a
  // family boundary and topped up with systemd unit series so that the count is exact.
  explicit NodeSeriesSet(const Options& options);

  size_t size() const { return kinds_.size(); }
  size_t num_hosts() const { return num_hosts_; }
  // Scrape rounds done by Advance() so far.
  int64_t tick() const { return tick_; }

  // The labels of series `i` (including __name__), sorted by name, names unique.
  std::span<const LabelRef> Labels(size_t i) const {
    return {label_refs_.data() + label_begin_[i], label_begin_[i + 1] - label_begin_[i]};
  }
  const std::string& Symbol(uint32_t id) const { return symbols_[id]; }
  size_t num_symbols() const { return symbols_.size(); }
  SeriesKind Kind(size_t i) const { return kinds_[i]; }
  // The value after the last Advance() (initial values before the first).
  double Value(size_t i) const { return values_[i]; }

  // Information (Shannon entropy, bits) that one Advance() adds to series `i`: what any lossless
  // store must keep per sample of it, at least. Counters and moving gauges only (their steps are
  // independent draws); 0 for constant gauges and for histogram series, whose buckets are
  // correlated (so the sum over all series is a lower bound of the load's information).
  double ValueEntropyBits(size_t i) const;

  // Moves every series one scrape interval forward: counters grow, gauges wander within their
  // range, histograms observe a batch of log-normal latencies. Not thread-safe.
  void Advance();

 private:
  struct Histogram {
    uint32_t first_series;  // buckets in `le` order, then _sum, then _count
    double median_seconds;
  };
  using Label = std::pair<std::string_view, std::string_view>;

  uint32_t Intern(std::string_view s);
  // Adds a series; `labels` need not be sorted. `base` is the counter rate per scrape or the
  // gauge level; a constant gauge keeps it.
  void AddSeries(std::string_view name, std::vector<Label> labels, SeriesKind kind, double base,
                 bool constant);
  // Appends the families of one host while they fit under `limit` series; false once one did not.
  bool AddHost(size_t host, Rng& rng, size_t limit);

  std::vector<std::string> symbols_;
  absl::flat_hash_map<std::string, uint32_t> symbol_ids_;
  std::vector<LabelRef> label_refs_;
  std::vector<size_t> label_begin_ = {0};
  std::vector<SeriesKind> kinds_;
  std::vector<double> values_;
  std::vector<float> base_;
  std::vector<bool> constant_;  // gauges that never move (sizes, info series)
  std::vector<Histogram> histograms_;
  size_t num_hosts_ = 0;
  int64_t tick_ = 0;
  Rng rng_;
};

// Upper bounds of the classic histogram buckets (the Prometheus client default), without +Inf.
std::span<const double> DefaultBuckets();

// Entropy in bits of round(X) for X uniform over [lo, lo + width).
double RoundedUniformEntropyBits(double lo, double width);

}  // namespace oriel::loadgen
