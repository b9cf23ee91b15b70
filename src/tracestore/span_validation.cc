#include "tracestore/span_validation.h"

#include <algorithm>
#include <string_view>

#include "fmt/format.h"

namespace oriel::tracestore {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

std::string Validate(std::string_view trace_id, std::string_view span_id,
                     std::string_view parent_span_id, std::string_view name, uint64_t start,
                     uint64_t end) {
  if (trace_id.size() != 16)
    return fmt::format("trace_id must be 16 bytes, got {}", trace_id.size());
  if (AllZero(trace_id)) return "trace_id must not be all zero";
  if (span_id.size() != 8) return fmt::format("span_id must be 8 bytes, got {}", span_id.size());
  if (AllZero(span_id)) return "span_id must not be all zero";
  if (!parent_span_id.empty() && parent_span_id.size() != 8) {
    return fmt::format("parent_span_id must be empty or 8 bytes, got {}", parent_span_id.size());
  }
  if (name.empty()) return "name must not be empty";
  if (end < start) {
    return fmt::format("end_time_unix_nano {} is before start_time_unix_nano {}", end, start);
  }
  return "";
}

}  // namespace

std::string ValidateSpan(const opentelemetry::proto::trace::v1::Span& span) {
  return Validate(span.trace_id(), span.span_id(), span.parent_span_id(), span.name(),
                  span.start_time_unix_nano(), span.end_time_unix_nano());
}

std::string ValidateSpan(const EncodedSpan& span) {
  return Validate(span.trace_id, span.span_id, span.parent_span_id, span.name,
                  span.start_time_unix_nano, span.end_time_unix_nano);
}

}  // namespace oriel::tracestore
