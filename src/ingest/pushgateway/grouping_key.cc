#include "ingest/pushgateway/grouping_key.h"

#include <vector>

#include "base/status.h"
#include "fmt/format.h"
#include "model/labels.h"
#include "net/url.h"

namespace oriel::ingest {
namespace {

constexpr std::string_view kBase64Suffix = "@base64";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool HasBase64Suffix(std::string_view name) {
  return name.size() >= kBase64Suffix.size() &&
         name.substr(name.size() - kBase64Suffix.size()) == kBase64Suffix;
}

}  // namespace

absl::StatusOr<std::string> DecodeBase64Url(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) {
    return absl::InvalidArgumentError(
        fmt::format("illegal base64 data at input byte {}", in.size() - 1));
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    int v = Base64UrlValue(in[i]);
    if (v < 0)
      return absl::InvalidArgumentError(fmt::format("illegal base64 data at input byte {}", i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

absl::StatusOr<GroupingKey> ParseGroupingKey(bool job_base64, std::string_view job,
                                             std::string_view labels) {
  std::string job_value(job);
  if (job_base64) {
    auto decoded = DecodeBase64Url(job);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "invalid base64 encoding in job name \"{}\": {}", job, decoded.status().message()));
    }
    job_value = *std::move(decoded);
  }
  if (job_value.empty()) return absl::InvalidArgumentError("job name is required");

  GroupingKey key;
  if (!labels.empty()) {
    std::vector<std::string_view> parts;
    while (true) {
      size_t slash = labels.find('/');
      parts.push_back(labels.substr(0, slash));
      if (slash == std::string_view::npos) break;
      labels.remove_prefix(slash + 1);
    }
    if (parts.size() % 2 != 0) {
      std::string joined;
      for (std::string_view p : parts) joined += fmt::format("/{}", p);
      return absl::InvalidArgumentError(
          fmt::format("odd number of components in label string \"{}\"", joined));
    }
    for (size_t i = 0; i < parts.size(); i += 2) {
      auto name = net::PercentDecode(parts[i], false);
      auto value = net::PercentDecode(parts[i + 1], false);
      if (!name || !value) {
        return absl::InvalidArgumentError(
            fmt::format("cannot decode label pair \"{}/{}\": malformed percent escape", parts[i],
                        parts[i + 1]));
      }
      bool base64 = HasBase64Suffix(*name);
      if (base64) name->resize(name->size() - kBase64Suffix.size());
      if (!model::IsValidLegacyLabelName(*name) || name->starts_with("__")) {
        return absl::InvalidArgumentError(fmt::format("improper label name \"{}\"", *name));
      }
      if (base64) {
        auto decoded = DecodeBase64Url(*value);
        if (!decoded.ok()) {
          return absl::InvalidArgumentError(
              fmt::format("invalid base64 encoding for label {}=\"{}\": {}", *name, *value,
                          decoded.status().message()));
        }
        *value = *std::move(decoded);
      }
      key[*name] = *std::move(value);
    }
  }
  key["job"] = std::move(job_value);
  return key;
}

std::string GroupingKeyString(const GroupingKey& key) {
  std::string s = "{";
  for (const auto& [name, value] : key) {
    if (s.size() > 1) s += ", ";
    s += fmt::format("{}=\"{}\"", name, value);
  }
  return s + "}";
}

}  // namespace oriel::ingest
