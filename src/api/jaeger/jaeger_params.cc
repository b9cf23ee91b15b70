#include "api/jaeger/jaeger_params.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <limits>
#include <utility>

#include "base/status.h"

namespace oriel::api::jaeger {
namespace {

constexpr int64_t kDefaultSearchLimit = 100;
constexpr int64_t kHourNano = 3'600'000'000'000;
constexpr int64_t kDefaultSearchLookbackNano = 48 * kHourNano;
constexpr int64_t kDefaultDependenciesLookbackNano = 24 * kHourNano;

absl::Status ParamError(std::string_view param, std::string_view cause) {
  return absl::InvalidArgumentError(fmt::format("unable to parse param '{}': {}", param, cause));
}

absl::StatusOr<int64_t> ParseInt(std::string_view text, std::string_view param) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return ParamError(param, fmt::format("strconv.ParseInt: parsing \"{}\": invalid syntax", text));
  }
  return v;
}

// a * b + c; false when the result does not fit in int64.
bool MulAdd(int64_t a, int64_t b, int64_t c, int64_t* out) {
  __int128 r = static_cast<__int128>(a) * b + c;
  if (r > std::numeric_limits<int64_t>::max() || r < std::numeric_limits<int64_t>::min()) {
    return false;
  }
  *out = static_cast<int64_t>(r);
  return true;
}

std::string_view Message(const absl::Status& st) {
  return std::string_view(st.message().data(), st.message().size());
}

std::string_view Value(const net::Params& form, std::string_view name) {
  return net::FirstValue(form, name).value_or("");
}

}  // namespace

absl::StatusOr<int64_t> ParseGoDuration(std::string_view text) {
  auto invalid = [text] {
    return absl::InvalidArgumentError(fmt::format("time: invalid duration \"{}\"", text));
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid();
  int64_t total = 0;
  while (!s.empty()) {
    // The integer part, then an optional fraction, then the unit.
    int64_t whole = 0;
    size_t i = 0;
    bool overflow = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      overflow |= !MulAdd(whole, 10, s[i] - '0', &whole);
      ++i;
    }
    bool had_digits = i > 0;
    int64_t frac = 0;
    int64_t frac_scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        // Digits past what int64 holds add nothing measurable; Go drops them too.
        if (frac_scale < 1'000'000'000'000'000'000) {
          frac = frac * 10 + (s[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      had_digits |= i > start;
    }
    if (!had_digits) return invalid();
    size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && (s[i] < '0' || s[i] > '9')) ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    int64_t scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1'000;
    } else if (unit == "ms") {
      scale = 1'000'000;
    } else if (unit == "s") {
      scale = 1'000'000'000;
    } else if (unit == "m") {
      scale = 60'000'000'000;
    } else if (unit == "h") {
      scale = kHourNano;
    } else if (unit.empty()) {
      return absl::InvalidArgumentError(fmt::format("time: missing unit in duration \"{}\"", text));
    } else {
      return absl::InvalidArgumentError(
          fmt::format("time: unknown unit \"{}\" in duration \"{}\"", unit, text));
    }
    int64_t part = 0;
    if (overflow || !MulAdd(whole, scale, 0, &part)) return invalid();
    int64_t frac_nano = static_cast<int64_t>(static_cast<long double>(frac) * scale / frac_scale);
    if (!MulAdd(part, 1, frac_nano, &part) || !MulAdd(total, 1, part, &total)) return invalid();
    s.remove_prefix(i);
  }
  return negative ? -total : total;
}

absl::StatusOr<std::string> ParseTraceId(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse trace id \"{}\": must be 1 to 32 hex digits", hex));
  }
  std::string padded = std::string(32 - hex.size(), '0');
  padded.append(hex);
  std::string raw(16, '\0');
  for (size_t i = 0; i < 32; ++i) {
    char c = padded[i];
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) {
      return absl::InvalidArgumentError(
          fmt::format("cannot parse trace id \"{}\": '{}' is not a hex digit", hex, c));
    }
    raw[i / 2] = static_cast<char>(raw[i / 2] | (i % 2 == 0 ? v << 4 : v));
  }
  return raw;
}

absl::StatusOr<int32_t> ParseSpanKind(std::string_view name, std::string_view param) {
  using opentelemetry::proto::trace::v1::Span;
  if (name == "unspecified") return Span::SPAN_KIND_UNSPECIFIED;
  if (name == "internal") return Span::SPAN_KIND_INTERNAL;
  if (name == "server") return Span::SPAN_KIND_SERVER;
  if (name == "client") return Span::SPAN_KIND_CLIENT;
  if (name == "producer") return Span::SPAN_KIND_PRODUCER;
  if (name == "consumer") return Span::SPAN_KIND_CONSUMER;
  return ParamError(param, fmt::format("unsupported span kind \"{}\"", name));
}

absl::StatusOr<SearchParams> ParseSearchParams(const net::Params& form, int64_t now_unix_nano) {
  SearchParams out;
  tracestore::TraceQuery& q = out.query;
  q.service = std::string(Value(form, "service"));
  q.operation = std::string(Value(form, "operation"));

  q.end_unix_nano = now_unix_nano;
  if (std::string_view end = Value(form, "end"); !end.empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t us, ParseInt(end, "end"));
    if (!MulAdd(us, 1000, 0, &q.end_unix_nano)) return ParamError("end", "out of range");
  }
  if (std::string_view start = Value(form, "start"); !start.empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t us, ParseInt(start, "start"));
    if (!MulAdd(us, 1000, 0, &q.start_unix_nano)) return ParamError("start", "out of range");
  } else {
    // The UI sends lookback=1h (or "custom" with start/end); only a duration is used.
    absl::StatusOr<int64_t> lookback = ParseGoDuration(Value(form, "lookback"));
    int64_t back = lookback.ok() && *lookback > 0 ? *lookback : kDefaultSearchLookbackNano;
    if (!MulAdd(back, -1, q.end_unix_nano, &q.start_unix_nano)) {
      return ParamError("end", "out of range");
    }
  }

  for (const std::string& tag : net::AllValues(form, "tag")) {
    size_t colon = tag.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("malformed 'tag' parameter, expecting key:value, received: {}", tag));
    }
    q.tags.emplace_back(tag.substr(0, colon), tag.substr(colon + 1));
  }
  for (const std::string& tags : net::AllValues(form, "tags")) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseStopWhenDoneFlag>(tags.data(), tags.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      return absl::InvalidArgumentError(
          fmt::format("malformed 'tags' parameter, cannot unmarshal JSON: {}",
                      doc.HasParseError() ? rapidjson::GetParseError_En(doc.GetParseError())
                                          : "not a JSON object"));
    }
    for (const auto& m : doc.GetObject()) {
      if (!m.value.IsString()) {
        return absl::InvalidArgumentError(fmt::format(
            "malformed 'tags' parameter, cannot unmarshal JSON: value of \"{}\" is not a string",
            m.name.GetString()));
      }
      std::string key(m.name.GetString(), m.name.GetStringLength());
      std::string value(m.value.GetString(), m.value.GetStringLength());
      // Like Jaeger's map, a later condition on the same key replaces the earlier one.
      bool replaced = false;
      for (auto& [k, v] : q.tags) {
        if (k == key) {
          v = value;
          replaced = true;
        }
      }
      if (!replaced) q.tags.emplace_back(std::move(key), std::move(value));
    }
  }

  q.limit = kDefaultSearchLimit;
  if (std::string_view limit = Value(form, "limit"); !limit.empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t n, ParseInt(limit, "limit"));
    if (n < 0 || n > std::numeric_limits<int32_t>::max()) {
      return ParamError("limit", fmt::format("{} is out of range", n));
    }
    if (n > 0) q.limit = static_cast<size_t>(n);
  }
  for (auto [name, field] : {std::pair{"minDuration", &q.min_duration_nano},
                             std::pair{"maxDuration", &q.max_duration_nano}}) {
    std::string_view text = Value(form, name);
    if (text.empty()) continue;
    absl::StatusOr<int64_t> d = ParseGoDuration(text);
    if (!d.ok()) return ParamError(name, Message(d.status()));
    *field = *d;
  }
  for (const std::string& id : net::AllValues(form, "traceID")) {
    absl::StatusOr<std::string> raw = ParseTraceId(id);
    if (!raw.ok()) return ParamError("traceID", Message(raw.status()));
    out.trace_ids.push_back(*std::move(raw));
  }
  if (out.trace_ids.empty() && q.service.empty()) {
    return absl::InvalidArgumentError("parameter 'service' is required");
  }
  if (q.min_duration_nano != 0 && q.max_duration_nano != 0 &&
      q.max_duration_nano < q.min_duration_nano) {
    return absl::InvalidArgumentError("'maxDuration' should be greater than 'minDuration'");
  }
  return out;
}

absl::StatusOr<DependenciesParams> ParseDependenciesParams(const net::Params& form,
                                                           int64_t now_unix_nano) {
  DependenciesParams out{now_unix_nano, kDefaultDependenciesLookbackNano};
  if (std::string_view end = Value(form, "endTs"); !end.empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t ms, ParseInt(end, "endTs"));
    if (!MulAdd(ms, 1'000'000, 0, &out.end_unix_nano)) return ParamError("endTs", "out of range");
  }
  if (std::string_view lookback = Value(form, "lookback"); !lookback.empty()) {
    ORIEL_ASSIGN_OR_RETURN(int64_t ms, ParseInt(lookback, "lookback"));
    if (ms < 0 || !MulAdd(ms, 1'000'000, 0, &out.lookback_nano)) {
      return ParamError("lookback", "out of range");
    }
  }
  return out;
}

}  // namespace oriel::api::jaeger
