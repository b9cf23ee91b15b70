#include "tracestore/span_match.h"

#include <cstring>

#include "fmt/format.h"

namespace oriel::tracestore {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;

bool AttributesMatch(const google::protobuf::RepeatedPtrField<KeyValue>& attributes,
                     std::string_view key, std::string_view value) {
  std::string text;
  for (const KeyValue& kv : attributes) {
    if (kv.key() != key) continue;
    if (AttributeValueString(kv.value(), &text) && text == value) return true;
  }
  return false;
}

// SyntheticTag of a span with this kind, status code and status message.
bool SyntheticTagOf(int64_t kind, int64_t status_code, std::string_view status_message,
                    std::string_view key, std::string* out) {
  if (key == "span.kind") {
    switch (kind) {
      case Span::SPAN_KIND_INTERNAL:
        *out = "internal";
        return true;
      case Span::SPAN_KIND_SERVER:
        *out = "server";
        return true;
      case Span::SPAN_KIND_CLIENT:
        *out = "client";
        return true;
      case Span::SPAN_KIND_PRODUCER:
        *out = "producer";
        return true;
      case Span::SPAN_KIND_CONSUMER:
        *out = "consumer";
        return true;
      default:
        return false;
    }
  }
  if (key == "otel.status_code") {
    if (status_code == Status::STATUS_CODE_OK) {
      *out = "OK";
      return true;
    }
    if (status_code == Status::STATUS_CODE_ERROR) {
      *out = "ERROR";
      return true;
    }
    return false;
  }
  if (key == "otel.status_description") {
    if (status_message.empty()) return false;
    *out = status_message;
    return true;
  }
  if (key == "error") {
    if (status_code != Status::STATUS_CODE_ERROR) return false;
    *out = "true";
    return true;
  }
  return false;
}

bool ColumnTagMayMatch(const SpanColumns& span, std::string_view key, std::string_view value) {
  std::string text;
  for (const ColumnAttribute& a : span.attributes()) {
    if (a.key != key) continue;
    AnyValue typed;
    switch (a.type) {
      case ColumnAttribute::Type::kNone:
        continue;
      case ColumnAttribute::Type::kOther:
        return true;
      case ColumnAttribute::Type::kString:
        if (a.text == value) return true;
        continue;
      case ColumnAttribute::Type::kBool:
        typed.set_bool_value(a.bool_value);
        break;
      case ColumnAttribute::Type::kInt:
        typed.set_int_value(a.int_value);
        break;
      case ColumnAttribute::Type::kDouble:
        typed.set_double_value(a.double_value);
        break;
    }
    // The one definition of the string forms.
    if (AttributeValueString(typed, &text) && text == value) return true;
  }
  // Event attributes and the status message are among the other fields.
  if (span.has_rest) return true;
  if (span.resource != nullptr &&
      AttributesMatch(span.resource->resource.attributes(), key, value)) {
    return true;
  }
  if (span.scope != nullptr && AttributesMatch(span.scope->scope.attributes(), key, value)) {
    return true;
  }
  return SyntheticTagOf(span.kind, span.status_code, /*status_message=*/"", key, &text) &&
         text == value;
}

// The string form of a value read in place, as AttributeValueString gives it; nullopt-like
// false for values without one here (kOther: bytes, arrays, maps).
bool WireValueString(const WireValue& v, std::string* out) {
  AnyValue typed;
  switch (v.type) {
    case WireValue::Type::kEmpty:
    case WireValue::Type::kOther:
      return false;
    case WireValue::Type::kString:
      out->assign(v.string);
      return true;
    case WireValue::Type::kBool:
      typed.set_bool_value(v.number != 0);
      break;
    case WireValue::Type::kInt:
      typed.set_int_value(static_cast<int64_t>(v.number));
      break;
    case WireValue::Type::kDouble: {
      double d = 0;
      std::memcpy(&d, &v.number, sizeof(d));
      typed.set_double_value(d);
      break;
    }
  }
  // The one definition of the string forms.
  return AttributeValueString(typed, out);
}

bool WireTagMayMatch(const WireSpan& span,
                     const opentelemetry::proto::resource::v1::Resource& resource,
                     const opentelemetry::proto::common::v1::InstrumentationScope& scope,
                     std::string_view key, std::string_view value, std::string* text) {
  for (const WireAttribute& a : span.attributes) {
    if (a.key != key || !a.has_value) continue;
    if (a.value.type == WireValue::Type::kOther) return true;
    if (a.value.type == WireValue::Type::kString) {
      if (a.value.string == value) return true;
      continue;
    }
    if (WireValueString(a.value, text) && *text == value) return true;
  }
  // Event attributes are not read in place.
  if (!span.events.empty()) return true;
  if (AttributesMatch(resource.attributes(), key, value)) return true;
  if (AttributesMatch(scope.attributes(), key, value)) return true;
  return SyntheticTagOf(span.kind, span.status_code, span.status_message, key, text) &&
         *text == value;
}

bool TagMatches(const Span& span, const opentelemetry::proto::resource::v1::Resource& resource,
                const opentelemetry::proto::common::v1::InstrumentationScope& scope,
                std::string_view key, std::string_view value) {
  if (AttributesMatch(span.attributes(), key, value)) return true;
  for (const auto& event : span.events()) {
    if (AttributesMatch(event.attributes(), key, value)) return true;
  }
  if (AttributesMatch(resource.attributes(), key, value)) return true;
  if (AttributesMatch(scope.attributes(), key, value)) return true;
  std::string synthetic;
  return SyntheticTag(span, key, &synthetic) && synthetic == value;
}

}  // namespace

bool AttributeValueString(const AnyValue& value, std::string* out) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      *out = value.string_value();
      return true;
    case AnyValue::kBoolValue:
      *out = value.bool_value() ? "true" : "false";
      return true;
    case AnyValue::kIntValue:
      *out = fmt::format("{}", value.int_value());
      return true;
    case AnyValue::kDoubleValue:
      // C's %.10g and Go's FormatFloat(v, 'g', 10, 64) agree ("1.5", "123", "1e+21").
      *out = fmt::format("{:.10g}", value.double_value());
      return true;
    case AnyValue::kBytesValue: {
      out->clear();
      for (unsigned char c : value.bytes_value()) *out += fmt::format("{:02x}", c);
      return true;
    }
    default:
      return false;
  }
}

bool SyntheticTag(const Span& span, std::string_view key, std::string* out) {
  return SyntheticTagOf(span.kind(), span.status().code(), span.status().message(), key, out);
}

bool SpanMatches(const TraceQuery& query, const Span& span,
                 const opentelemetry::proto::resource::v1::Resource& resource,
                 const opentelemetry::proto::common::v1::InstrumentationScope& scope) {
  if (!query.operation.empty() && span.name() != query.operation) return false;
  if (query.span_kind.has_value() && span.kind() != *query.span_kind) return false;
  const auto start = static_cast<int64_t>(span.start_time_unix_nano());
  if (query.start_unix_nano != 0 && start < query.start_unix_nano) return false;
  if (query.end_unix_nano != 0 && start > query.end_unix_nano) return false;
  const auto duration =
      static_cast<int64_t>(span.end_time_unix_nano() - span.start_time_unix_nano());
  if (query.min_duration_nano != 0 && duration < query.min_duration_nano) return false;
  if (query.max_duration_nano != 0 && duration > query.max_duration_nano) return false;
  for (const auto& [key, value] : query.tags) {
    if (!TagMatches(span, resource, scope, key, value)) return false;
  }
  return true;
}

bool SpanColumnsMayMatchTags(const TraceQuery& query, const SpanColumns& span) {
  for (const auto& [key, value] : query.tags) {
    if (!ColumnTagMayMatch(span, key, value)) return false;
  }
  return true;
}

bool WireSpanMayMatchTags(const TraceQuery& query, const WireSpan& span,
                          const opentelemetry::proto::resource::v1::Resource& resource,
                          const opentelemetry::proto::common::v1::InstrumentationScope& scope) {
  std::string text;
  for (const auto& [key, value] : query.tags) {
    if (!WireTagMayMatch(span, resource, scope, key, value, &text)) return false;
  }
  return true;
}

}  // namespace oriel::tracestore
