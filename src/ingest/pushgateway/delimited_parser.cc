#include "ingest/pushgateway/delimited_parser.h"

#include <cctype>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"

namespace oriel::ingest {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::StatusOr<std::vector<io::prometheus::client::MetricFamily>> ParseDelimitedFamilies(
    std::string_view body) {
  std::vector<io::prometheus::client::MetricFamily> out;
  absl::flat_hash_map<std::string, size_t> by_name;
  size_t offset = 0;
  while (offset < body.size()) {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(body.data() + offset),
        static_cast<int>(std::min<size_t>(body.size() - offset, 1 << 30)));
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot decode MetricFamily length at byte offset {}: truncated varint", offset));
    }
    size_t header = static_cast<size_t>(in.CurrentPosition());
    if (length > body.size() - offset - header) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot decode MetricFamily at byte offset {}: length {} runs past the end of the body",
          offset, length));
    }
    io::prometheus::client::MetricFamily mf;
    if (!mf.ParseFromArray(body.data() + offset + header, static_cast<int>(length))) {
      return absl::InvalidArgumentError(
          fmt::format("cannot decode MetricFamily at byte offset {}: malformed message", offset));
    }
    offset += header + length;
    auto [it, inserted] = by_name.try_emplace(mf.name(), out.size());
    if (inserted) {
      out.push_back(std::move(mf));
    } else {
      out[it->second] = std::move(mf);
    }
  }
  return out;
}

bool IsDelimitedProtobuf(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (Lower(Trim(content_type.substr(0, semi))) != "application/vnd.google.protobuf") return false;
  bool proto = false;
  bool delimited = false;
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    std::string_view param = Trim(content_type.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) return false;
    std::string key = Lower(Trim(param.substr(0, eq)));
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "proto") proto = value == "io.prometheus.client.MetricFamily";
    if (key == "encoding") delimited = value == "delimited";
  }
  return proto && delimited;
}

}  // namespace oriel::ingest
