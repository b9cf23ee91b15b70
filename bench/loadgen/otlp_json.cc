#include "loadgen/otlp_json.h"

#include <array>

#include "absl/strings/escaping.h"
#include "base/status.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"

namespace oriel::loadgen {
namespace {

constexpr std::array<std::string_view, 3> kIdKeys = {"\"traceId\":\"", "\"spanId\":\"",
                                                     "\"parentSpanId\":\""};

absl::StatusOr<std::string> Base64ToHex(std::string_view b64) {
  std::string raw;
  if (!absl::Base64Unescape(absl::string_view(b64.data(), b64.size()), &raw)) {
    return absl::InvalidArgumentError(fmt::format("cannot decode id \"{}\": not base64", b64));
  }
  std::string hex;
  hex.reserve(raw.size() * 2);
  for (unsigned char c : raw) fmt::format_to(std::back_inserter(hex), "{:02x}", c);
  return hex;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> HexToBase64(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(fmt::format("cannot decode id \"{}\": odd length", hex));
  }
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          fmt::format("cannot decode id \"{}\": not hex at offset {}", hex, i));
    }
    raw.push_back(static_cast<char>(hi * 16 + lo));
  }
  return absl::Base64Escape(absl::string_view(raw.data(), raw.size()));
}

}  // namespace

absl::StatusOr<std::string> RewriteOtlpIds(std::string_view json, bool from_base64) {
  std::string out;
  out.reserve(json.size() + json.size() / 8);
  size_t pos = 0;
  while (pos < json.size()) {
    // The earliest id key from `pos`.
    size_t key_at = std::string_view::npos, key_len = 0;
    for (std::string_view key : kIdKeys) {
      const size_t at = json.find(key, pos);
      if (at < key_at) {
        key_at = at;
        key_len = key.size();
      }
    }
    if (key_at == std::string_view::npos) break;
    const size_t value_begin = key_at + key_len;
    const size_t value_end = json.find('"', value_begin);
    if (value_end == std::string_view::npos) {
      return absl::InvalidArgumentError(
          fmt::format("cannot rewrite id at offset {}: unterminated string", value_begin));
    }
    const std::string_view value = json.substr(value_begin, value_end - value_begin);
    absl::StatusOr<std::string> rewritten = from_base64 ? Base64ToHex(value) : HexToBase64(value);
    if (!rewritten.ok()) return rewritten.status();
    out.append(json.substr(pos, value_begin - pos));
    out += *rewritten;
    pos = value_end;
  }
  out.append(json.substr(pos));
  return out;
}

absl::StatusOr<std::string> ToOtlpJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;   // OTLP/JSON: enums are integers
  options.preserve_proto_field_names = false;  // lowerCamelCase keys
  options.add_whitespace = false;              // RewriteOtlpIds relies on the compact form
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        fmt::format("cannot encode {} as JSON: {}", message.GetTypeName(), status.ToString()));
  }
  return RewriteOtlpIds(json, /*from_base64=*/true);
}

std::vector<std::string> OtlpJsonHeaders() {
  return {"Content-Type: application/json", "User-Agent: oriel-loadgen"};
}

}  // namespace oriel::loadgen
