#include "tracestore/span_validation.h"

#include <algorithm>
#include <string_view>

#include "fmt/format.h"

namespace oriel::tracestore {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string ValidateSpan(const opentelemetry::proto::trace::v1::Span& span) {
  if (span.trace_id().size() != 16) {
    return fmt::format("trace_id must be 16 bytes, got {}", span.trace_id().size());
  }
  if (AllZero(span.trace_id())) return "trace_id must not be all zero";
  if (span.span_id().size() != 8) {
    return fmt::format("span_id must be 8 bytes, got {}", span.span_id().size());
  }
  if (AllZero(span.span_id())) return "span_id must not be all zero";
  if (!span.parent_span_id().empty() && span.parent_span_id().size() != 8) {
    return fmt::format("parent_span_id must be empty or 8 bytes, got {}",
                       span.parent_span_id().size());
  }
  if (span.name().empty()) return "name must not be empty";
  if (span.end_time_unix_nano() < span.start_time_unix_nano()) {
    return fmt::format("end_time_unix_nano {} is before start_time_unix_nano {}",
                       span.end_time_unix_nano(), span.start_time_unix_nano());
  }
  return "";
}

}  // namespace oriel::tracestore
