#include "ingest/otlp/otlp_json.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <functional>

#include "absl/strings/escaping.h"
#include "base/status.h"

namespace oriel::ingest::otlp {
namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// Deeper than any real request (AnyValue nesting included); the limit keeps the DOM walk and the
// re-serialization, which recurse, far away from the stack's end on hostile input.
constexpr int kMaxNesting = 128;

constexpr size_t kTraceIdBytes = 16;
constexpr size_t kSpanIdBytes = 8;

absl::Status ParseError(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("cannot parse OTLP JSON: {}", what));
}

// Counts bracket nesting outside strings without building anything.
absl::Status CheckNesting(std::string_view json) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) {
        return ParseError(fmt::format("nesting deeper than {} at offset {}", kMaxNesting, i));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return absl::OkStatus();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool NameIs(const Value& name, const char* camel, const char* snake) {
  std::string_view n(name.GetString(), name.GetStringLength());
  return n == camel || n == snake;
}

// Calls `fn` on each element of every array member of `obj` called `camel` or `snake`.
absl::Status ForEachElement(Value& obj, const char* camel, const char* snake,
                            const std::string& path,
                            const std::function<absl::Status(Value&, const std::string&)>& fn) {
  if (!obj.IsObject()) return absl::OkStatus();  // protobuf reports the type error
  for (auto& member : obj.GetObject()) {
    if (!NameIs(member.name, camel, snake) || !member.value.IsArray()) continue;
    std::string_view key(member.name.GetString(), member.name.GetStringLength());
    rapidjson::SizeType i = 0;
    for (auto& element : member.value.GetArray()) {
      ORIEL_RETURN_IF_ERROR(
          fn(element, fmt::format("{}{}{}[{}]", path, path.empty() ? "" : ".", key, i)));
      ++i;
    }
  }
  return absl::OkStatus();
}

// Rewrites the hex id members `camel`/`snake` of `obj` to base64 for protobuf's parser.
absl::Status RewriteHexId(Value& obj, const char* camel, const char* snake, size_t want_bytes,
                          const std::string& path, Allocator& alloc) {
  if (!obj.IsObject()) return absl::OkStatus();
  for (auto& member : obj.GetObject()) {
    if (!NameIs(member.name, camel, snake)) continue;
    std::string field = fmt::format("{}.{}", path, member.name.GetString());
    Value& v = member.value;
    if (v.IsNull()) continue;
    if (!v.IsString()) return ParseError(fmt::format("{}: must be a hex string", field));
    std::string_view hex(v.GetString(), v.GetStringLength());
    if (hex.empty()) continue;
    if (hex.size() != 2 * want_bytes) {
      return ParseError(
          fmt::format("{}: must be {} hex digits, got {}", field, 2 * want_bytes, hex.size()));
    }
    std::string bytes(want_bytes, '\0');
    for (size_t i = 0; i < want_bytes; ++i) {
      int hi = HexDigit(hex[2 * i]);
      int lo = HexDigit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        return ParseError(fmt::format("{}: invalid hex digit at position {} of \"{}\"", field,
                                      hi < 0 ? 2 * i : 2 * i + 1, hex));
      }
      bytes[i] = static_cast<char>(hi << 4 | lo);
    }
    std::string b64;
    absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()), &b64);
    v.SetString(b64.data(), static_cast<rapidjson::SizeType>(b64.size()), alloc);
  }
  return absl::OkStatus();
}

absl::Status RewriteTraceAndSpanId(Value& obj, const std::string& path, Allocator& alloc) {
  ORIEL_RETURN_IF_ERROR(RewriteHexId(obj, "traceId", "trace_id", kTraceIdBytes, path, alloc));
  return RewriteHexId(obj, "spanId", "span_id", kSpanIdBytes, path, alloc);
}

absl::Status RewriteTraces(Value& root, Allocator& alloc) {
  return ForEachElement(root, "resourceSpans", "resource_spans", "", [&](Value& rs, auto& p1) {
    return ForEachElement(rs, "scopeSpans", "scope_spans", p1, [&](Value& ss, auto& p2) {
      return ForEachElement(ss, "spans", "spans", p2, [&](Value& span, auto& p3) {
        ORIEL_RETURN_IF_ERROR(RewriteTraceAndSpanId(span, p3, alloc));
        ORIEL_RETURN_IF_ERROR(
            RewriteHexId(span, "parentSpanId", "parent_span_id", kSpanIdBytes, p3, alloc));
        return ForEachElement(span, "links", "links", p3, [&](Value& link, auto& p4) {
          return RewriteTraceAndSpanId(link, p4, alloc);
        });
      });
    });
  });
}

absl::Status RewriteLogs(Value& root, Allocator& alloc) {
  return ForEachElement(root, "resourceLogs", "resource_logs", "", [&](Value& rl, auto& p1) {
    return ForEachElement(rl, "scopeLogs", "scope_logs", p1, [&](Value& sl, auto& p2) {
      return ForEachElement(sl, "logRecords", "log_records", p2, [&](Value& record, auto& p3) {
        return RewriteTraceAndSpanId(record, p3, alloc);
      });
    });
  });
}

absl::Status RewriteMetrics(Value& root, Allocator& alloc) {
  auto points = [&](Value& data, const std::string& path) {
    return ForEachElement(data, "dataPoints", "data_points", path, [&](Value& dp, auto& p) {
      return ForEachElement(dp, "exemplars", "exemplars", p, [&](Value& ex, auto& pe) {
        return RewriteTraceAndSpanId(ex, pe, alloc);
      });
    });
  };
  return ForEachElement(root, "resourceMetrics", "resource_metrics", "", [&](Value& rm, auto& p1) {
    return ForEachElement(rm, "scopeMetrics", "scope_metrics", p1, [&](Value& sm, auto& p2) {
      return ForEachElement(sm, "metrics", "metrics", p2, [&](Value& metric, auto& p3) {
        if (!metric.IsObject()) return absl::OkStatus();
        for (auto& member : metric.GetObject()) {
          if (NameIs(member.name, "gauge", "gauge") || NameIs(member.name, "sum", "sum") ||
              NameIs(member.name, "histogram", "histogram") ||
              NameIs(member.name, "summary", "summary") ||
              NameIs(member.name, "exponentialHistogram", "exponential_histogram")) {
            ORIEL_RETURN_IF_ERROR(
                points(member.value, fmt::format("{}.{}", p3, member.name.GetString())));
          }
        }
        return absl::OkStatus();
      });
    });
  });
}

}  // namespace

absl::Status ParseOtlpJson(std::string_view json, OtlpSignal signal,
                           google::protobuf::Message& out) {
  out.Clear();
  ORIEL_RETURN_IF_ERROR(CheckNesting(json));
  rapidjson::Document doc;
  // Iterative parsing does not recurse; full precision keeps doubles exact through the rewrite.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(json.data(),
                                                                                 json.size());
  if (doc.HasParseError()) {
    return ParseError(fmt::format(
        "{} at offset {}", rapidjson::GetParseError_En(doc.GetParseError()), doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return ParseError("the body is not a JSON object");
  switch (signal) {
    case OtlpSignal::kTraces:
      ORIEL_RETURN_IF_ERROR(RewriteTraces(doc, doc.GetAllocator()));
      break;
    case OtlpSignal::kMetrics:
      ORIEL_RETURN_IF_ERROR(RewriteMetrics(doc, doc.GetAllocator()));
      break;
    case OtlpSignal::kLogs:
      ORIEL_RETURN_IF_ERROR(RewriteLogs(doc, doc.GetAllocator()));
      break;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  if (!doc.Accept(writer)) return ParseError("cannot re-encode the body");

  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(buffer.GetString(), buffer.GetSize()), &out, options);
  if (!status.ok()) {
    auto message = status.message();
    return ParseError(std::string_view(message.data(), message.size()));
  }
  return absl::OkStatus();
}

std::string ToOtlpJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  // Responses are small messages we built ourselves: printing cannot fail on them.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace oriel::ingest::otlp
