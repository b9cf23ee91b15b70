// Oriel's one configuration file. Its top level mirrors the systems Oriel replaces so that their
// sections paste in verbatim: Prometheus' `global`, `scrape_configs`, `rule_files`, `alerting`;
// Alertmanager's `route`, `receivers`, `inhibit_rules`, `templates`... under `notify`; and
// Oriel's own `server`, `storage`, `limits`. Unknown keys are errors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace oriel::server {

struct ServerConfig {
  std::vector<std::string> http_listen = {"127.0.0.1:4318", "127.0.0.1:9090"};
  std::vector<std::string> grpc_listen = {"127.0.0.1:4317"};
  std::string log_level = "info";
  std::string external_url;  // how users reach the UI, for links in notifications
  absl::Duration idle_timeout = absl::Minutes(2);
  absl::Duration read_timeout = absl::Minutes(1);
  absl::Duration write_timeout = absl::Minutes(1);
  absl::Duration shutdown_timeout = absl::Seconds(4);
  int io_threads = 0;            // 0: one per core
  int worker_threads = 0;        // 0: four per core
  bool enable_lifecycle = true;  // POST /-/reload
};

struct StorageConfig {
  std::string data_dir = "data";
  absl::Duration retention_time = absl::Hours(24 * 15);
  int64_t retention_size_bytes = 0;  // 0: no size limit
  // Metrics samples older than a series' newest may arrive this late (0: refuse them).
  absl::Duration out_of_order_time_window = absl::ZeroDuration();
  // Decompressed metrics block pages kept across queries (0: none). Range queries over blocks
  // that do not fit decompress their pages again on every query.
  int64_t page_cache_bytes = 32 << 20;
};

struct LimitsConfig {
  int64_t max_request_body_bytes = 32 << 20;
  int64_t max_decompressed_body_bytes = 128 << 20;
  int64_t max_grpc_message_bytes = 16 << 20;
  int64_t max_inflight_requests = 1024;
  // Per series of a metrics write; a series over one rejects the write with 400.
  int64_t max_labels_per_series = 64;
  int64_t max_label_name_length = 1024;
  int64_t max_label_value_length = 4096;
  int64_t max_active_series = 0;   // 0: no limit; over it writes get 429
  int64_t memory_limit_bytes = 0;  // resident memory over which writes get 429; 0: 80% of RAM
};

// Spans: what is derived from them and which of them are kept. Names follow the OpenTelemetry
// Collector's spanmetrics and servicegraph connectors and its probabilistic and tail samplers.
struct TracesConfig {
  bool span_metrics = true;
  bool service_graph = true;
  absl::Duration metrics_flush_interval = absl::Seconds(15);
  std::vector<std::string> span_metrics_dimensions;  // extra span/resource attributes as labels
  int64_t span_metrics_max_series = 10000;
  absl::Duration service_graph_wait = absl::Seconds(2);
  int64_t service_graph_max_items = 1000;  // the connector's default
  double head_sampling_percentage = 100;   // of traces, by trace id hash
  uint32_t sampling_hash_seed = 0;
  bool tail_sampling = false;
  absl::Duration tail_decision_wait = absl::Seconds(30);  // the collector's default
  int64_t tail_num_traces = 50000;
  bool tail_keep_errors = true;
  absl::Duration tail_latency_threshold = absl::ZeroDuration();  // 0: no latency policy
  double tail_percentage = 100;  // of the traces no other policy keeps
  // traces.head.max_memory: the trace store's head is flushed to a segment past this estimated
  // memory, and writes wait for that flush past twice it (TraceDBOptions::flush_memory_bytes).
  int64_t head_max_memory_bytes = int64_t{128} << 20;
};

// Prometheus' `global` block.
struct GlobalConfig {
  absl::Duration scrape_interval = absl::Minutes(1);
  absl::Duration scrape_timeout = absl::Seconds(10);
  absl::Duration evaluation_interval = absl::Minutes(1);
  std::map<std::string, std::string> external_labels;
  std::string query_log_file;
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  LimitsConfig limits;
  GlobalConfig global;
  TracesConfig traces;
  std::vector<std::string> rule_files;
  // Sections whose features parse them in detail; kept as YAML text until then. Their shape
  // (and, where this file knows them, their keys) is checked already.
  std::string scrape_configs_yaml;
  std::string alerting_yaml;
  std::string notify_yaml;
  std::string source;  // the file it came from, "" for defaults
  std::string text;    // the file's content, as served by /api/v1/status/config
};

// Parses a config from YAML text; `source` names it in errors ("oriel.yml:12:3: ...").
// On failure the status message lists every error found, one per line.
[[nodiscard]] absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view source);

// Reads and parses the file at `path`.
[[nodiscard]] absl::StatusOr<Config> LoadConfigFile(const std::string& path);

}  // namespace oriel::server
