// Number and string formatting the way Go's strconv does, for Prometheus' canonical query text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace oriel::promql {

// strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent;
// "+Inf", "-Inf", "NaN".
std::string FormatNumber(double v);

// strconv.Quote: a double-quoted Go string literal, with printable UTF-8 kept as is.
std::string QuoteString(std::string_view s);

// Decodes the UTF-8 sequence at s[i] into `cp`; returns its length, or 0 when it is invalid
// (truncated, overlong, a surrogate or beyond U+10FFFF).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp);

// Whether `s` matches [a-zA-Z_][a-zA-Z0-9_]* (legacy label name rules).
bool IsLegacyLabelName(std::string_view s);
// Whether `s` matches [a-zA-Z_:][a-zA-Z0-9_:]* (legacy metric name rules).
bool IsLegacyMetricName(std::string_view s);

}  // namespace oriel::promql
