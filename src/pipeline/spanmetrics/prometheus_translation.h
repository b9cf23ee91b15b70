// The parts of Prometheus 3's OTLP translation (otlptranslator, UnderscoreEscapingWithSuffixes)
// that derived span metrics go through: the collector's connectors emit OTLP metrics, and what a
// user queries is what Prometheus' OTLP receiver makes of them. Kept here rather than shared with
// ingest/otlp because pipeline may not include a sibling at its layer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"

namespace oriel::pipeline::spanmetrics {

// A metric name: the OTLP name split at every character outside [a-zA-Z0-9:] and joined with
// `_`, then `unit_suffix` appended unless it already is a token, then `_total` for monotonic
// counters (moved to the end if it was a token). E.g. ("traces.span.metrics.duration",
// "milliseconds", false) -> "traces_span_metrics_duration_milliseconds".
std::string PrometheusMetricName(std::string_view otel_name, std::string_view unit_suffix,
                                 bool monotonic_counter);

// The label name of an attribute key: invalid characters become `_`; a leading digit gets
// "key_" and a single leading underscore "key" prefixed. E.g. "http.method" -> "http_method".
// An empty key gives "".
std::string PrometheusLabelName(std::string_view key);

// An attribute value as Prometheus' translation renders it (pcommon Value.AsString): strings
// as is, bools "true"/"false", ints in decimal, doubles in shortest form, bytes base64, arrays
// and maps as JSON.
std::string AttributeValueString(const opentelemetry::proto::common::v1::AnyValue& v);

// The value of attribute `key` in `attrs`, or nullptr.
const opentelemetry::proto::common::v1::AnyValue* FindAttribute(
    const google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>& attrs,
    std::string_view key);

// `job` (service.namespace "/" service.name, or service.name) and `instance`
// (service.instance.id) of a resource, appended to `labels` when not empty.
void AppendJobAndInstance(const opentelemetry::proto::resource::v1::Resource& resource,
                          std::vector<model::Label>& labels);

// An `le` bound as Prometheus writes it for a classic histogram translated from OTLP (Go's
// strconv.FormatFloat(v, 'f', -1, 64)), "+Inf" for infinity.
std::string FormatBound(double v);

}  // namespace oriel::pipeline::spanmetrics
