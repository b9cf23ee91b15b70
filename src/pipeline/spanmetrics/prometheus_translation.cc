#include "pipeline/spanmetrics/prometheus_translation.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "absl/strings/escaping.h"
#include "fmt/format.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace common = opentelemetry::proto::common::v1;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// pcommon renders doubles like JSON numbers (ES6 Number::toString): no exponent between 1e-6
// and 1e21.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  double a = std::fabs(v);
  char buf[400];
  std::to_chars_result r;
  if (a == 0 || (a >= 1e-6 && a < 1e21)) {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  }
  return std::string(buf, r.ptr);
}

void AppendJsonValue(std::string& out, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
    case common::AnyValue::kBytesValue:
      AppendJsonString(out, AttributeValueString(v));
      return;
    case common::AnyValue::kArrayValue: {
      out.push_back('[');
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJsonValue(out, v.array_value().values(i));
      }
      out.push_back(']');
      return;
    }
    case common::AnyValue::kKvlistValue: {
      // Go's JSON encoder writes map keys sorted.
      std::map<std::string_view, const common::AnyValue*> sorted;
      for (const auto& kv : v.kvlist_value().values()) sorted[kv.key()] = &kv.value();
      out.push_back('{');
      bool first = true;
      for (const auto& [k, value] : sorted) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonString(out, k);
        out.push_back(':');
        AppendJsonValue(out, *value);
      }
      out.push_back('}');
      return;
    }
    case common::AnyValue::VALUE_NOT_SET:
      out += "null";
      return;
    default:
      out += AttributeValueString(v);
  }
}

}  // namespace

std::string PrometheusMetricName(std::string_view otel_name, std::string_view unit_suffix,
                                 bool monotonic_counter) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : otel_name) {
    if (IsNameChar(c)) {
      current.push_back(c);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  if (monotonic_counter) std::erase(tokens, std::string("total"));
  if (!unit_suffix.empty() &&
      std::find(tokens.begin(), tokens.end(), unit_suffix) == tokens.end()) {
    tokens.emplace_back(unit_suffix);
  }
  if (monotonic_counter) tokens.emplace_back("total");
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out.push_back('_');
    out += t;
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out = "_" + out;
  return out;
}

std::string PrometheusLabelName(std::string_view key) {
  if (key.empty()) return "";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    // Multi-byte UTF-8 characters become one `_`, as Go's rune-wise sanitizer does.
    if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
    bool valid =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(valid ? c : '_');
  }
  if (out[0] >= '0' && out[0] <= '9') {
    out = "key_" + out;
  } else if (out[0] == '_' && (out.size() < 2 || out[1] != '_')) {
    out = "key" + out;
  }
  return out;
}

std::string AttributeValueString(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue:
      return FormatDouble(v.double_value());
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
    default:
      return "";
  }
}

const common::AnyValue* FindAttribute(
    const google::protobuf::RepeatedPtrField<common::KeyValue>& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

void AppendJobAndInstance(const opentelemetry::proto::resource::v1::Resource& resource,
                          std::vector<model::Label>& labels) {
  const common::AnyValue* name = FindAttribute(resource.attributes(), "service.name");
  if (name != nullptr) {
    std::string job = AttributeValueString(*name);
    const common::AnyValue* ns = FindAttribute(resource.attributes(), "service.namespace");
    if (ns != nullptr && !AttributeValueString(*ns).empty()) {
      job = fmt::format("{}/{}", AttributeValueString(*ns), job);
    }
    labels.push_back({"job", std::move(job)});
  }
  const common::AnyValue* id = FindAttribute(resource.attributes(), "service.instance.id");
  if (id != nullptr) labels.push_back({"instance", AttributeValueString(*id)});
}

std::string FormatBound(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

}  // namespace oriel::pipeline::spanmetrics
