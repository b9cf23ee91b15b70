#include "ingest/pushgateway/pushgateway_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "base/json.h"
#include "fmt/format.h"
#include "ingest/pushgateway/family_convert.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

std::string TimeString(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

// An object with keys in Go's encoding/json map order (sorted); values are rendered JSON.
std::string JsonObject(const std::map<std::string, std::string>& fields) {
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (out.size() > 1) out += ',';
    out += GoJsonString(k);
    out += ':';
    out += v;
  }
  return out + "}";
}

std::string StringMap(const std::map<std::string, std::string>& m) {
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : m) fields[k] = GoJsonString(v);
  return JsonObject(fields);
}

std::string MetricLabels(const pb::Metric& m) {
  std::map<std::string, std::string> labels;
  for (const auto& lp : m.label()) labels[lp.name()] = lp.value();
  return StringMap(labels);
}

double MetricValue(const pb::Metric& m) {
  if (m.has_gauge()) return m.gauge().value();
  if (m.has_counter()) return m.counter().value();
  if (m.has_untyped()) return m.untyped().value();
  return 0;
}

std::string RenderMetric(const pb::Metric& m, pb::MetricType type) {
  std::map<std::string, std::string> fields;
  fields["labels"] = MetricLabels(m);
  if (type == pb::SUMMARY) {
    std::map<std::string, std::string> quantiles;
    for (const auto& q : m.summary().quantile()) {
      quantiles[GoFloatString(q.quantile())] = GoFloatString(q.value());
    }
    fields["quantiles"] = StringMap(quantiles);
    fields["count"] = GoJsonString(std::to_string(m.summary().sample_count()));
    fields["sum"] = GoJsonString(GoFloatString(m.summary().sample_sum()));
  } else if (type == pb::HISTOGRAM || type == pb::GAUGE_HISTOGRAM) {
    std::map<std::string, std::string> buckets;
    for (const auto& b : m.histogram().bucket()) {
      buckets[GoFloatString(b.upper_bound())] = std::to_string(b.cumulative_count());
    }
    fields["buckets"] = StringMap(buckets);
    fields["count"] = GoJsonString(std::to_string(m.histogram().sample_count()));
    fields["sum"] = GoJsonString(GoFloatString(m.histogram().sample_sum()));
  } else {
    fields["value"] = GoJsonString(GoFloatString(MetricValue(m)));
  }
  return JsonObject(fields);
}

// A family object; its fields keep the Pushgateway's struct order, not sorted.
std::string RenderFamily(absl::Time time_stamp, pb::MetricType type, std::string_view help,
                         const std::vector<std::string>& metrics) {
  std::string out = fmt::format("{{\"time_stamp\":{},\"type\":{}",
                                GoJsonString(TimeString(time_stamp)), GoJsonString(TypeName(type)));
  if (!help.empty()) out += fmt::format(",\"help\":{}", GoJsonString(help));
  out += ",\"metrics\":[";
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (i > 0) out += ',';
    out += metrics[i];
  }
  return out + "]}";
}

std::string RenderGauge(const GroupingKey& key, absl::Time changed, std::string_view help,
                        double value) {
  std::map<std::string, std::string> labels(key.begin(), key.end());
  labels.try_emplace("instance", "");
  std::map<std::string, std::string> metric = {{"labels", StringMap(labels)},
                                               {"value", GoJsonString(GoFloatString(value))}};
  return RenderFamily(changed, pb::GAUGE, help, {JsonObject(metric)});
}

}  // namespace

std::string GoFloatString(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, sci.ptr);
  size_t e = s.find('e');
  int exp = std::atoi(s.c_str() + e + 1);
  if (exp < -4 || exp >= 6) {
    // to_chars writes at least two exponent digits, as Go does ("e+06", "e-05", "e+100").
    return s;
  }
  auto fixed = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string RenderMetricsJson(const PushGroups& groups) {
  std::string out = "{\"status\":\"success\",\"data\":[";
  bool first = true;
  for (const auto& [key, g] : groups) {
    std::map<std::string, std::string> fields;
    fields["labels"] = StringMap(std::map<std::string, std::string>(key.begin(), key.end()));
    fields["last_push_successful"] = g.last_push_successful ? "true" : "false";
    for (const auto& [name, f] : g.families) {
      std::vector<std::string> metrics;
      for (const auto& m : f.family.metric()) metrics.push_back(RenderMetric(m, f.family.type()));
      fields[name] = RenderFamily(f.pushed, f.family.type(), f.family.help(), metrics);
    }
    fields["push_time_seconds"] =
        RenderGauge(key, g.push_time_changed,
                    "Last Unix time when changing this group in the Pushgateway succeeded.",
                    UnixSeconds(g.push_time));
    fields["push_failure_time_seconds"] =
        RenderGauge(key, g.failure_time_changed,
                    "Last Unix time when changing this group in the Pushgateway failed.",
                    UnixSeconds(g.failure_time));
    if (!first) out += ',';
    first = false;
    out += JsonObject(fields);
  }
  return out + "]}";
}

std::string RenderStatusJson(const std::map<std::string, std::string>& build_information,
                             const std::map<std::string, std::string>& flags,
                             absl::Time start_time) {
  std::map<std::string, std::string> data = {
      {"build_information", StringMap(build_information)},
      {"flags", StringMap(flags)},
      {"start_time", GoJsonString(TimeString(start_time))},
  };
  return fmt::format("{{\"status\":\"success\",\"data\":{}}}", JsonObject(data));
}

}  // namespace oriel::ingest
