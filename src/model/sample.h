// Samples of a time series: float samples, native histogram samples, exemplars, and the
// Prometheus staleness marker.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "model/labels.h"

namespace oriel::model {

// The NaN that marks a series as stale (Prometheus' value.StaleNaN): a series that disappeared.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

struct Sample {
  int64_t timestamp_ms = 0;
  double value = 0;
};

// A span of consecutive native-histogram buckets: `offset` buckets after the previous span
// (or from index 0 for the first span), `length` buckets long.
struct BucketSpan {
  int32_t offset = 0;
  uint32_t length = 0;
  bool operator==(const BucketSpan&) const = default;
};

// A native histogram sample (Prometheus model): exponential buckets of schema -4..8, or custom
// bounds with schema -53. Bucket counts are absolute (not delta-encoded) floats, so the one type
// serves integer and float histograms.
struct HistogramSample {
  int64_t timestamp_ms = 0;
  enum class Reset : uint8_t { kUnknown, kYes, kNo, kGauge } counter_reset = Reset::kUnknown;
  int32_t schema = 0;
  double zero_threshold = 0;
  double zero_count = 0;
  double count = 0;
  double sum = 0;
  std::vector<BucketSpan> positive_spans;
  std::vector<double> positive_buckets;
  std::vector<BucketSpan> negative_spans;
  std::vector<double> negative_buckets;
  std::vector<double> custom_values;  // upper bounds, schema -53 only
};

struct Exemplar {
  Labels labels;  // e.g. trace_id, span_id
  double value = 0;
  int64_t timestamp_ms = 0;  // 0 when unknown
};

enum class MetricType : uint8_t {
  kUnknown,
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateSet,
};

// Per metric family name (Prometheus' /api/v1/metadata).
struct MetricMetadata {
  std::string metric_family;
  MetricType type = MetricType::kUnknown;
  std::string help;
  std::string unit;
};

// One series and its new data, as decoded from any ingest protocol.
struct SeriesData {
  Labels labels;
  std::vector<Sample> samples;
  std::vector<HistogramSample> histograms;
  std::vector<Exemplar> exemplars;
};

// What an ingest path hands to the metrics engine in one write.
struct MetricBatch {
  std::vector<SeriesData> series;
  std::vector<MetricMetadata> metadata;
};

}  // namespace oriel::model
