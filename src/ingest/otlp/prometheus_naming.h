// OTLP metric and attribute names to Prometheus names, as Prometheus 3 does it with its default
// OTLP translation strategy `UnderscoreEscapingWithSuffixes` (github.com/prometheus/otlptranslator
// MetricNamer{WithMetricSuffixes: true, UTF8Allowed: false} and LabelNamer{UTF8Allowed: false}).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::ingest::otlp {

// The Prometheus-side kind of an OTLP metric, which decides the `_total` and `_ratio` suffixes.
enum class OtlpMetricKind {
  kGauge,
  kMonotonicCounter,     // monotonic Sum
  kNonMonotonicCounter,  // non-monotonic Sum (a gauge for Prometheus)
  kHistogram,
  kExponentialHistogram,
  kSummary,
};

// The metric family name: the name split into tokens at every character outside [a-zA-Z0-9:]
// (so runs of invalid characters and underscores become one `_`), the unit's suffix appended
// unless already a token ("ms" -> "milliseconds", "By/s" -> "bytes_per_second", annotations in
// braces dropped, "1" -> nothing), "total" moved to the end for monotonic counters, "ratio" for
// gauges of unit "1", and `_` prefixed when the result starts with a digit.
// E.g. ("http.server.duration", "ms", kHistogram) -> "http_server_duration_milliseconds".
// Fails when the result is empty or only underscores.
[[nodiscard]] absl::StatusOr<std::string> BuildMetricName(std::string_view name,
                                                          std::string_view unit,
                                                          OtlpMetricKind kind);

// The label name of an attribute key: invalid characters become `_`; a leading digit gets
// "key_" and a single leading underscore gets "key" prefixed ("__" names are kept).
// E.g. "http.method" -> "http_method", "0x" -> "key_0x", "_a" -> "key_a".
// Fails when the key is empty or becomes only underscores.
[[nodiscard]] absl::StatusOr<std::string> BuildLabelName(std::string_view key);

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that round-trips, never in
// exponent form; "+Inf", "-Inf" and "NaN" for the specials. Used for `le` and `quantile` values.
std::string FormatFloatFixed(double v);

}  // namespace oriel::ingest::otlp
