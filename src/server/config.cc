#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "base/log.h"
#include "base/status.h"
#include "base/units.h"
#include "fmt/format.h"
#include "net/address.h"

namespace oriel::server {
namespace {

std::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

std::string Join(const std::vector<std::string_view>& items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

// Walks a YAML document, converting typed fields and collecting every error with its position.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source.empty() ? "<config>" : source) {}

  void Error(const YAML::Node& at, std::string_view message) {
    YAML::Mark mark = at.Mark();
    if (mark.is_null()) {
      errors_.push_back(fmt::format("{}: {}", source_, message));
    } else {
      errors_.push_back(
          fmt::format("{}:{}:{}: {}", source_, mark.line + 1, mark.column + 1, message));
    }
  }

  // True when `node` is a mapping (or absent/null, meaning "all defaults") whose keys are all in
  // `known`; reports unknown and duplicate keys.
  bool CheckMap(const YAML::Node& node, std::string_view path,
                const std::vector<std::string_view>& known) {
    if (!node.IsDefined() || node.IsNull()) return false;
    if (!node.IsMap()) {
      Error(node, fmt::format("{}: want a mapping, got {}", path, KindName(node)));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      std::string where = path.empty() ? key : fmt::format("{}.{}", path, key);
      if (!seen.insert(key).second) {
        Error(kv.first, fmt::format("duplicate key \"{}\"", where));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        Error(kv.first, fmt::format("unknown key \"{}\"{} (known keys: {})", key,
                                    path.empty() ? "" : fmt::format(" in {}", path), Join(known)));
      }
    }
    return true;
  }

  // The scalar at map[key], or nullopt (with an error if it is present but not a scalar).
  std::optional<std::pair<std::string, YAML::Node>> Scalar(const YAML::Node& map,
                                                           std::string_view key,
                                                           std::string_view path) {
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    if (!value.IsScalar()) {
      Error(value, fmt::format("{}.{}: want a single value, got {}", path, key, KindName(value)));
      return std::nullopt;
    }
    return std::make_pair(value.Scalar(), value);
  }

  void String(const YAML::Node& map, std::string_view key, std::string_view path,
              std::string* out) {
    if (auto v = Scalar(map, key, path)) *out = v->first;
  }

  void Duration(const YAML::Node& map, std::string_view key, std::string_view path,
                absl::Duration* out) {
    auto v = Scalar(map, key, path);
    if (!v) return;
    auto d = ParseDuration(v->first);
    if (!d.ok()) return Error(v->second, fmt::format("{}.{}: {}", path, key, d.status().message()));
    *out = *d;
  }

  void Bytes(const YAML::Node& map, std::string_view key, std::string_view path, int64_t* out) {
    auto v = Scalar(map, key, path);
    if (!v) return;
    auto n = ParseByteSize(v->first);
    if (!n.ok()) return Error(v->second, fmt::format("{}.{}: {}", path, key, n.status().message()));
    *out = *n;
  }

  template <typename Int>
  void Integer(const YAML::Node& map, std::string_view key, std::string_view path, Int* out,
               Int min) {
    auto v = Scalar(map, key, path);
    if (!v) return;
    Int n{};
    const std::string& s = v->first;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n < min) {
      return Error(v->second,
                   fmt::format("{}.{}: want a whole number >= {}, got \"{}\"", path, key, min, s));
    }
    *out = n;
  }

  void Percentage(const YAML::Node& map, std::string_view key, std::string_view path, double* out) {
    auto v = Scalar(map, key, path);
    if (!v) return;
    const std::string& s = v->first;
    double n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || !(n >= 0 && n <= 100)) {
      return Error(v->second,
                   fmt::format("{}.{}: want a percentage from 0 to 100, got \"{}\"", path, key, s));
    }
    *out = n;
  }

  void Bool(const YAML::Node& map, std::string_view key, std::string_view path, bool* out) {
    auto v = Scalar(map, key, path);
    if (!v) return;
    if (v->first == "true") {
      *out = true;
    } else if (v->first == "false") {
      *out = false;
    } else {
      Error(v->second, fmt::format("{}.{}: want true or false, got \"{}\"", path, key, v->first));
    }
  }

  // A list of strings; a single string is taken as a list of one.
  void StringList(const YAML::Node& map, std::string_view key, std::string_view path,
                  std::vector<std::string>* out) {
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) return;
    if (value.IsScalar()) {
      *out = {value.Scalar()};
      return;
    }
    if (!value.IsSequence()) {
      return Error(
          value, fmt::format("{}.{}: want a list of strings, got {}", path, key, KindName(value)));
    }
    std::vector<std::string> items;
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        Error(item, fmt::format("{}.{}: want a string, got {}", path, key, KindName(item)));
        continue;
      }
      items.push_back(item.Scalar());
    }
    *out = std::move(items);
  }

  void Addresses(const YAML::Node& map, std::string_view key, std::string_view path,
                 std::vector<std::string>* out) {
    std::vector<std::string> items = *out;
    StringList(map, key, path, &items);
    YAML::Node value = map[std::string(key)];
    for (size_t i = 0; i < items.size(); ++i) {
      auto hp = net::ParseHostPort(items[i]);
      if (!hp.ok()) {
        YAML::Node at = value.IsSequence() ? value[i] : value;
        Error(at, fmt::format("{}.{}: {}", path, key, hp.status().message()));
      }
    }
    *out = std::move(items);
  }

  void StringMap(const YAML::Node& map, std::string_view key, std::string_view path,
                 std::map<std::string, std::string>* out) {
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsMap()) {
      return Error(value, fmt::format("{}.{}: want a mapping of names to values, got {}", path, key,
                                      KindName(value)));
    }
    for (const auto& kv : value) {
      if (!kv.second.IsScalar()) {
        Error(kv.second, fmt::format("{}.{}.{}: want a string, got {}", path, key,
                                     kv.first.Scalar(), KindName(kv.second)));
        continue;
      }
      (*out)[kv.first.Scalar()] = kv.second.Scalar();
    }
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

void ReadServer(Reader& r, const YAML::Node& node, ServerConfig& c) {
  if (!r.CheckMap(node, "server",
                  {"http_listen", "grpc_listen", "log_level", "external_url", "idle_timeout",
                   "read_timeout", "write_timeout", "shutdown_timeout", "io_threads",
                   "worker_threads", "enable_lifecycle"})) {
    return;
  }
  r.Addresses(node, "http_listen", "server", &c.http_listen);
  r.Addresses(node, "grpc_listen", "server", &c.grpc_listen);
  r.String(node, "log_level", "server", &c.log_level);
  if (auto level = log::ParseLevel(c.log_level); !level.ok()) {
    r.Error(node["log_level"], fmt::format("server.log_level: {}", level.status().message()));
  }
  r.String(node, "external_url", "server", &c.external_url);
  r.Duration(node, "idle_timeout", "server", &c.idle_timeout);
  r.Duration(node, "read_timeout", "server", &c.read_timeout);
  r.Duration(node, "write_timeout", "server", &c.write_timeout);
  r.Duration(node, "shutdown_timeout", "server", &c.shutdown_timeout);
  r.Integer(node, "io_threads", "server", &c.io_threads, 0);
  r.Integer(node, "worker_threads", "server", &c.worker_threads, 0);
  r.Bool(node, "enable_lifecycle", "server", &c.enable_lifecycle);
}

void ReadStorage(Reader& r, const YAML::Node& node, StorageConfig& c) {
  if (!r.CheckMap(node, "storage",
                  {"data_dir", "retention_time", "retention_size", "out_of_order_time_window",
                   "page_cache_size"})) {
    return;
  }
  r.String(node, "data_dir", "storage", &c.data_dir);
  r.Duration(node, "retention_time", "storage", &c.retention_time);
  r.Bytes(node, "retention_size", "storage", &c.retention_size_bytes);
  r.Duration(node, "out_of_order_time_window", "storage", &c.out_of_order_time_window);
  r.Bytes(node, "page_cache_size", "storage", &c.page_cache_bytes);
}

void ReadLimits(Reader& r, const YAML::Node& node, LimitsConfig& c) {
  if (!r.CheckMap(node, "limits",
                  {"max_request_body_size", "max_decompressed_body_size", "max_grpc_message_size",
                   "max_inflight_requests", "max_labels_per_series", "max_label_name_length",
                   "max_label_value_length", "max_active_series", "memory_limit"})) {
    return;
  }
  r.Bytes(node, "max_request_body_size", "limits", &c.max_request_body_bytes);
  r.Bytes(node, "max_decompressed_body_size", "limits", &c.max_decompressed_body_bytes);
  r.Bytes(node, "max_grpc_message_size", "limits", &c.max_grpc_message_bytes);
  r.Integer(node, "max_inflight_requests", "limits", &c.max_inflight_requests, int64_t{1});
  r.Integer(node, "max_labels_per_series", "limits", &c.max_labels_per_series, int64_t{0});
  r.Integer(node, "max_label_name_length", "limits", &c.max_label_name_length, int64_t{0});
  r.Integer(node, "max_label_value_length", "limits", &c.max_label_value_length, int64_t{0});
  r.Integer(node, "max_active_series", "limits", &c.max_active_series, int64_t{0});
  r.Bytes(node, "memory_limit", "limits", &c.memory_limit_bytes);
}

void ReadTraces(Reader& r, const YAML::Node& node, TracesConfig& c) {
  if (!r.CheckMap(node, "traces", {"span_metrics", "service_graph", "sampling", "head"})) return;
  const YAML::Node head = node["head"];
  if (r.CheckMap(head, "traces.head", {"max_memory"})) {
    r.Bytes(head, "max_memory", "traces.head", &c.head_max_memory_bytes);
  }
  const YAML::Node span_metrics = node["span_metrics"];
  if (r.CheckMap(span_metrics, "traces.span_metrics",
                 {"enabled", "flush_interval", "dimensions", "max_series"})) {
    r.Bool(span_metrics, "enabled", "traces.span_metrics", &c.span_metrics);
    r.Duration(span_metrics, "flush_interval", "traces.span_metrics", &c.metrics_flush_interval);
    r.StringList(span_metrics, "dimensions", "traces.span_metrics", &c.span_metrics_dimensions);
    r.Integer(span_metrics, "max_series", "traces.span_metrics", &c.span_metrics_max_series,
              int64_t{1});
  }
  const YAML::Node graph = node["service_graph"];
  if (r.CheckMap(graph, "traces.service_graph", {"enabled", "wait", "max_items"})) {
    r.Bool(graph, "enabled", "traces.service_graph", &c.service_graph);
    r.Duration(graph, "wait", "traces.service_graph", &c.service_graph_wait);
    r.Integer(graph, "max_items", "traces.service_graph", &c.service_graph_max_items, int64_t{1});
  }
  const YAML::Node sampling = node["sampling"];
  if (!r.CheckMap(sampling, "traces.sampling", {"percentage", "hash_seed", "tail"})) return;
  r.Percentage(sampling, "percentage", "traces.sampling", &c.head_sampling_percentage);
  r.Integer(sampling, "hash_seed", "traces.sampling", &c.sampling_hash_seed, uint32_t{0});
  const YAML::Node tail = sampling["tail"];
  if (!r.CheckMap(tail, "traces.sampling.tail",
                  {"enabled", "decision_wait", "num_traces", "keep_errors", "latency_threshold",
                   "percentage"})) {
    return;
  }
  const std::string_view path = "traces.sampling.tail";
  r.Bool(tail, "enabled", path, &c.tail_sampling);
  r.Duration(tail, "decision_wait", path, &c.tail_decision_wait);
  r.Integer(tail, "num_traces", path, &c.tail_num_traces, int64_t{1});
  r.Bool(tail, "keep_errors", path, &c.tail_keep_errors);
  r.Duration(tail, "latency_threshold", path, &c.tail_latency_threshold);
  r.Percentage(tail, "percentage", path, &c.tail_percentage);
}

void ReadGlobal(Reader& r, const YAML::Node& node, GlobalConfig& c) {
  // Every key of Prometheus' `global` block, so that a pasted block is accepted; the scrape and
  // rule features read the rest when they arrive.
  if (!r.CheckMap(node, "global",
                  {"scrape_interval",
                   "scrape_timeout",
                   "scrape_protocols",
                   "evaluation_interval",
                   "rule_query_offset",
                   "external_labels",
                   "query_log_file",
                   "scrape_failure_log_file",
                   "body_size_limit",
                   "sample_limit",
                   "label_limit",
                   "label_name_length_limit",
                   "label_value_length_limit",
                   "target_limit",
                   "keep_dropped_targets",
                   "metric_name_validation_scheme",
                   "metric_name_escaping_scheme",
                   "always_scrape_classic_histograms",
                   "convert_classic_histograms_to_nhcb",
                   "scrape_native_histograms"})) {
    return;
  }
  r.Duration(node, "scrape_interval", "global", &c.scrape_interval);
  r.Duration(node, "scrape_timeout", "global", &c.scrape_timeout);
  r.Duration(node, "evaluation_interval", "global", &c.evaluation_interval);
  r.StringMap(node, "external_labels", "global", &c.external_labels);
  r.String(node, "query_log_file", "global", &c.query_log_file);
  if (c.scrape_timeout > c.scrape_interval) {
    r.Error(node, fmt::format("global: scrape_timeout ({}) greater than scrape_interval ({})",
                              DurationString(c.scrape_timeout), DurationString(c.scrape_interval)));
  }
}

void ReadScrapeConfigs(Reader& r, const YAML::Node& node, std::string* yaml) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    return r.Error(node, fmt::format("scrape_configs: want a list, got {}", KindName(node)));
  }
  std::set<std::string> jobs;
  for (const auto& job : node) {
    if (!job.IsMap()) {
      r.Error(job,
              fmt::format("scrape_configs: each entry must be a mapping, got {}", KindName(job)));
      continue;
    }
    YAML::Node name = job["job_name"];
    if (!name.IsDefined() || !name.IsScalar() || name.Scalar().empty()) {
      r.Error(job, "scrape_configs: an entry has no job_name");
    } else if (!jobs.insert(name.Scalar()).second) {
      r.Error(name, fmt::format("scrape_configs: duplicate job_name \"{}\"", name.Scalar()));
    }
  }
  *yaml = YAML::Dump(node);
}

void ReadOpaqueMap(Reader& r, const YAML::Node& node, std::string_view path,
                   const std::vector<std::string_view>& known, std::string* yaml) {
  if (r.CheckMap(node, path, known)) *yaml = YAML::Dump(node);
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view source) {
  Config config;
  config.source = std::string(source);
  config.text = std::string(text);
  Reader r(source);
  // yaml-cpp reports errors by throwing; this is the one place that catches them.
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull() || !root.IsDefined()) return config;
    if (r.CheckMap(root, "",
                   {"server", "storage", "limits", "global", "scrape_configs", "rule_files",
                    "alerting", "notify", "traces"})) {
      ReadServer(r, root["server"], config.server);
      ReadStorage(r, root["storage"], config.storage);
      ReadLimits(r, root["limits"], config.limits);
      ReadGlobal(r, root["global"], config.global);
      ReadTraces(r, root["traces"], config.traces);
      ReadScrapeConfigs(r, root["scrape_configs"], &config.scrape_configs_yaml);
      r.StringList(root, "rule_files", "rule_files", &config.rule_files);
      ReadOpaqueMap(r, root["alerting"], "alerting", {"alertmanagers", "alert_relabel_configs"},
                    &config.alerting_yaml);
      ReadOpaqueMap(r, root["notify"], "notify",
                    {"global", "route", "receivers", "inhibit_rules", "templates", "time_intervals",
                     "mute_time_intervals"},
                    &config.notify_yaml);
    } else if (!root.IsMap()) {
      r.Error(root, fmt::format("want a mapping at the top level, got {}", KindName(root)));
    }
  } catch (const YAML::Exception& e) {
    std::string where = source.empty() ? "<config>" : std::string(source);
    if (!e.mark.is_null()) {
      where = fmt::format("{}:{}:{}", where, e.mark.line + 1, e.mark.column + 1);
    }
    return absl::InvalidArgumentError(fmt::format("{}: cannot parse YAML: {}", where, e.msg));
  }
  if (!r.errors().empty()) {
    return absl::InvalidArgumentError(fmt::format("{}", fmt::join(r.errors(), "\n")));
  }
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("cannot read config file \"{}\": {}", path, std::strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path);
}

}  // namespace oriel::server
