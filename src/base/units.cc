#include "base/units.h"

#include <charconv>

#include "fmt/format.h"

namespace oriel {

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  if (text == "0") return absl::ZeroDuration();
  struct Unit {
    std::string_view name;
    absl::Duration size;
  };
  // Longest suffix first where one is a prefix of another ("ms" before "m").
  static const Unit kUnits[] = {{"y", absl::Hours(24 * 365)},  {"w", absl::Hours(24 * 7)},
                                {"d", absl::Hours(24)},        {"h", absl::Hours(1)},
                                {"ms", absl::Milliseconds(1)}, {"m", absl::Minutes(1)},
                                {"s", absl::Seconds(1)}};
  static const std::string_view kOrder = "ywdhmsx";  // x stands for ms
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("cannot parse duration \"{}\": {}", text, why));
  };
  if (text.empty()) return error("empty");
  absl::Duration total;
  std::string_view rest = text;
  int last_rank = -1;
  while (!rest.empty()) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || end == rest.data())
      return error("want a number then a unit (e.g. 5m)");
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return error("unknown or missing unit (use y, w, d, h, m, s or ms)");
    rest.remove_prefix(unit->name.size());
    int rank = static_cast<int>(kOrder.find(unit->name == "ms" ? 'x' : unit->name[0]));
    if (rank <= last_rank) return error("units must appear once each, largest first");
    last_rank = rank;
    if (n > static_cast<uint64_t>(INT64_MAX) /
                static_cast<uint64_t>(absl::ToInt64Milliseconds(unit->size))) {
      return error("too large");
    }
    total += unit->size * static_cast<int64_t>(n);
  }
  return total;
}

std::string DurationString(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out.push_back('-');
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
  };
  static const Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                {"w", 7LL * 24 * 3600 * 1000},
                                {"d", 24LL * 3600 * 1000},
                                {"h", 3600LL * 1000},
                                {"m", 60LL * 1000},
                                {"s", 1000},
                                {"ms", 1}};
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += fmt::format("{}{}", ms / u.ms, u.name);
      ms %= u.ms;
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParseByteSize(std::string_view text) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("cannot parse byte size \"{}\": {}", text, why));
  };
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return error("want a number, e.g. 512MiB");
  std::string_view unit = text.substr(static_cast<size_t>(end - text.data()));
  static const std::pair<std::string_view, int> kUnits[] = {
      {"", 0},    {"B", 0},    {"KB", 10},  {"MB", 20},  {"GB", 30},
      {"TB", 40}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
  for (const auto& [name, shift] : kUnits) {
    if (unit == name) {
      if (shift > 0 && n > (static_cast<uint64_t>(INT64_MAX) >> shift)) return error("too large");
      if (n > static_cast<uint64_t>(INT64_MAX)) return error("too large");
      return static_cast<int64_t>(n << shift);
    }
  }
  return error("unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
}

}  // namespace oriel
