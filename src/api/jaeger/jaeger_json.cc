#include "api/jaeger/jaeger_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/json.h"
#include "ingest/otlp/otlp_json.h"

namespace oriel::api::jaeger {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// What the translator names a process whose resource has no attributes at all.
constexpr std::string_view kNoServiceName = "OTLPResourceNoServiceName";
// Jaeger v2 keeps the warnings of its own pipeline in this span attribute, not as a tag.
constexpr std::string_view kWarningsAttribute = "@jaeger@warnings";
// A link carrying this attribute keeps its OpenTracing reference type.
constexpr std::string_view kRefTypeAttribute = "opentracing.ref_type";
// An event attribute of this name stands for the event's name.
constexpr std::string_view kEventField = "event";

void String(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Doubles as Go's encoding/json would print them; NaN and infinities, which JSON cannot hold,
// become strings so that the response stays valid.
void Double(Writer& w, double d) {
  if (std::isnan(d)) {
    String(w, "NaN");
  } else if (std::isinf(d)) {
    String(w, d > 0 ? "+Inf" : "-Inf");
  } else {
    w.Double(d);
  }
}

// The plain JSON form of a value (what pcommon.Value.AsString prints for arrays and maps).
void RawValue(Writer& w, const AnyValue& v) {
  switch (v.value_case()) {
    case AnyValue::kStringValue:
      String(w, v.string_value());
      return;
    case AnyValue::kBoolValue:
      w.Bool(v.bool_value());
      return;
    case AnyValue::kIntValue:
      w.Int64(v.int_value());
      return;
    case AnyValue::kDoubleValue:
      Double(w, v.double_value());
      return;
    case AnyValue::kBytesValue: {
      std::string b64;
      absl::Base64Escape(v.bytes_value(), &b64);
      String(w, b64);
      return;
    }
    case AnyValue::kArrayValue:
      w.StartArray();
      for (const AnyValue& e : v.array_value().values()) RawValue(w, e);
      w.EndArray();
      return;
    case AnyValue::kKvlistValue:
      w.StartObject();
      for (const KeyValue& kv : v.kvlist_value().values()) {
        String(w, kv.key());
        RawValue(w, kv.value());
      }
      w.EndObject();
      return;
    default:
      w.Null();
  }
}

std::string RawJson(const AnyValue& v) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  RawValue(w, v);
  return std::string(buf.GetString(), buf.GetSize());
}

struct Tag {
  std::string key;
  JaegerTagValue value;
};

Tag StringTag(std::string_view key, std::string_view value) {
  return Tag{std::string(key), {"string", JsonString(value)}};
}

void AppendAttributes(const google::protobuf::RepeatedPtrField<KeyValue>& attrs,
                      std::vector<Tag>& tags, std::string_view skip = {}) {
  for (const KeyValue& kv : attrs) {
    if (!skip.empty() && kv.key() == skip) continue;
    tags.push_back(Tag{kv.key(), ToJaegerTagValue(kv.value())});
  }
}

void WriteTags(Writer& w, const std::vector<Tag>& tags) {
  w.StartArray();
  for (const Tag& t : tags) {
    w.StartObject();
    w.Key("key");
    String(w, t.key);
    w.Key("type");
    String(w, t.value.type);
    w.Key("value");
    w.RawValue(t.value.json.data(), t.value.json.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
}

struct Process {
  std::string service_name;
  std::vector<Tag> tags;
  std::string key;  // identity for deduplication: the process's JSON
};

Process ResourceProcess(const opentelemetry::proto::resource::v1::Resource& resource) {
  Process p;
  if (resource.attributes().empty()) {
    p.service_name = kNoServiceName;
  } else {
    for (const KeyValue& kv : resource.attributes()) {
      if (kv.key() == "service.name") p.service_name = kv.value().string_value();
    }
    AppendAttributes(resource.attributes(), p.tags, "service.name");
  }
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("serviceName");
  String(w, p.service_name);
  w.Key("tags");
  WriteTags(w, p.tags);
  w.EndObject();
  p.key.assign(buf.GetString(), buf.GetSize());
  return p;
}

std::vector<Tag> SpanTags(const Span& span,
                          const opentelemetry::proto::common::v1::InstrumentationScope& scope) {
  std::vector<Tag> tags;
  if (!scope.name().empty()) tags.push_back(StringTag("otel.scope.name", scope.name()));
  if (!scope.version().empty()) tags.push_back(StringTag("otel.scope.version", scope.version()));
  AppendAttributes(span.attributes(), tags, kWarningsAttribute);
  if (std::string_view kind = SpanKindName(span.kind()); !kind.empty()) {
    tags.push_back(StringTag("span.kind", kind));
  }
  if (span.status().code() == Status::STATUS_CODE_OK) {
    tags.push_back(StringTag("otel.status_code", "OK"));
  } else if (span.status().code() == Status::STATUS_CODE_ERROR) {
    tags.push_back(StringTag("otel.status_code", "ERROR"));
    tags.push_back(Tag{"error", {"bool", "true"}});
  }
  if (!span.status().message().empty()) {
    tags.push_back(StringTag("otel.status_description", span.status().message()));
  }
  if (!span.trace_state().empty()) tags.push_back(StringTag("w3c.tracestate", span.trace_state()));
  // The OpenTelemetry mapping to non-OTLP formats records dropped counts as tags when non-zero.
  auto count = [&tags](std::string_view key, uint32_t n) {
    if (n > 0) tags.push_back(Tag{std::string(key), {"int64", std::to_string(n)}});
  };
  count("otel.dropped_attributes_count", span.dropped_attributes_count());
  count("otel.dropped_events_count", span.dropped_events_count());
  count("otel.dropped_links_count", span.dropped_links_count());
  return tags;
}

struct Reference {
  bool child_of;
  std::string trace_id;
  std::string span_id;
};

// The parent is a CHILD_OF reference; links are FOLLOWS_FROM unless they say
// opentracing.ref_type=child_of. A link to the parent itself only retypes the parent reference.
std::vector<Reference> SpanReferences(const Span& span) {
  std::vector<Reference> refs;
  std::string trace_hex = FormatTraceId(span.trace_id());
  std::string parent_hex = ingest::otlp::HexEncode(span.parent_span_id());
  bool has_parent = !span.parent_span_id().empty() &&
                    span.parent_span_id() != std::string(span.parent_span_id().size(), '\0');
  if (has_parent) refs.push_back(Reference{true, trace_hex, parent_hex});
  for (const auto& link : span.links()) {
    bool child_of = false;
    for (const KeyValue& kv : link.attributes()) {
      if (kv.key() == kRefTypeAttribute) child_of = kv.value().string_value() == "child_of";
    }
    std::string link_trace = FormatTraceId(link.trace_id());
    std::string link_span = ingest::otlp::HexEncode(link.span_id());
    if (has_parent && link_trace == trace_hex && link_span == parent_hex) {
      refs[0].child_of = child_of;
      continue;
    }
    refs.push_back(Reference{child_of, std::move(link_trace), std::move(link_span)});
  }
  return refs;
}

void WriteSpan(Writer& w, const Span& span,
               const opentelemetry::proto::common::v1::InstrumentationScope& scope,
               std::string_view process_id) {
  std::string trace_hex = FormatTraceId(span.trace_id());
  w.StartObject();
  w.Key("traceID");
  String(w, trace_hex);
  w.Key("spanID");
  String(w, ingest::otlp::HexEncode(span.span_id()));
  w.Key("operationName");
  String(w, span.name());
  w.Key("references");
  w.StartArray();
  for (const Reference& r : SpanReferences(span)) {
    w.StartObject();
    w.Key("refType");
    String(w, r.child_of ? "CHILD_OF" : "FOLLOWS_FROM");
    w.Key("traceID");
    String(w, r.trace_id);
    w.Key("spanID");
    String(w, r.span_id);
    w.EndObject();
  }
  w.EndArray();
  // Microseconds, truncated like Go's time.Duration / time.Microsecond.
  auto start = static_cast<int64_t>(span.start_time_unix_nano());
  auto end = static_cast<int64_t>(span.end_time_unix_nano());
  w.Key("startTime");
  w.Int64(start / 1000);
  w.Key("duration");
  w.Int64((end - start) / 1000);
  w.Key("tags");
  WriteTags(w, SpanTags(span, scope));
  w.Key("logs");
  w.StartArray();
  for (const auto& event : span.events()) {
    std::vector<Tag> fields;
    bool has_event_field = false;
    for (const KeyValue& kv : event.attributes()) has_event_field |= kv.key() == kEventField;
    if (!event.name().empty() && !has_event_field) {
      fields.push_back(StringTag(kEventField, event.name()));
    }
    AppendAttributes(event.attributes(), fields);
    w.StartObject();
    w.Key("timestamp");
    w.Int64(static_cast<int64_t>(event.time_unix_nano() / 1000));
    w.Key("fields");
    WriteTags(w, fields);
    w.EndObject();
  }
  w.EndArray();
  w.Key("processID");
  String(w, process_id);
  w.Key("warnings");
  std::vector<std::string> warnings;
  for (const KeyValue& kv : span.attributes()) {
    if (kv.key() != kWarningsAttribute) continue;
    if (kv.value().has_array_value()) {
      for (const AnyValue& v : kv.value().array_value().values()) {
        warnings.push_back(v.string_value());
      }
    } else {
      warnings.push_back(kv.value().string_value());
    }
  }
  if (warnings.empty()) {
    w.Null();
  } else {
    w.StartArray();
    for (const std::string& s : warnings) String(w, s);
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

std::string FormatTraceId(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  if (out.size() == 32 && out.compare(0, 16, std::string(16, '0')) == 0) out.erase(0, 16);
  return out;
}

std::string_view SpanKindName(int32_t kind) {
  switch (kind) {
    case Span::SPAN_KIND_INTERNAL:
      return "internal";
    case Span::SPAN_KIND_SERVER:
      return "server";
    case Span::SPAN_KIND_CLIENT:
      return "client";
    case Span::SPAN_KIND_PRODUCER:
      return "producer";
    case Span::SPAN_KIND_CONSUMER:
      return "consumer";
    default:
      return "";
  }
}

JaegerTagValue ToJaegerTagValue(const AnyValue& value) {
  switch (value.value_case()) {
    case AnyValue::kBoolValue:
      return {"bool", value.bool_value() ? "true" : "false"};
    case AnyValue::kIntValue:
      return {"int64", std::to_string(value.int_value())};
    case AnyValue::kDoubleValue:
      return {"float64", RawJson(value)};
    case AnyValue::kBytesValue:
      return {"binary", RawJson(value)};
    case AnyValue::kArrayValue:
    case AnyValue::kKvlistValue:
      return {"string", JsonString(RawJson(value))};
    case AnyValue::kStringValue:
    default:
      return {"string", JsonString(value.string_value())};
  }
}

std::string JaegerTraceJson(const tracestore::Trace& trace) {
  std::vector<Process> processes;  // in id order: processes[i] is p<i+1>
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("traceID");
  String(w, FormatTraceId(trace.trace_id));
  w.Key("spans");
  w.StartArray();
  for (const auto& rs : trace.resource_spans) {
    std::string process_id;
    for (const auto& ss : rs.scope_spans()) {
      for (const Span& span : ss.spans()) {
        if (process_id.empty()) {
          // A resource gets its id once it has a span, so that unused ids never show.
          Process p = ResourceProcess(rs.resource());
          size_t i = 0;
          while (i < processes.size() && processes[i].key != p.key) ++i;
          if (i == processes.size()) processes.push_back(std::move(p));
          process_id = "p" + std::to_string(i + 1);
        }
        WriteSpan(w, span, ss.scope(), process_id);
      }
    }
  }
  w.EndArray();
  w.Key("processes");
  w.StartObject();
  for (size_t i = 0; i < processes.size(); ++i) {
    String(w, "p" + std::to_string(i + 1));
    w.RawValue(processes[i].key.data(), processes[i].key.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  w.Key("warnings");
  w.Null();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace oriel::api::jaeger
