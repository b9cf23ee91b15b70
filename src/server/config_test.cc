#include "server/config.h"

#include <gtest/gtest.h>

#include "server/server.h"

namespace oriel::server {
namespace {

std::string ErrorOf(std::string_view yaml) {
  auto c = ParseConfig(yaml, "oriel.yml");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ConfigTest, EmptyFileMeansDefaults) {
  auto c = ParseConfig("", "oriel.yml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.grpc_listen, std::vector<std::string>{"127.0.0.1:4317"});
  EXPECT_EQ(c->server.http_listen.size(), 2u);
  EXPECT_EQ(c->storage.retention_time, absl::Hours(24 * 15));
  EXPECT_EQ(c->storage.page_cache_bytes, int64_t{32} << 20);
}

TEST(ConfigTest, ReadsOwnAndPrometheusSections) {
  auto c = ParseConfig(R"(
server:
  http_listen: ["127.0.0.1:9091", "[::1]:3100"]
  grpc_listen: 127.0.0.1:14317
  log_level: debug
  shutdown_timeout: 3s
storage:
  data_dir: /var/lib/oriel
  retention_time: 30d
  retention_size: 10GB
  page_cache_size: 256MiB
limits:
  max_request_body_size: 8MiB
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    cluster: eu-1
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["localhost:9100"]
rule_files: ["rules/*.yml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["localhost:9093"]
notify:
  route:
    receiver: team
  receivers:
    - name: team
)",
                       "oriel.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.http_listen[1], "[::1]:3100");
  EXPECT_EQ(c->server.grpc_listen, std::vector<std::string>{"127.0.0.1:14317"});
  EXPECT_EQ(c->server.shutdown_timeout, absl::Seconds(3));
  EXPECT_EQ(c->storage.retention_size_bytes, int64_t{10} << 30);
  EXPECT_EQ(c->storage.page_cache_bytes, int64_t{256} << 20);
  EXPECT_EQ(c->limits.max_request_body_bytes, 8 << 20);
  EXPECT_EQ(c->global.scrape_interval, absl::Seconds(15));
  EXPECT_EQ(c->global.external_labels.at("cluster"), "eu-1");
  EXPECT_EQ(c->rule_files, std::vector<std::string>{"rules/*.yml"});
  EXPECT_NE(c->scrape_configs_yaml.find("node"), std::string::npos);
  EXPECT_NE(c->notify_yaml.find("receivers"), std::string::npos);
}

TEST(ConfigTest, ReadsTracesSection) {
  auto c = ParseConfig(R"(
traces:
  span_metrics:
    flush_interval: 5s
    dimensions: [http.route]
  service_graph:
    enabled: false
  sampling:
    percentage: 12.5
    hash_seed: 22
    tail:
      enabled: true
      decision_wait: 3s
      latency_threshold: 500ms
      percentage: 10
  head:
    max_memory: 64MiB
)",
                       "oriel.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->traces.head_max_memory_bytes, int64_t{64} << 20);
  EXPECT_TRUE(c->traces.span_metrics);
  EXPECT_FALSE(c->traces.service_graph);
  EXPECT_EQ(c->traces.metrics_flush_interval, absl::Seconds(5));
  EXPECT_EQ(c->traces.span_metrics_dimensions, std::vector<std::string>{"http.route"});
  EXPECT_EQ(c->traces.head_sampling_percentage, 12.5);
  EXPECT_EQ(c->traces.sampling_hash_seed, 22u);
  EXPECT_TRUE(c->traces.tail_sampling);
  EXPECT_EQ(c->traces.tail_decision_wait, absl::Seconds(3));
  EXPECT_EQ(c->traces.tail_latency_threshold, absl::Milliseconds(500));
  EXPECT_EQ(c->traces.tail_percentage, 10);

  std::string err = ErrorOf("traces:\n  sampling:\n    percentage: 150\n");
  EXPECT_NE(err.find("oriel.yml:3:17: traces.sampling.percentage: want a percentage from 0 to 100"),
            std::string::npos)
      << err;
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  std::string err = ErrorOf("server:\n  log_level: info\n  colour: blue\n");
  EXPECT_NE(err.find("oriel.yml:3:3: unknown key \"colour\" in server"), std::string::npos) << err;
  std::string top = ErrorOf("storage: {}\nprometheus: {}\n");
  EXPECT_NE(top.find("oriel.yml:2:1: unknown key \"prometheus\""), std::string::npos) << top;
}

TEST(ConfigTest, WrongTypeNamesKeyAndLine) {
  std::string err = ErrorOf("server:\n  shutdown_timeout: [1, 2]\n");
  EXPECT_NE(err.find("oriel.yml:2:21: server.shutdown_timeout: want a single value, got a list"),
            std::string::npos)
      << err;
  std::string dur = ErrorOf("global:\n  scrape_interval: 15 seconds\n");
  EXPECT_NE(dur.find("oriel.yml:2:20: global.scrape_interval: cannot parse duration"),
            std::string::npos)
      << dur;
  std::string num = ErrorOf("server:\n  io_threads: many\n");
  EXPECT_NE(num.find("oriel.yml:2:15: server.io_threads: want a whole number"), std::string::npos)
      << num;
  std::string map = ErrorOf("server: 5\n");
  EXPECT_NE(map.find("oriel.yml:1:9: server: want a mapping"), std::string::npos) << map;
}

TEST(ConfigTest, BadPageCacheSizeNamesKeyAndLine) {
  std::string err = ErrorOf("storage:\n  page_cache_size: lots\n");
  EXPECT_NE(err.find("oriel.yml:2:20: storage.page_cache_size: cannot parse byte size \"lots\""),
            std::string::npos)
      << err;
  std::string negative = ErrorOf("storage:\n  page_cache_size: -1MiB\n");
  EXPECT_NE(negative.find("storage.page_cache_size: cannot parse byte size"), std::string::npos)
      << negative;
  auto off = ParseConfig("storage:\n  page_cache_size: 0\n", "oriel.yml");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->storage.page_cache_bytes, 0);
}

TEST(ConfigTest, BadAddressNamesKeyAndLine) {
  std::string err = ErrorOf("server:\n  http_listen:\n    - 127.0.0.1:9090\n    - localhost\n");
  EXPECT_NE(
      err.find("oriel.yml:4:7: server.http_listen: invalid address \"localhost\": missing port"),
      std::string::npos)
      << err;
  std::string port = ErrorOf("server:\n  grpc_listen: 127.0.0.1:70000\n");
  EXPECT_NE(port.find("oriel.yml:2:16: server.grpc_listen"), std::string::npos) << port;
}

TEST(ConfigTest, ReportsEveryErrorNotJustTheFirst) {
  std::string err = ErrorOf("server:\n  bogus: 1\nstorage:\n  retention_time: forever\n");
  EXPECT_NE(err.find("oriel.yml:2:3"), std::string::npos) << err;
  EXPECT_NE(err.find("oriel.yml:4:19"), std::string::npos) << err;
}

TEST(ConfigTest, MalformedYamlAndDuplicates) {
  std::string err = ErrorOf("server:\n  http_listen: [\n");
  EXPECT_NE(err.find("oriel.yml:"), std::string::npos);
  EXPECT_NE(err.find("cannot parse YAML"), std::string::npos) << err;
  std::string dup = ErrorOf("scrape_configs:\n  - job_name: a\n  - job_name: a\n");
  EXPECT_NE(dup.find("oriel.yml:3:15: scrape_configs: duplicate job_name \"a\""), std::string::npos)
      << dup;
  std::string no_job = ErrorOf("scrape_configs:\n  - static_configs: []\n");
  EXPECT_NE(no_job.find("no job_name"), std::string::npos) << no_job;
}

TEST(ConfigTest, FlagsOverrideFileAndAreValidated) {
  Flags flags;
  flags.data_dir = "/tmp/x";
  flags.http_listen = {"127.0.0.1:0"};
  auto c = LoadEffectiveConfig(flags);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->storage.data_dir, "/tmp/x");
  EXPECT_EQ(c->server.http_listen, std::vector<std::string>{"127.0.0.1:0"});
  flags.grpc_listen = {"nonsense"};
  flags.log_level = "chatty";
  auto bad = LoadEffectiveConfig(flags);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("flag --grpc-listen"), std::string::npos);
  EXPECT_NE(bad.status().message().find("flag --log-level"), std::string::npos);
}

}  // namespace
}  // namespace oriel::server
