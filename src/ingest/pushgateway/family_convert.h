// Checks and transformations of pushed client_model MetricFamily messages: validation of
// protobuf input, grouping-label sanitising, and conversion to time series for the metrics
// engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ingest/pushgateway/grouping_key.h"
#include "io/prometheus/client/metrics.pb.h"
#include "model/sample.h"

namespace oriel::ingest {

// Checks what the text parser guarantees by construction, for families that came as protobuf:
// a valid metric name, valid and unique label names not starting with "__", and in every metric
// the value field that the family's type calls for (an untyped family whose metric carries a
// gauge is "not a UNTYPED", as the Pushgateway says). kInvalidArgument names the metric.
[[nodiscard]] absl::Status ValidateFamily(const io::prometheus::client::MetricFamily& mf);

// Whether any metric of `mf` carries a timestamp (the Pushgateway refuses those).
bool HasTimestamps(const io::prometheus::client::MetricFamily& mf);

// Sets the grouping labels on every metric (overriding body labels of the same name), adds
// instance="" when a metric has no instance label, and sorts the labels: the Pushgateway's
// sanitizeLabels.
void ApplyGroupingLabels(const GroupingKey& key, io::prometheus::client::MetricFamily* mf);

// "COUNTER", "GAUGE", ... as the Pushgateway's JSON and messages spell the type.
std::string_view TypeName(io::prometheus::client::MetricType type);
model::MetricType ToModelType(io::prometheus::client::MetricType type);

// A metric's label set as `{a="1", b="2"}` (for messages).
std::string MetricLabelsString(const io::prometheus::client::Metric& m);

// Appends one series per sample of `mf` at `timestamp_ms`, as Prometheus would ingest a scrape
// of it: counter/gauge/untyped -> `name`; summary -> `name{quantile}`, `name_sum`,
// `name_count`; classic histogram -> `name_bucket{le}` (with a +Inf bucket from the count when
// missing), `name_sum`, `name_count`; a histogram with native (schema/spans) data -> one native
// histogram sample under `name` instead. Empty label values are dropped (Labels semantics), so
// instance="" disappears.
void AppendSeries(const io::prometheus::client::MetricFamily& mf, int64_t timestamp_ms,
                  std::vector<model::SeriesData>* out);

}  // namespace oriel::ingest
