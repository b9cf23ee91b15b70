#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "base/check.h"
#include "fmt/format.h"

namespace oriel::metrics {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c) || c == ':'; });
}

// Names starting with "__" are reserved for Prometheus' internal use.
bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameStart(c) || IsDigit(c); });
}

void AppendFloat(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0) {
    // Exact integers read better without an exponent (1000000, not 1e+06); -0 prints as 0.
    fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    ORIEL_CHECK(res.ec == std::errc());
    out.append(buf, res.ptr);
  }
}

void AppendEscaped(std::string& out, std::string_view s, bool escape_quotes) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '"':
        if (escape_quotes) {
          out.append("\\\"");
        } else {
          out.push_back(c);
        }
        break;
      default:
        out.push_back(c);
    }
  }
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

constexpr std::array<std::string_view, 3> kHistogramSuffixes = {"_bucket", "_sum", "_count"};

// The sample names a family occupies; two families may not share any.
std::vector<std::string> SampleNames(std::string_view name, MetricType type) {
  std::vector<std::string> names;
  if (type == MetricType::kHistogram) {
    for (std::string_view suffix : kHistogramSuffixes)
      names.push_back(fmt::format("{}{}", name, suffix));
  } else {
    names.emplace_back(name);
  }
  return names;
}

std::vector<double> NormalizeBounds(std::span<const double> bounds) {
  std::vector<double> out(bounds.begin(), bounds.end());
  if (!out.empty() && std::isinf(out.back()) && out.back() > 0) out.pop_back();
  for (size_t i = 0; i < out.size(); ++i) {
    ORIEL_CHECK(!std::isnan(out[i]));
    if (i > 0) ORIEL_CHECK(out[i - 1] < out[i]);
  }
  return out;
}

std::vector<std::string> CheckedLabelNames(std::initializer_list<std::string_view> label_names,
                                           MetricType type) {
  std::vector<std::string> names;
  for (std::string_view n : label_names) {
    ORIEL_CHECK(IsValidLabelName(n));
    ORIEL_CHECK(!(type == MetricType::kHistogram && n == "le"));
    ORIEL_CHECK(std::find(names.begin(), names.end(), n) == names.end());
    names.emplace_back(n);
  }
  return names;
}

// Orders label-value tuples lexicographically, so that lookups can use views of the values.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

using ValueViews = absl::InlinedVector<std::string_view, 8>;

ValueViews ToViews(std::span<const std::string> values) {
  return ValueViews(values.begin(), values.end());
}

// Writes one child of a family (or an unlabelled metric, with no labels).
void WriteChild(ExpositionWriter& w, std::span<const LabelPair> labels, const Counter& c) {
  w.Sample(labels, c.Value());
}
void WriteChild(ExpositionWriter& w, std::span<const LabelPair> labels, const Gauge& g) {
  w.Sample(labels, g.Value());
}
void WriteChild(ExpositionWriter& w, std::span<const LabelPair> labels, const Histogram& h) {
  Histogram::Snapshot snap = h.Collect();
  std::vector<LabelPair> bucket_labels(labels.begin(), labels.end());
  bucket_labels.push_back({"le", ""});
  std::string le;
  for (size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
    le.clear();
    if (i < h.bounds().size()) {
      AppendFloat(le, h.bounds()[i]);
    } else {
      le = "+Inf";
    }
    bucket_labels.back().value = le;
    w.SuffixedSample("_bucket", bucket_labels, static_cast<double>(snap.cumulative_counts[i]));
  }
  w.SuffixedSample("_sum", labels, snap.sum);
  w.SuffixedSample("_count", labels, static_cast<double>(snap.count));
}

// The children of a labelled family, keyed by their label values.
template <typename T>
class Children {
 public:
  Children(std::string name, std::string help, MetricType type,
           std::vector<std::string> label_names, std::function<std::unique_ptr<T>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  T& Get(std::span<const std::string_view> values) {
    ORIEL_CHECK(values.size() == label_names_.size());
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    auto it = children_.lower_bound(values);
    if (it == children_.end() || LabelValuesLess()(values, it->first)) {
      it = children_.emplace_hint(it, std::vector<std::string>(values.begin(), values.end()),
                                  make_());
    }
    return *it->second;
  }

  void Write(ExpositionWriter& w) const {
    w.Family(name_, help_, type_);
    std::vector<LabelPair> labels(label_names_.size());
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [values, child] : children_) {
      for (size_t i = 0; i < values.size(); ++i) labels[i] = {label_names_[i], values[i]};
      WriteChild(w, labels, *child);
    }
  }

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<T>()> make_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelValuesLess> children_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

void Counter::Inc(double delta) {
  ORIEL_CHECK(delta >= 0);
  value_.fetch_add(delta, std::memory_order_relaxed);
}

void Gauge::Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(NormalizeBounds(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

Histogram::~Histogram() = default;

void Histogram::Observe(double value) {
  // First bound >= value; NaN compares false with everything and lands in +Inf.
  size_t i = std::isnan(value)
                 ? bounds_.size()
                 : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                       bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snap;
  snap.cumulative_counts.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts[i] = total;
  }
  snap.count = total;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

struct CounterFamily::Impl : Children<Counter> {
  using Children::Children;
};
CounterFamily::CounterFamily(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CounterFamily::~CounterFamily() = default;
Counter& CounterFamily::WithLabels(std::initializer_list<std::string_view> values) {
  return impl_->Get(values);
}
Counter& CounterFamily::WithLabels(std::span<const std::string> values) {
  return impl_->Get(ToViews(values));
}

struct GaugeFamily::Impl : Children<Gauge> {
  using Children::Children;
};
GaugeFamily::GaugeFamily(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GaugeFamily::~GaugeFamily() = default;
Gauge& GaugeFamily::WithLabels(std::initializer_list<std::string_view> values) {
  return impl_->Get(values);
}
Gauge& GaugeFamily::WithLabels(std::span<const std::string> values) {
  return impl_->Get(ToViews(values));
}

struct HistogramFamily::Impl : Children<Histogram> {
  using Children::Children;
};
HistogramFamily::HistogramFamily(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HistogramFamily::~HistogramFamily() = default;
Histogram& HistogramFamily::WithLabels(std::initializer_list<std::string_view> values) {
  return impl_->Get(values);
}
Histogram& HistogramFamily::WithLabels(std::span<const std::string> values) {
  return impl_->Get(ToViews(values));
}

ExpositionWriter::ExpositionWriter() = default;
ExpositionWriter::~ExpositionWriter() = default;

void ExpositionWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  ORIEL_CHECK(IsValidMetricName(name));
  RenderedFamily& f = families_.emplace_back();
  f.name = name;
  f.type = type;
  f.text.append("# HELP ").append(name).push_back(' ');
  AppendEscaped(f.text, help, /*escape_quotes=*/false);
  f.text.append("\n# TYPE ").append(name).push_back(' ');
  f.text.append(TypeName(type)).push_back('\n');
}

void ExpositionWriter::Sample(double value) { WriteSample("", {}, value); }

void ExpositionWriter::Sample(std::initializer_list<LabelPair> labels, double value) {
  WriteSample("", std::span<const LabelPair>(labels.begin(), labels.size()), value);
}

void ExpositionWriter::Sample(std::span<const LabelPair> labels, double value) {
  WriteSample("", labels, value);
}

void ExpositionWriter::SuffixedSample(std::string_view suffix, std::span<const LabelPair> labels,
                                      double value) {
  ORIEL_CHECK(std::find(kHistogramSuffixes.begin(), kHistogramSuffixes.end(), suffix) !=
              kHistogramSuffixes.end());
  WriteSample(suffix, labels, value);
}

void ExpositionWriter::WriteSample(std::string_view suffix, std::span<const LabelPair> labels,
                                   double value) {
  ORIEL_CHECK(!families_.empty());
  RenderedFamily& f = families_.back();
  ORIEL_CHECK((f.type == MetricType::kHistogram) == !suffix.empty());
  std::string& out = f.text;
  out.append(f.name).append(suffix);
  if (!labels.empty()) {
    out.push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      const LabelPair& l = labels[i];
      ORIEL_CHECK(IsValidLabelName(l.name));
      ORIEL_CHECK(l.name != "le" || suffix == "_bucket");
      for (size_t j = 0; j < i; ++j) ORIEL_CHECK(labels[j].name != l.name);
      if (i > 0) out.push_back(',');
      out.append(l.name).append("=\"");
      AppendEscaped(out, l.value, /*escape_quotes=*/true);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  AppendFloat(out, value);
  out.push_back('\n');
  ++f.samples;
}

std::string ExpositionWriter::Finish() {
  std::vector<RenderedFamily> families = std::move(families_);
  families_.clear();
  std::sort(families.begin(), families.end(),
            [](const RenderedFamily& a, const RenderedFamily& b) { return a.name < b.name; });
  absl::flat_hash_set<std::string> sample_names;
  size_t size = 0;
  for (const RenderedFamily& f : families) {
    for (std::string& n : SampleNames(f.name, f.type)) {
      ORIEL_CHECK(sample_names.insert(std::move(n)).second);
    }
    size += f.text.size();
  }
  std::string out;
  out.reserve(size);
  for (const RenderedFamily& f : families) {
    if (f.samples > 0) out.append(f.text);
  }
  return out;
}

std::string FormatFloat(double value) {
  std::string out;
  AppendFloat(out, value);
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  ORIEL_CHECK(start > 0 && factor > 1 && count >= 1);
  std::vector<double> bounds(static_cast<size_t>(count));
  double b = start;
  for (double& x : bounds) {
    x = b;
    b *= factor;
  }
  return bounds;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  ORIEL_CHECK(width > 0 && count >= 1);
  std::vector<double> bounds(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) bounds[static_cast<size_t>(i)] = start + width * i;
  return bounds;
}

std::vector<double> DefaultDurationBuckets() {
  return {kDefaultDurationBuckets.begin(), kDefaultDurationBuckets.end()};
}

struct Registry::Impl {
  using Collector = std::function<void(ExpositionWriter&)>;

  // Claims the sample names of a new family, or fails the check if any is taken.
  void Reserve(std::string_view name, MetricType type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ORIEL_CHECK(IsValidMetricName(name));
    std::vector<std::string> names = SampleNames(name, type);
    for (const std::string& n : names) ORIEL_CHECK(!sample_names.contains(n));
    for (std::string& n : names) sample_names.insert(std::move(n));
  }

  mutable absl::Mutex mu;
  absl::flat_hash_set<std::string> sample_names ABSL_GUARDED_BY(mu);
  // Registered metrics are only appended, never removed: references handed out stay valid.
  std::vector<std::unique_ptr<Counter>> counters ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<Gauge>> gauges ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<Histogram>> histograms ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<CounterFamily>> counter_families ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<GaugeFamily>> gauge_families ABSL_GUARDED_BY(mu);
  std::vector<std::unique_ptr<HistogramFamily>> histogram_families ABSL_GUARDED_BY(mu);
  // Everything is exposed through a collector, including the registered metrics above.
  std::vector<Collector> collectors ABSL_GUARDED_BY(mu);
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Counter& Registry::AddCounter(std::string_view name, std::string_view help) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kCounter);
  Counter* c = impl_->counters.emplace_back(std::make_unique<Counter>()).get();
  impl_->collectors.push_back(
      [c, name = std::string(name), help = std::string(help)](ExpositionWriter& w) {
        w.Family(name, help, MetricType::kCounter);
        w.Sample(c->Value());
      });
  return *c;
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kGauge);
  Gauge* g = impl_->gauges.emplace_back(std::make_unique<Gauge>()).get();
  impl_->collectors.push_back(
      [g, name = std::string(name), help = std::string(help)](ExpositionWriter& w) {
        w.Family(name, help, MetricType::kGauge);
        w.Sample(g->Value());
      });
  return *g;
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kHistogram);
  Histogram* h = impl_->histograms.emplace_back(std::make_unique<Histogram>(bounds)).get();
  impl_->collectors.push_back(
      [h, name = std::string(name), help = std::string(help)](ExpositionWriter& w) {
        w.Family(name, help, MetricType::kHistogram);
        WriteChild(w, {}, *h);
      });
  return *h;
}

CounterFamily& Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                          std::initializer_list<std::string_view> label_names) {
  auto impl = std::make_unique<CounterFamily::Impl>(
      std::string(name), std::string(help), MetricType::kCounter,
      CheckedLabelNames(label_names, MetricType::kCounter),
      [] { return std::make_unique<Counter>(); });
  const CounterFamily::Impl* children = impl.get();
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kCounter);
  CounterFamily* f = impl_->counter_families.emplace_back(new CounterFamily(std::move(impl))).get();
  impl_->collectors.push_back([children](ExpositionWriter& w) { children->Write(w); });
  return *f;
}

GaugeFamily& Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                      std::initializer_list<std::string_view> label_names) {
  auto impl = std::make_unique<GaugeFamily::Impl>(
      std::string(name), std::string(help), MetricType::kGauge,
      CheckedLabelNames(label_names, MetricType::kGauge), [] { return std::make_unique<Gauge>(); });
  const GaugeFamily::Impl* children = impl.get();
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kGauge);
  GaugeFamily* f = impl_->gauge_families.emplace_back(new GaugeFamily(std::move(impl))).get();
  impl_->collectors.push_back([children](ExpositionWriter& w) { children->Write(w); });
  return *f;
}

HistogramFamily& Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                              std::initializer_list<std::string_view> label_names,
                                              std::vector<double> bounds) {
  std::vector<double> normalized = NormalizeBounds(bounds);
  auto impl = std::make_unique<HistogramFamily::Impl>(
      std::string(name), std::string(help), MetricType::kHistogram,
      CheckedLabelNames(label_names, MetricType::kHistogram),
      [normalized] { return std::make_unique<Histogram>(normalized); });
  const HistogramFamily::Impl* children = impl.get();
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kHistogram);
  HistogramFamily* f =
      impl_->histogram_families.emplace_back(new HistogramFamily(std::move(impl))).get();
  impl_->collectors.push_back([children](ExpositionWriter& w) { children->Write(w); });
  return *f;
}

void Registry::AddCounterFunc(std::string_view name, std::string_view help,
                              std::function<double()> fn) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kCounter);
  impl_->collectors.push_back([fn = std::move(fn), name = std::string(name),
                               help = std::string(help)](ExpositionWriter& w) {
    w.Family(name, help, MetricType::kCounter);
    w.Sample(fn());
  });
}

void Registry::AddGaugeFunc(std::string_view name, std::string_view help,
                            std::function<double()> fn) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reserve(name, MetricType::kGauge);
  impl_->collectors.push_back([fn = std::move(fn), name = std::string(name),
                               help = std::string(help)](ExpositionWriter& w) {
    w.Family(name, help, MetricType::kGauge);
    w.Sample(fn());
  });
}

void Registry::AddCollector(std::function<void(ExpositionWriter&)> collector) {
  ORIEL_CHECK(collector != nullptr);
  absl::MutexLock lock(&impl_->mu);
  impl_->collectors.push_back(std::move(collector));
}

std::string Registry::Expose() const {
  // Collectors run outside the lock: they may be slow (reading /proc) and must not block
  // registration; everything they point at lives as long as the Registry.
  std::vector<Impl::Collector> collectors;
  {
    absl::MutexLock lock(&impl_->mu);
    collectors = impl_->collectors;
  }
  ExpositionWriter w;
  for (const Impl::Collector& c : collectors) c(w);
  return w.Finish();
}

}  // namespace oriel::metrics
