#include "ingest/otlp/prometheus_naming.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "base/status.h"

namespace oriel::ingest::otlp {
namespace {

// UCUM units (as OTel semantic conventions write them) to Prometheus base-unit words.
std::string_view MainUnitWord(std::string_view unit) {
  struct Entry {
    std::string_view otel, prom;
  };
  static constexpr Entry kUnits[] = {
      {"d", "days"},
      {"h", "hours"},
      {"min", "minutes"},
      {"s", "seconds"},
      {"ms", "milliseconds"},
      {"us", "microseconds"},
      {"ns", "nanoseconds"},
      {"By", "bytes"},
      {"KiBy", "kibibytes"},
      {"MiBy", "mebibytes"},
      {"GiBy", "gibibytes"},
      {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},
      {"MBy", "megabytes"},
      {"GBy", "gigabytes"},
      {"TBy", "terabytes"},
      {"m", "meters"},
      {"V", "volts"},
      {"A", "amperes"},
      {"J", "joules"},
      {"W", "watts"},
      {"g", "grams"},
      {"Cel", "celsius"},
      {"Hz", "hertz"},
      {"1", ""},
      {"%", "percent"},
  };
  for (const auto& e : kUnits) {
    if (e.otel == unit) return e.prom;
  }
  return unit;
}

// The unit after '/', as the singular word that follows "per_".
std::string_view PerUnitWord(std::string_view unit) {
  struct Entry {
    std::string_view otel, prom;
  };
  static constexpr Entry kUnits[] = {
      {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
      {"w", "week"},   {"mo", "month"}, {"y", "year"},
  };
  for (const auto& e : kUnits) {
    if (e.otel == unit) return e.prom;
  }
  return unit;
}

bool IsMetricNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string_view TrimSpace(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Invalid characters (one per code point) become '_', runs of '_' collapse, a leading '_' goes.
std::string CleanUpUnit(std::string_view unit) {
  std::string out;
  for (char c : unit) {
    if (IsUtf8Continuation(c)) continue;
    char mapped = IsMetricNameChar(c) ? c : '_';
    if (mapped == '_' && !out.empty() && out.back() == '_') continue;
    out.push_back(mapped);
  }
  if (!out.empty() && out.front() == '_') out.erase(0, 1);
  return out;
}

// The "main" and "per_<x>" suffix words of a unit such as "By/s"; annotations ("{request}")
// give no word.
void UnitSuffixes(std::string_view unit, std::string* main, std::string* per) {
  size_t slash = unit.find('/');
  std::string_view main_unit = TrimSpace(unit.substr(0, slash));
  if (!main_unit.empty() && main_unit.find_first_of("{}") == std::string_view::npos) {
    *main = std::string(MainUnitWord(main_unit));
  }
  if (slash != std::string_view::npos && slash + 1 < unit.size()) {
    std::string_view per_unit = TrimSpace(unit.substr(slash + 1));
    if (!per_unit.empty() && per_unit.find_first_of("{}") == std::string_view::npos) {
      std::string_view word = PerUnitWord(per_unit);
      if (!word.empty()) *per = fmt::format("per_{}", word);
    }
  }
}

bool Contains(const std::vector<std::string>& tokens, std::string_view token) {
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

void MoveToEnd(std::vector<std::string>& tokens, std::string_view token) {
  std::erase(tokens, std::string(token));
  tokens.emplace_back(token);
}

bool OnlyUnderscores(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '_'; });
}

}  // namespace

absl::StatusOr<std::string> BuildMetricName(std::string_view name, std::string_view unit,
                                            OtlpMetricKind kind) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : name) {
    if (IsMetricNameChar(c)) {
      current.push_back(c);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));

  std::string main, per;
  UnitSuffixes(unit, &main, &per);
  main = CleanUpUnit(main);
  per = CleanUpUnit(per);
  if (Contains(tokens, main)) main.clear();
  if (per == "per_") {
    per.clear();
  } else {
    if (!per.empty() && per.back() == '_') per.pop_back();
    if (Contains(tokens, per)) per.clear();
  }
  if (!per.empty() && !main.empty() && main.back() == '_') main.pop_back();
  if (!main.empty()) tokens.push_back(main);
  if (!per.empty()) tokens.push_back(per);

  if (kind == OtlpMetricKind::kMonotonicCounter) MoveToEnd(tokens, "total");
  if (unit == "1" && kind == OtlpMetricKind::kGauge) MoveToEnd(tokens, "ratio");

  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out.push_back('_');
    out += t;
  }
  if (!out.empty() && IsDigit(out.front())) out = "_" + out;
  if (out.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot name metric \"{}\": the normalized name is empty", name));
  }
  if (out != name && OnlyUnderscores(out)) {
    return absl::InvalidArgumentError(
        fmt::format("cannot name metric \"{}\": the normalized name \"{}\" is invalid", name, out));
  }
  return out;
}

absl::StatusOr<std::string> BuildLabelName(std::string_view key) {
  if (key.empty()) {
    return absl::InvalidArgumentError("cannot name label of attribute \"\": the key is empty");
  }
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (IsUtf8Continuation(c)) continue;
    bool valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_';
    out.push_back(valid ? c : '_');
  }
  if (IsDigit(out.front())) {
    out = "key_" + out;
  } else if (out.front() == '_' && (out.size() < 2 || out[1] != '_')) {
    out = "key" + out;
  }
  if (out != key && OnlyUnderscores(out)) {
    return absl::InvalidArgumentError(fmt::format(
        "cannot name label of attribute \"{}\": the normalized name \"{}\" is invalid", key, out));
  }
  return out;
}

std::string FormatFloatFixed(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Fixed notation of a double needs at most ~330 characters (1e308 or 5e-324).
  char buf[400];
  auto result = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, result.ptr);
}

}  // namespace oriel::ingest::otlp
