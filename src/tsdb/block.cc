#include "tsdb/block.h"

#include <cctype>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"

namespace oriel::tsdb {

std::string EncodeBlockMeta(const BlockMeta& m) {
  return fmt::format(
      "{{\n  \"version\": {},\n  \"min_time\": {},\n  \"max_time\": {},\n  \"num_series\": {},\n"
      "  \"num_chunks\": {},\n  \"num_samples\": {},\n  \"level\": {}{}\n}}\n",
      m.version, m.min_time, m.max_time, m.num_series, m.num_chunks, m.num_samples, m.level,
      m.out_of_order ? ",\n  \"out_of_order\": 1" : "");
}

absl::StatusOr<BlockMeta> ParseBlockMeta(std::string_view json) {
  absl::flat_hash_map<std::string, int64_t> fields;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  };
  auto fail = [&](std::string_view what) {
    return absl::DataLossError(fmt::format("cannot parse block meta: {} at offset {}", what, i));
  };
  skip_ws();
  if (i >= json.size() || json[i] != '{') return fail("expected '{'");
  ++i;
  skip_ws();
  if (i < json.size() && json[i] == '}') return fail("empty object");
  while (true) {
    skip_ws();
    if (i >= json.size() || json[i] != '"') return fail("expected a field name");
    size_t end = json.find('"', i + 1);
    if (end == std::string_view::npos) return fail("unterminated field name");
    std::string name(json.substr(i + 1, end - i - 1));
    i = end + 1;
    skip_ws();
    if (i >= json.size() || json[i] != ':') return fail("expected ':'");
    ++i;
    skip_ws();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(json.data() + i, json.data() + json.size(), v);
    if (ec != std::errc()) return fail(fmt::format("field \"{}\" is not an integer", name));
    i = static_cast<size_t>(ptr - json.data());
    fields[name] = v;
    skip_ws();
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    if (i < json.size() && json[i] == '}') break;
    return fail("expected ',' or '}'");
  }
  BlockMeta m;
  auto get = [&](std::string_view name, int64_t* out) -> absl::Status {
    auto it = fields.find(std::string(name));
    if (it == fields.end()) {
      return absl::DataLossError(
          fmt::format("cannot parse block meta: field \"{}\" is missing", name));
    }
    *out = it->second;
    return absl::OkStatus();
  };
  int64_t version = 0, series = 0, chunks = 0, samples = 0, level = 0;
  ORIEL_RETURN_IF_ERROR(get("version", &version));
  ORIEL_RETURN_IF_ERROR(get("min_time", &m.min_time));
  ORIEL_RETURN_IF_ERROR(get("max_time", &m.max_time));
  ORIEL_RETURN_IF_ERROR(get("num_series", &series));
  ORIEL_RETURN_IF_ERROR(get("num_chunks", &chunks));
  ORIEL_RETURN_IF_ERROR(get("num_samples", &samples));
  ORIEL_RETURN_IF_ERROR(get("level", &level));
  if (version < 1 || version > kBlockFormatVersion) {
    return absl::DataLossError(
        fmt::format("cannot parse block meta: unsupported format version {}", version));
  }
  if (m.min_time > m.max_time || series < 0 || chunks < 0 || samples < 0 || level < 1 ||
      level > 1000) {
    return absl::DataLossError("cannot parse block meta: inconsistent time range or counts");
  }
  m.version = static_cast<int>(version);
  m.num_series = static_cast<uint64_t>(series);
  m.num_chunks = static_cast<uint64_t>(chunks);
  m.num_samples = static_cast<uint64_t>(samples);
  m.level = static_cast<int>(level);
  // Optional: blocks written before out-of-order blocks existed do not have it.
  if (auto it = fields.find("out_of_order"); it != fields.end()) {
    if (it->second != 0 && it->second != 1) {
      return absl::DataLossError("cannot parse block meta: field \"out_of_order\" is not 0 or 1");
    }
    m.out_of_order = it->second == 1;
  }
  return m;
}

std::string BlockDirName(int64_t min_time, int64_t max_time) {
  return fmt::format("block-{:020}-{:020}", min_time, max_time);
}

void PutFixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace oriel::tsdb
