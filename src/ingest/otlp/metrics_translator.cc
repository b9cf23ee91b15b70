#include "ingest/otlp/metrics_translator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/strings/escaping.h"
#include "base/json.h"
#include "base/status.h"
#include "ingest/otlp/otlp_json.h"
#include "ingest/otlp/prometheus_naming.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace resource = opentelemetry::proto::resource::v1;
using model::Label;
using CollectorRequest = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

std::string_view Message(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

// What Prometheus uses as the zero bucket's width when an OTLP point does not give one.
constexpr double kDefaultZeroThreshold = 1e-128;
// Prometheus' limit on the runes of an exemplar's labels (OpenMetrics): past it the filtered
// attributes are left out and only trace_id/span_id remain.
constexpr size_t kMaxExemplarRunes = 128;
// Native histogram schemas Prometheus accepts for exponential buckets.
constexpr int32_t kMinSchema = -4;
constexpr int32_t kMaxSchema = 8;
// OTel's largest scale; finer points are not valid OTLP.
constexpr int32_t kMaxOtelScale = 20;
// target_info samples per resource per request; a wider span gets only its last sample, so that
// two far-apart timestamps in one request cannot make millions of samples.
constexpr int64_t kMaxTargetInfoSamples = 1000;
constexpr size_t kMaxErrorMessages = 5;

constexpr std::string_view kServiceName = "service.name";
constexpr std::string_view kServiceNamespace = "service.namespace";
constexpr std::string_view kServiceInstanceId = "service.instance.id";

int64_t NanosToMillis(uint64_t ns) { return static_cast<int64_t>(ns / 1'000'000); }

size_t RuneCount(std::string_view s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// Go's float formatting as pdata's Value.AsString and encoding/json use it (ES6 number style).
std::string FormatFloatEs6(double v) {
  if (std::isnan(v)) return "json: unsupported value: NaN";
  if (std::isinf(v))
    return v > 0 ? "json: unsupported value: +Inf" : "json: unsupported value: -Inf";
  double abs = std::fabs(v);
  char buf[400];
  if (abs != 0 && (abs < 1e-6 || abs >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // "1e-07" -> "1e-7", as Go cleans it.
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

void AppendJsonValue(std::string& out, const common::AnyValue& v);

// pdata's Value.AsString: strings as they are, other scalars in Go's notation, arrays and maps
// as JSON (map keys sorted, as Go's encoder writes them).
std::string AttributeString(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue:
      return FormatFloatEs6(v.double_value());
    case common::AnyValue::kBytesValue: {
      std::string out;
      absl::Base64Escape(absl::string_view(v.bytes_value().data(), v.bytes_value().size()), &out);
      return out;
    }
    case common::AnyValue::kArrayValue:
    case common::AnyValue::kKvlistValue: {
      std::string out;
      AppendJsonValue(out, v);
      return out;
    }
    case common::AnyValue::VALUE_NOT_SET:
      break;
  }
  return "";
}

void AppendJsonValue(std::string& out, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
    case common::AnyValue::kBytesValue:
      AppendGoJsonString(out, AttributeString(v));
      return;
    case common::AnyValue::kBoolValue:
    case common::AnyValue::kIntValue:
    case common::AnyValue::kDoubleValue:
      out += AttributeString(v);
      return;
    case common::AnyValue::kArrayValue: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.array_value().values()) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonValue(out, e);
      }
      out.push_back(']');
      return;
    }
    case common::AnyValue::kKvlistValue: {
      std::map<std::string_view, const common::AnyValue*> sorted;
      for (const auto& kv : v.kvlist_value().values()) sorted[kv.key()] = &kv.value();
      out.push_back('{');
      bool first = true;
      for (const auto& [k, value] : sorted) {
        if (!first) out.push_back(',');
        first = false;
        AppendGoJsonString(out, k);
        out.push_back(':');
        AppendJsonValue(out, *value);
      }
      out.push_back('}');
      return;
    }
    case common::AnyValue::VALUE_NOT_SET:
      out += "null";
      return;
  }
}

const common::AnyValue* FindAttribute(
    const google::protobuf::RepeatedPtrField<common::KeyValue>& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

// Attributes to labels as Prometheus' createAttributes does: keys sorted, sanitized, colliding
// names join their values with ';' in key order. `ignore` lists keys left out.
absl::Status AddAttributeLabels(const google::protobuf::RepeatedPtrField<common::KeyValue>& attrs,
                                std::initializer_list<std::string_view> ignore,
                                std::map<std::string, std::string>& out) {
  std::vector<const common::KeyValue*> sorted;
  sorted.reserve(attrs.size());
  for (const auto& kv : attrs) {
    if (std::find(ignore.begin(), ignore.end(), kv.key()) == ignore.end()) sorted.push_back(&kv);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->key() < b->key(); });
  for (const auto* kv : sorted) {
    ORIEL_ASSIGN_OR_RETURN(std::string name, BuildLabelName(kv->key()));
    std::string value = AttributeString(kv->value());
    auto [it, inserted] = out.try_emplace(std::move(name), value);
    if (!inserted) it->second = fmt::format("{};{}", it->second, value);
  }
  return absl::OkStatus();
}

model::MetricType PromType(const metrics::Metric& m) {
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      return model::MetricType::kGauge;
    case metrics::Metric::kSum:
      return m.sum().is_monotonic() ? model::MetricType::kCounter : model::MetricType::kGauge;
    case metrics::Metric::kHistogram:
    case metrics::Metric::kExponentialHistogram:
      return model::MetricType::kHistogram;
    case metrics::Metric::kSummary:
      return model::MetricType::kSummary;
    default:
      return model::MetricType::kUnknown;
  }
}

OtlpMetricKind Kind(const metrics::Metric& m) {
  switch (m.data_case()) {
    case metrics::Metric::kSum:
      return m.sum().is_monotonic() ? OtlpMetricKind::kMonotonicCounter
                                    : OtlpMetricKind::kNonMonotonicCounter;
    case metrics::Metric::kHistogram:
      return OtlpMetricKind::kHistogram;
    case metrics::Metric::kExponentialHistogram:
      return OtlpMetricKind::kExponentialHistogram;
    case metrics::Metric::kSummary:
      return OtlpMetricKind::kSummary;
    default:
      return OtlpMetricKind::kGauge;
  }
}

bool IsStale(uint32_t flags) {
  return (flags & metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) != 0;
}

std::optional<model::Exemplar> ToExemplar(const metrics::Exemplar& e) {
  model::Exemplar out;
  switch (e.value_case()) {
    case metrics::Exemplar::kAsDouble:
      out.value = e.as_double();
      break;
    case metrics::Exemplar::kAsInt:
      out.value = static_cast<double>(e.as_int());
      break;
    default:
      return std::nullopt;  // Prometheus refuses an exemplar without a value
  }
  out.timestamp_ms = NanosToMillis(e.time_unix_nano());
  std::vector<Label> labels;
  size_t runes = 0;
  if (!e.trace_id().empty()) {
    labels.push_back({"trace_id", HexEncode(e.trace_id())});
    runes += RuneCount("trace_id") + labels.back().value.size();
  }
  if (!e.span_id().empty()) {
    labels.push_back({"span_id", HexEncode(e.span_id())});
    runes += RuneCount("span_id") + labels.back().value.size();
  }
  std::vector<Label> filtered;
  for (const auto& kv : e.filtered_attributes()) {
    filtered.push_back({kv.key(), AttributeString(kv.value())});
    runes += RuneCount(kv.key()) + RuneCount(filtered.back().value);
  }
  if (runes <= kMaxExemplarRunes) {
    for (auto& l : filtered) labels.push_back(std::move(l));
  }
  out.labels = model::Labels::FromUnsorted(std::move(labels));
  return out;
}

std::vector<model::Exemplar> ToExemplars(
    const google::protobuf::RepeatedPtrField<metrics::Exemplar>& exemplars) {
  std::vector<model::Exemplar> out;
  for (const auto& e : exemplars) {
    if (auto ex = ToExemplar(e)) out.push_back(std::move(*ex));
  }
  return out;
}

// OTel exponential buckets (index i covers (base^i, base^(i+1)]) to Prometheus spans and
// absolute counts (index i+1 covers the same range). Empty buckets are left out, except that a
// gap of one or two buckets is filled with zeros rather than opening a new span, as Prometheus'
// clients lay buckets out.
void ToNativeBuckets(const std::map<int64_t, double>& buckets,
                     std::vector<model::BucketSpan>& spans, std::vector<double>& counts) {
  int64_t next = 0;  // Prometheus index after the last bucket written
  for (const auto& [otel_index, count] : buckets) {
    if (count == 0) continue;
    int64_t index = otel_index + 1;
    if (spans.empty()) {
      spans.push_back({static_cast<int32_t>(index), 0});
    } else if (int64_t gap = index - next; gap > 2) {
      spans.push_back({static_cast<int32_t>(gap), 0});
    } else {
      for (int64_t i = 0; i < gap; ++i) {
        counts.push_back(0);
        ++spans.back().length;
      }
    }
    counts.push_back(count);
    ++spans.back().length;
    next = index + 1;
  }
}

// Bucket indexes of real doubles stay within ±1100·2^schema (±282k at schema 8): anything far
// beyond is hostile, and would overflow the int32 span offsets.
constexpr int64_t kMaxBucketIndex = int64_t{1} << 20;

// Checked before accumulation too, so that a hostile delta never enters the table: finer scales
// allow proportionally larger indexes.
bool IndexesInRange(const ExponentialHistogramPoint& p) {
  int64_t limit = kMaxBucketIndex << std::max(0, p.scale - kMaxSchema);
  for (const auto* buckets : {&p.positive, &p.negative}) {
    if (buckets->empty()) continue;
    if (std::abs(buckets->begin()->first) > limit || std::abs(buckets->rbegin()->first) > limit) {
      return false;
    }
  }
  return true;
}

class ErrorLog {
 public:
  void Add(std::string message) {
    ++count_;
    if (messages_.size() < kMaxErrorMessages) messages_.push_back(std::move(message));
  }
  std::string Join() const {
    std::string out;
    for (const auto& m : messages_) {
      if (!out.empty()) out += "; ";
      out += m;
    }
    if (count_ > messages_.size()) out += fmt::format("; and {} more", count_ - messages_.size());
    return out;
  }

 private:
  size_t count_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace

// The state of one Translate call.
class MetricsTranslator::Run {
 public:
  Run(const TranslatorOptions& options, DeltaAccumulator& delta)
      : options_(options), delta_(delta) {}

  Translation Translate(const CollectorRequest& request);

 private:
  struct ResourceInfo {
    const resource::Resource* resource = nullptr;
    std::map<std::string, std::string> promoted;  // sanitized names
    std::string job, instance;
  };
  struct ScopeInfo {
    const common::InstrumentationScope* scope = nullptr;
    const std::string* schema_url = nullptr;
  };

  void TranslateResource(const metrics::ResourceMetrics& rm);
  void TranslateMetric(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
                       uint64_t& min_ns, uint64_t& max_ns);
  void AddTargetInfo(const ResourceInfo& res, uint64_t min_ns, uint64_t max_ns);

  // The labels every series of a data point shares (without __name__).
  absl::StatusOr<std::map<std::string, std::string>> BaseLabels(
      const ResourceInfo& res, const ScopeInfo& scope,
      const google::protobuf::RepeatedPtrField<common::KeyValue>& attrs);

  // The series `base` + __name__=`name` (+ `extra_name`=`extra_value`), created on first use.
  model::SeriesData& Series(const std::map<std::string, std::string>& base, std::string_view name,
                            std::string_view extra_name = "", std::string_view extra_value = "");

  void Reject(const metrics::Metric& m, int64_t points, std::string_view why) {
    rejected_ += points;
    errors_.Add(fmt::format("cannot translate {} of metric \"{}\": {}",
                            points == 1 ? "a data point" : fmt::format("{} data points", points),
                            m.name(), why));
  }

  // The series of number point `p` of `m` and its value (a stale marker when flagged so), or
  // null when the point is rejected (counted, with the reason).
  model::SeriesData* NumberPointSeries(const ResourceInfo& res, const ScopeInfo& scope,
                                       const metrics::Metric& m, const std::string& name,
                                       const metrics::NumberDataPoint& p, double* value);
  void Gauge(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
             const std::string& name);
  void Sum(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
           const std::string& name);
  void Histogram(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
                 const std::string& name);
  void Exponential(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
                   const std::string& name);
  void Summary(const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
               const std::string& name);

  // Whether points of `temporality` can be stored; rejects all of `m`'s `points` otherwise.
  bool CheckTemporality(const metrics::Metric& m, metrics::AggregationTemporality temporality,
                        int points);

  const TranslatorOptions& options_;
  DeltaAccumulator& delta_;
  model::MetricBatch batch_;
  std::unordered_map<uint64_t, std::vector<size_t>> series_index_;
  std::map<std::string, size_t> metadata_index_;
  int64_t accepted_ = 0;
  int64_t rejected_ = 0;
  ErrorLog errors_;
};

MetricsTranslator::MetricsTranslator(TranslatorOptions options)
    : options_(std::move(options)), delta_(std::max<size_t>(options_.max_delta_series, 1)) {}

MetricsTranslator::~MetricsTranslator() = default;

Translation MetricsTranslator::Translate(
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request) {
  Run run(options_, delta_);
  return run.Translate(request);
}

Translation MetricsTranslator::Run::Translate(const CollectorRequest& request) {
  for (const auto& rm : request.resource_metrics()) TranslateResource(rm);
  // A series whose only point was refused after it was looked up has nothing to write.
  std::erase_if(batch_.series,
                [](const auto& s) { return s.samples.empty() && s.histograms.empty(); });
  for (auto& series : batch_.series) {
    std::stable_sort(series.samples.begin(), series.samples.end(),
                     [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
    std::stable_sort(series.histograms.begin(), series.histograms.end(),
                     [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
  }
  Translation out;
  out.batch = std::move(batch_);
  out.data_points = accepted_;
  out.rejected_data_points = rejected_;
  out.error_message = errors_.Join();
  return out;
}

void MetricsTranslator::Run::TranslateResource(const metrics::ResourceMetrics& rm) {
  ResourceInfo res;
  res.resource = &rm.resource();
  const auto& attrs = rm.resource().attributes();
  if (const auto* name = FindAttribute(attrs, kServiceName)) {
    res.job = AttributeString(*name);
    if (const auto* ns = FindAttribute(attrs, kServiceNamespace)) {
      res.job = fmt::format("{}/{}", AttributeString(*ns), res.job);
    }
  }
  if (const auto* id = FindAttribute(attrs, kServiceInstanceId)) {
    res.instance = AttributeString(*id);
  }
  for (const auto& key : options_.promote_resource_attributes) {
    const auto* v = FindAttribute(attrs, key);
    if (v == nullptr) continue;
    auto name = BuildLabelName(key);
    if (name.ok()) res.promoted.emplace(*name, AttributeString(*v));
  }

  uint64_t min_ns = UINT64_MAX, max_ns = 0;
  for (const auto& sm : rm.scope_metrics()) {
    ScopeInfo scope{&sm.scope(), &sm.schema_url()};
    for (const auto& m : sm.metrics()) TranslateMetric(res, scope, m, min_ns, max_ns);
  }
  if (min_ns != UINT64_MAX) AddTargetInfo(res, min_ns, max_ns);
}

absl::StatusOr<std::map<std::string, std::string>> MetricsTranslator::Run::BaseLabels(
    const ResourceInfo& res, const ScopeInfo& scope,
    const google::protobuf::RepeatedPtrField<common::KeyValue>& attrs) {
  std::map<std::string, std::string> l;
  ORIEL_RETURN_IF_ERROR(AddAttributeLabels(attrs, {}, l));
  for (const auto& [name, value] : res.promoted) l.try_emplace(name, value);
  if (options_.promote_scope_metadata && !scope.scope->name().empty()) {
    l["otel_scope_name"] = scope.scope->name();
    l["otel_scope_version"] = scope.scope->version();
    l["otel_scope_schema_url"] = *scope.schema_url;
    for (const auto& kv : scope.scope->attributes()) {
      ORIEL_ASSIGN_OR_RETURN(std::string name, BuildLabelName("otel_scope_" + kv.key()));
      l[name] = AttributeString(kv.value());
    }
  }
  if (!res.job.empty()) l["job"] = res.job;
  if (!res.instance.empty()) l["instance"] = res.instance;
  return l;
}

model::SeriesData& MetricsTranslator::Run::Series(const std::map<std::string, std::string>& base,
                                                  std::string_view name,
                                                  std::string_view extra_name,
                                                  std::string_view extra_value) {
  std::vector<Label> labels;
  labels.reserve(base.size() + 2);
  for (const auto& [n, v] : base) labels.push_back({n, v});
  if (!extra_name.empty()) labels.push_back({std::string(extra_name), std::string(extra_value)});
  labels.push_back({std::string(model::kMetricName), std::string(name)});
  model::Labels set = model::Labels::FromUnsorted(std::move(labels));
  auto& slots = series_index_[set.Hash()];
  for (size_t i : slots) {
    if (batch_.series[i].labels == set) return batch_.series[i];
  }
  slots.push_back(batch_.series.size());
  batch_.series.emplace_back().labels = std::move(set);
  return batch_.series.back();
}

bool MetricsTranslator::Run::CheckTemporality(const metrics::Metric& m,
                                              metrics::AggregationTemporality temporality,
                                              int points) {
  if (temporality == metrics::AGGREGATION_TEMPORALITY_CUMULATIVE) return true;
  if (temporality == metrics::AGGREGATION_TEMPORALITY_DELTA) {
    if (options_.accumulate_delta) return true;
    Reject(m, points, "delta temporality is not accepted (accumulation is disabled)");
    return false;
  }
  Reject(m, points,
         fmt::format("invalid aggregation temporality {}", static_cast<int>(temporality)));
  return false;
}

void MetricsTranslator::Run::TranslateMetric(const ResourceInfo& res, const ScopeInfo& scope,
                                             const metrics::Metric& m, uint64_t& min_ns,
                                             uint64_t& max_ns) {
  int points = 0;
  auto span = [&](const auto& data_points) {
    points = data_points.size();
    for (const auto& p : data_points) {
      min_ns = std::min<uint64_t>(min_ns, p.time_unix_nano());
      max_ns = std::max<uint64_t>(max_ns, p.time_unix_nano());
    }
  };
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      span(m.gauge().data_points());
      break;
    case metrics::Metric::kSum:
      span(m.sum().data_points());
      break;
    case metrics::Metric::kHistogram:
      span(m.histogram().data_points());
      break;
    case metrics::Metric::kExponentialHistogram:
      span(m.exponential_histogram().data_points());
      break;
    case metrics::Metric::kSummary:
      span(m.summary().data_points());
      break;
    case metrics::Metric::DATA_NOT_SET:
      errors_.Add(fmt::format("cannot translate metric \"{}\": it has no data", m.name()));
      return;
  }
  if (points == 0) return;

  auto name = BuildMetricName(m.name(), m.unit(), Kind(m));
  if (!name.ok()) {
    Reject(m, points, Message(name.status()));
    return;
  }
  if (metadata_index_.emplace(*name, batch_.metadata.size()).second) {
    batch_.metadata.push_back(model::MetricMetadata{
        .metric_family = *name, .type = PromType(m), .help = m.description(), .unit = m.unit()});
  }
  switch (m.data_case()) {
    case metrics::Metric::kGauge:
      Gauge(res, scope, m, *name);
      break;
    case metrics::Metric::kSum:
      if (CheckTemporality(m, m.sum().aggregation_temporality(), points)) Sum(res, scope, m, *name);
      break;
    case metrics::Metric::kHistogram:
      if (CheckTemporality(m, m.histogram().aggregation_temporality(), points)) {
        Histogram(res, scope, m, *name);
      }
      break;
    case metrics::Metric::kExponentialHistogram:
      if (CheckTemporality(m, m.exponential_histogram().aggregation_temporality(), points)) {
        Exponential(res, scope, m, *name);
      }
      break;
    case metrics::Metric::kSummary:
      Summary(res, scope, m, *name);
      break;
    case metrics::Metric::DATA_NOT_SET:
      break;
  }
}

namespace {

std::optional<double> NumberValue(const metrics::NumberDataPoint& p) {
  switch (p.value_case()) {
    case metrics::NumberDataPoint::kAsDouble:
      return p.as_double();
    case metrics::NumberDataPoint::kAsInt:
      return static_cast<double>(p.as_int());
    default:
      return std::nullopt;
  }
}

}  // namespace

model::SeriesData* MetricsTranslator::Run::NumberPointSeries(
    const ResourceInfo& res, const ScopeInfo& scope, const metrics::Metric& m,
    const std::string& name, const metrics::NumberDataPoint& p, double* value) {
  auto base = BaseLabels(res, scope, p.attributes());
  if (!base.ok()) {
    Reject(m, 1, Message(base.status()));
    return nullptr;
  }
  std::optional<double> number = NumberValue(p);
  if (!number && !IsStale(p.flags())) {
    Reject(m, 1, "the data point has no value");
    return nullptr;
  }
  *value = IsStale(p.flags()) ? model::StaleNaN() : *number;
  return &Series(*base, name);
}

void MetricsTranslator::Run::Gauge(const ResourceInfo& res, const ScopeInfo& scope,
                                   const metrics::Metric& m, const std::string& name) {
  for (const auto& p : m.gauge().data_points()) {
    double v;
    model::SeriesData* series = NumberPointSeries(res, scope, m, name, p, &v);
    if (series == nullptr) continue;
    series->samples.push_back({NanosToMillis(p.time_unix_nano()), v});
    ++accepted_;
  }
}

void MetricsTranslator::Run::Sum(const ResourceInfo& res, const ScopeInfo& scope,
                                 const metrics::Metric& m, const std::string& name) {
  bool delta = m.sum().aggregation_temporality() == metrics::AGGREGATION_TEMPORALITY_DELTA;
  for (const auto& p : m.sum().data_points()) {
    double v;
    model::SeriesData* found = NumberPointSeries(res, scope, m, name, p, &v);
    if (found == nullptr) continue;
    model::SeriesData& series = *found;
    if (delta && !IsStale(p.flags())) {
      auto total = delta_.AddSum(series.labels, p.time_unix_nano(), v);
      if (!total.ok()) {
        Reject(m, 1, Message(total.status()));
        continue;
      }
      v = *total;
    }
    series.samples.push_back({NanosToMillis(p.time_unix_nano()), v});
    for (auto& e : ToExemplars(p.exemplars())) series.exemplars.push_back(std::move(e));
    ++accepted_;
  }
}

void MetricsTranslator::Run::Histogram(const ResourceInfo& res, const ScopeInfo& scope,
                                       const metrics::Metric& m, const std::string& name) {
  bool delta = m.histogram().aggregation_temporality() == metrics::AGGREGATION_TEMPORALITY_DELTA;
  for (const auto& p : m.histogram().data_points()) {
    auto base = BaseLabels(res, scope, p.attributes());
    if (!base.ok()) {
      Reject(m, 1, Message(base.status()));
      continue;
    }
    if (!p.bucket_counts().empty() && p.bucket_counts_size() != p.explicit_bounds_size() + 1) {
      Reject(
          m, 1,
          fmt::format("{} bucket counts for {} explicit bounds (want {})", p.bucket_counts_size(),
                      p.explicit_bounds_size(), p.explicit_bounds_size() + 1));
      continue;
    }
    bool sorted = true;
    for (int i = 0; i < p.explicit_bounds_size(); ++i) {
      double b = p.explicit_bounds(i);
      if (std::isnan(b) || (i > 0 && !(b > p.explicit_bounds(i - 1)))) sorted = false;
    }
    if (!sorted) {
      Reject(m, 1, "explicit bounds are not strictly increasing");
      continue;
    }
    ExplicitHistogramPoint point;
    point.count = static_cast<double>(p.count());
    point.has_sum = p.has_sum();
    point.sum = p.sum();
    point.bounds.assign(p.explicit_bounds().begin(), p.explicit_bounds().end());
    for (uint64_t c : p.bucket_counts()) point.bucket_counts.push_back(static_cast<double>(c));

    bool stale = IsStale(p.flags());
    if (delta && !stale) {
      std::vector<Label> key;
      for (const auto& [n, v] : *base) key.push_back({n, v});
      key.push_back({std::string(model::kMetricName), name});
      auto total = delta_.AddHistogram(model::Labels::FromUnsorted(std::move(key)),
                                       p.time_unix_nano(), point);
      if (!total.ok()) {
        Reject(m, 1, Message(total.status()));
        continue;
      }
      point = std::move(*total);
    }
    int64_t ts = NanosToMillis(p.time_unix_nano());
    auto value = [&](double v) { return stale ? model::StaleNaN() : v; };
    if (point.has_sum) Series(*base, name + "_sum").samples.push_back({ts, value(point.sum)});
    Series(*base, name + "_count").samples.push_back({ts, value(point.count)});

    // Exemplars go to the first bucket whose bound is at least their value.
    std::vector<model::Exemplar> exemplars = ToExemplars(p.exemplars());
    std::vector<bool> placed(exemplars.size(), false);
    auto bucket = [&](double bound, std::string le, double cumulative) {
      model::SeriesData& s = Series(*base, name + "_bucket", "le", le);
      s.samples.push_back({ts, value(cumulative)});
      for (size_t i = 0; i < exemplars.size(); ++i) {
        if (!placed[i] && exemplars[i].value <= bound) {
          s.exemplars.push_back(exemplars[i]);
          placed[i] = true;
        }
      }
    };
    double cumulative = 0;
    for (size_t i = 0; i < point.bounds.size() && i < point.bucket_counts.size(); ++i) {
      cumulative += point.bucket_counts[i];
      bucket(point.bounds[i], FormatFloatFixed(point.bounds[i]), cumulative);
    }
    bucket(std::numeric_limits<double>::infinity(), "+Inf", point.count);
    ++accepted_;
  }
}

void MetricsTranslator::Run::Exponential(const ResourceInfo& res, const ScopeInfo& scope,
                                         const metrics::Metric& m, const std::string& name) {
  bool delta =
      m.exponential_histogram().aggregation_temporality() == metrics::AGGREGATION_TEMPORALITY_DELTA;
  for (const auto& p : m.exponential_histogram().data_points()) {
    auto base = BaseLabels(res, scope, p.attributes());
    if (!base.ok()) {
      Reject(m, 1, Message(base.status()));
      continue;
    }
    if (p.scale() < kMinSchema || p.scale() > kMaxOtelScale) {
      Reject(m, 1,
             fmt::format("scale {} is outside [{}, {}]", p.scale(), kMinSchema, kMaxOtelScale));
      continue;
    }
    ExponentialHistogramPoint point;
    point.scale = p.scale();
    point.count = static_cast<double>(p.count());
    point.has_sum = p.has_sum();
    point.sum = p.sum();
    point.zero_count = static_cast<double>(p.zero_count());
    point.zero_threshold = p.zero_threshold();
    auto fill = [](const metrics::ExponentialHistogramDataPoint::Buckets& b,
                   std::map<int64_t, double>& out) {
      int64_t index = b.offset();
      for (uint64_t c : b.bucket_counts()) {
        if (c != 0) out[index] += static_cast<double>(c);
        ++index;
      }
    };
    fill(p.positive(), point.positive);
    fill(p.negative(), point.negative);

    if (!IndexesInRange(point)) {
      Reject(m, 1,
             fmt::format("a bucket index is beyond ±{} at scale {}", kMaxBucketIndex,
                         std::min(point.scale, kMaxSchema)));
      continue;
    }
    model::SeriesData& series = Series(*base, name);
    bool stale = IsStale(p.flags());
    if (delta && !stale) {
      auto total = delta_.AddExponential(series.labels, p.time_unix_nano(), point);
      if (!total.ok()) {
        Reject(m, 1, Message(total.status()));
        continue;
      }
      point = std::move(*total);
    }
    DownscaleExponential(point, std::min(point.scale, kMaxSchema));
    if (!IndexesInRange(point)) {
      Reject(m, 1,
             fmt::format("a bucket index is beyond ±{} at scale {}", kMaxBucketIndex, point.scale));
      continue;
    }

    model::HistogramSample h;
    h.timestamp_ms = NanosToMillis(p.time_unix_nano());
    h.counter_reset = model::HistogramSample::Reset::kUnknown;
    h.schema = point.scale;
    h.zero_threshold = point.zero_threshold > 0 ? point.zero_threshold : kDefaultZeroThreshold;
    if (stale) {
      // The engine recognizes a stale histogram by its sum, as Prometheus does.
      h.sum = model::StaleNaN();
    } else {
      h.count = point.count;
      h.sum = point.has_sum ? point.sum : 0;
      h.zero_count = point.zero_count;
      ToNativeBuckets(point.positive, h.positive_spans, h.positive_buckets);
      ToNativeBuckets(point.negative, h.negative_spans, h.negative_buckets);
    }
    series.histograms.push_back(std::move(h));
    for (auto& e : ToExemplars(p.exemplars())) series.exemplars.push_back(std::move(e));
    ++accepted_;
  }
}

void MetricsTranslator::Run::Summary(const ResourceInfo& res, const ScopeInfo& scope,
                                     const metrics::Metric& m, const std::string& name) {
  for (const auto& p : m.summary().data_points()) {
    auto base = BaseLabels(res, scope, p.attributes());
    if (!base.ok()) {
      Reject(m, 1, Message(base.status()));
      continue;
    }
    bool valid = true;
    for (const auto& q : p.quantile_values()) {
      if (!(q.quantile() >= 0 && q.quantile() <= 1)) valid = false;
    }
    if (!valid) {
      Reject(m, 1, "a quantile is outside [0, 1]");
      continue;
    }
    int64_t ts = NanosToMillis(p.time_unix_nano());
    bool stale = IsStale(p.flags());
    auto value = [&](double v) { return stale ? model::StaleNaN() : v; };
    Series(*base, name + "_sum").samples.push_back({ts, value(p.sum())});
    Series(*base, name + "_count").samples.push_back({ts, value(static_cast<double>(p.count()))});
    for (const auto& q : p.quantile_values()) {
      Series(*base, name, "quantile", FormatFloatFixed(q.quantile()))
          .samples.push_back({ts, value(q.value())});
    }
    ++accepted_;
  }
}

void MetricsTranslator::Run::AddTargetInfo(const ResourceInfo& res, uint64_t min_ns,
                                           uint64_t max_ns) {
  const auto& attrs = res.resource->attributes();
  int identifying = 0;
  for (std::string_view key : {kServiceNamespace, kServiceName, kServiceInstanceId}) {
    if (FindAttribute(attrs, key) != nullptr) ++identifying;
  }
  // Only job and instance: target_info would say nothing.
  if (attrs.size() - identifying == 0) return;
  if (res.job.empty() && res.instance.empty()) return;

  std::map<std::string, std::string> l;
  absl::Status st =
      options_.keep_identifying_resource_attributes
          ? AddAttributeLabels(attrs, {}, l)
          : AddAttributeLabels(attrs, {kServiceNamespace, kServiceName, kServiceInstanceId}, l);
  if (!st.ok()) {
    errors_.Add(
        fmt::format("cannot translate target_info of resource {}: {}", res.job, st.message()));
    return;
  }
  if (!res.job.empty()) l["job"] = res.job;
  if (!res.instance.empty()) l["instance"] = res.instance;
  model::SeriesData& series = Series(l, "target_info");

  int64_t first = NanosToMillis(min_ns);
  int64_t last = NanosToMillis(max_ns);
  int64_t interval = std::max<int64_t>(options_.lookback_delta_ms / 2, 1);
  if ((last - first) / interval < kMaxTargetInfoSamples) {
    for (int64_t t = first; t < last; t += interval) series.samples.push_back({t, 1});
  }
  if (series.samples.empty() || series.samples.back().timestamp_ms < last) {
    series.samples.push_back({last, 1});
  }
}

}  // namespace oriel::ingest::otlp
