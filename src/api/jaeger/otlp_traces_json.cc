#include "api/jaeger/otlp_traces_json.h"

#include <google/protobuf/util/json_util.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <functional>

#include "absl/strings/escaping.h"
#include "ingest/otlp/otlp_json.h"

namespace oriel::api::jaeger {
namespace {

using opentelemetry::proto::trace::v1::TracesData;

// Protobuf's JSON printer writes bytes as base64; OTLP/JSON wants the ids in hex.
void HexId(rapidjson::Value& object, const char* key, rapidjson::Document::AllocatorType& alloc) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return;
  std::string raw;
  if (!absl::Base64Unescape(absl::string_view(it->value.GetString(), it->value.GetStringLength()),
                            &raw)) {
    return;
  }
  std::string hex = ingest::otlp::HexEncode(raw);
  it->value.SetString(hex.data(), static_cast<rapidjson::SizeType>(hex.size()), alloc);
}

void ForEach(rapidjson::Value& object, const char* key,
             const std::function<void(rapidjson::Value&)>& fn) {
  if (!object.IsObject()) return;
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsArray()) return;
  for (auto& v : it->value.GetArray()) fn(v);
}

}  // namespace

std::string OtlpTracesJson(
    const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resource_spans) {
  TracesData data;
  for (const auto& rs : resource_spans) *data.add_resource_spans() = rs;
  std::string printed;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;
  // Stored spans are messages we parsed ourselves: printing cannot fail on them.
  (void)google::protobuf::util::MessageToJsonString(data, &printed, options);

  rapidjson::Document doc;
  doc.Parse(printed.data(), printed.size());
  if (doc.HasParseError() || !doc.IsObject()) return R"({"resourceSpans":[]})";
  auto& alloc = doc.GetAllocator();
  if (!doc.HasMember("resourceSpans")) {
    doc.AddMember("resourceSpans", rapidjson::Value(rapidjson::kArrayType), alloc);
  }
  ForEach(doc, "resourceSpans", [&](rapidjson::Value& rs) {
    ForEach(rs, "scopeSpans", [&](rapidjson::Value& ss) {
      ForEach(ss, "spans", [&](rapidjson::Value& span) {
        if (!span.IsObject()) return;
        HexId(span, "traceId", alloc);
        HexId(span, "spanId", alloc);
        HexId(span, "parentSpanId", alloc);
        ForEach(span, "links", [&](rapidjson::Value& link) {
          if (!link.IsObject()) return;
          HexId(link, "traceId", alloc);
          HexId(link, "spanId", alloc);
        });
      });
    });
  });
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace oriel::api::jaeger
