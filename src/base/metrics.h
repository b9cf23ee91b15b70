// Oriel's own metrics (self-monitoring): counters, gauges and histograms kept in a Registry and
// exposed on /metrics in the Prometheus text exposition format 0.0.4. No third-party client.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oriel::metrics {

// A monotonically increasing value. Lock-free; safe to use from any thread.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `delta`. REQUIRES: delta >= 0 (a counter never goes down).
  void Inc(double delta = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that can go up and down. Lock-free; safe to use from any thread.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  void Inc(double delta = 1) { Add(delta); }
  void Dec(double delta = 1) { Add(-delta); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets with fixed upper bounds (`le`, inclusive) plus an implicit
// +Inf bucket, and keeps their sum. Observe is lock-free and safe to call from any thread.
class Histogram {
 public:
  // REQUIRES: `bounds` strictly increasing and not NaN. A trailing +Inf bound is dropped (the +Inf
  // bucket is always there).
  explicit Histogram(std::span<const double> bounds);
  ~Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one observation; NaN goes to the +Inf bucket only (and makes the sum NaN).
  void Observe(double value);

  // A point-in-time copy. Concurrent observations may make `sum` lag `count` slightly, but
  // `count` always equals the last (+Inf) cumulative bucket.
  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Collect() const;

  // Upper bounds without the implicit +Inf.
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

// Labelled counters sharing one name. Children are created on first use and live as long as the
// Registry, so callers may cache the returned reference for hot paths. Thread-safe.
class CounterFamily {
 public:
  ~CounterFamily();
  // The child with these label values, in the order of the family's label names.
  // REQUIRES: as many values as label names.
  Counter& WithLabels(std::initializer_list<std::string_view> values);
  Counter& WithLabels(std::span<const std::string> values);

 private:
  friend class Registry;
  struct Impl;
  explicit CounterFamily(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Labelled gauges sharing one name; same contract as CounterFamily.
class GaugeFamily {
 public:
  ~GaugeFamily();
  Gauge& WithLabels(std::initializer_list<std::string_view> values);
  Gauge& WithLabels(std::span<const std::string> values);

 private:
  friend class Registry;
  struct Impl;
  explicit GaugeFamily(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Labelled histograms sharing one name and bucket bounds; same contract as CounterFamily.
class HistogramFamily {
 public:
  ~HistogramFamily();
  Histogram& WithLabels(std::initializer_list<std::string_view> values);
  Histogram& WithLabels(std::span<const std::string> values);

 private:
  friend class Registry;
  struct Impl;
  explicit HistogramFamily(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

// One label of a sample written through an ExpositionWriter; views must outlive the call.
struct LabelPair {
  std::string_view name;
  std::string_view value;
};

// Builds a text-format 0.0.4 exposition out of metric families, for collectors that compute their
// values at scrape time. Names are Oriel's own, so an invalid metric or label name, a sample
// before any Family(), or two families whose sample names collide is a bug (ORIEL_CHECK). Not
// thread-safe: one writer per exposition.
class ExpositionWriter {
 public:
  ExpositionWriter();
  ~ExpositionWriter();
  ExpositionWriter(const ExpositionWriter&) = delete;
  ExpositionWriter& operator=(const ExpositionWriter&) = delete;

  // Starts a family (its HELP and TYPE lines); the samples written next belong to it. For a
  // counter, `name` is the full sample name, ending in `_total` by convention.
  void Family(std::string_view name, std::string_view help, MetricType type);

  // Writes one sample named after the current family. REQUIRES: it is not a histogram.
  void Sample(double value);
  void Sample(std::initializer_list<LabelPair> labels, double value);
  void Sample(std::span<const LabelPair> labels, double value);

  // Writes one sample of the current histogram family: `suffix` is "_bucket" (whose labels
  // include `le`, formatted with FormatFloat), "_sum" or "_count".
  void SuffixedSample(std::string_view suffix, std::span<const LabelPair> labels, double value);

  // The exposition: families sorted by name, those without samples left out. Resets the writer.
  std::string Finish();

 private:
  struct RenderedFamily {
    std::string name;
    MetricType type;
    std::string text;
    int samples = 0;
  };
  void WriteSample(std::string_view suffix, std::span<const LabelPair> labels, double value);
  std::vector<RenderedFamily> families_;
};

// Formats a sample value (and `le` bounds) as Prometheus does: "NaN", "+Inf", "-Inf", integers
// up to 2^53 without exponent, anything else in its shortest round-trip form.
std::string FormatFloat(double value);

// `count` bounds: start, start*factor, start*factor^2, ...
// REQUIRES: start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// `count` bounds: start, start+width, start+2*width, ... REQUIRES: width > 0, count >= 1.
std::vector<double> LinearBuckets(double start, double width, int count);

// Prometheus' DefBuckets: request durations in seconds, 5ms to 10s.
inline constexpr std::array<double, 11> kDefaultDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// kDefaultDurationBuckets as a vector, to pass to AddHistogram*.
std::vector<double> DefaultDurationBuckets();

// Owns every metric of one process and renders them. Names must match
// [a-zA-Z_:][a-zA-Z0-9_:]* and label names [a-zA-Z_][a-zA-Z0-9_]* without a leading "__";
// an invalid name, or one registered twice (a histogram `h` also takes h_bucket, h_sum and
// h_count), is a bug (ORIEL_CHECK). All methods are thread-safe. References returned stay valid
// until the Registry is destroyed. Constructed by server/ and passed by reference: no global.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& AddCounter(std::string_view name, std::string_view help);
  Gauge& AddGauge(std::string_view name, std::string_view help);
  // REQUIRES: `bounds` as for Histogram.
  Histogram& AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  // Labelled families. REQUIRES: distinct label names; a histogram family may not use `le`.
  CounterFamily& AddCounterFamily(std::string_view name, std::string_view help,
                                  std::initializer_list<std::string_view> label_names);
  GaugeFamily& AddGaugeFamily(std::string_view name, std::string_view help,
                              std::initializer_list<std::string_view> label_names);
  HistogramFamily& AddHistogramFamily(std::string_view name, std::string_view help,
                                      std::initializer_list<std::string_view> label_names,
                                      std::vector<double> bounds);

  // A value read at scrape time. `fn` may run on any thread, concurrently with itself, and must
  // not call into this Registry.
  void AddCounterFunc(std::string_view name, std::string_view help, std::function<double()> fn);
  void AddGaugeFunc(std::string_view name, std::string_view help, std::function<double()> fn);

  // Families computed at scrape time (e.g. one sample per tenant). Their names are checked when
  // they are exposed. Same threading rules as AddGaugeFunc.
  void AddCollector(std::function<void(ExpositionWriter&)> collector);

  // Everything, in text format 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8).
  std::string Expose() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oriel::metrics
