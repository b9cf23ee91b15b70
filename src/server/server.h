// Builds every component from the configuration, owns their lifetime, and applies reloads.
// This is the only place that names concrete implementations (see DESIGN.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "base/readiness.h"
#include "net/router.h"
#include "server/config.h"

namespace oriel::net {
class HttpServer;
class GrpcServer;
}  // namespace oriel::net
namespace oriel::storage {
class DataDir;
}
namespace oriel::tsdb {
class DB;
}
namespace oriel::promql {
class Engine;
}
namespace oriel::tracestore {
class TraceDB;
}
namespace oriel::ingest {
class PushgatewayStore;
}
namespace oriel::pipeline {
class MemoryLimiter;
class MemoryLimitedWriter;
}  // namespace oriel::pipeline
namespace oriel::ingest::otlp {
class OtlpMetricsIngester;
class OtlpTracesIngester;
}  // namespace oriel::ingest::otlp
namespace grpc {
class Service;
}

namespace oriel::server {

class TracePipeline;

// Command-line settings; each one given overrides the config file.
struct Flags {
  std::string config_file;  // "" means defaults only
  std::optional<std::string> data_dir;
  std::vector<std::string> http_listen;
  std::vector<std::string> grpc_listen;
  std::optional<std::string> log_level;
};

// The config file (if any) with the flags applied on top, validated.
[[nodiscard]] absl::StatusOr<Config> LoadEffectiveConfig(const Flags& flags);

class Server {
 public:
  Server(Config config, Flags flags);
  ~Server();

  // Opens the data dir, binds every listener and starts serving; prints the URLs to stdout.
  [[nodiscard]] absl::Status Start();

  // Re-reads the config file and applies what can change while running; on error the running
  // config stays. Thread-safe.
  [[nodiscard]] absl::Status Reload();

  // Stops accepting, finishes in-flight requests within server.shutdown_timeout, closes storage.
  void Shutdown();

  const Config& config() const { return config_; }

 private:
  void RegisterAdminRoutes();
  // Opens the engines in the data dir and registers the routes that need them.
  [[nodiscard]] absl::Status OpenEngines();
  // Writes the Pushgateway groups into the metrics engine every global.scrape_interval.
  void RunPushgatewayFlusher();
  void FlushPushgateway();
  void PrintUrls() const;

  Config config_;
  const Flags flags_;
  std::mutex reload_mu_;

  metrics::Registry registry_;
  Readiness readiness_;
  net::Router router_;
  std::unique_ptr<storage::DataDir> data_dir_;
  std::unique_ptr<tsdb::DB> metrics_db_;
  std::unique_ptr<promql::Engine> promql_engine_;
  std::unique_ptr<pipeline::MemoryLimiter> memory_limiter_;
  // What every ingest path writes through: the engine behind the memory limiter.
  std::unique_ptr<pipeline::MemoryLimitedWriter> metrics_writer_;
  std::unique_ptr<ingest::PushgatewayStore> pushgateway_;
  std::unique_ptr<ingest::otlp::OtlpMetricsIngester> otlp_metrics_;
  std::unique_ptr<grpc::Service> otlp_metrics_grpc_;
  std::unique_ptr<tracestore::TraceDB> trace_db_;
  std::unique_ptr<TracePipeline> trace_pipeline_;  // ingest -> trace_pipeline_ -> trace_db_
  std::unique_ptr<ingest::otlp::OtlpTracesIngester> otlp_traces_;
  std::unique_ptr<grpc::Service> otlp_traces_grpc_;
  std::thread pushgateway_flusher_;
  std::mutex flusher_mu_;
  std::condition_variable flusher_cv_;
  bool stopping_ = false;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<net::GrpcServer> grpc_;
  const absl::Time start_time_ = absl::Now();
  std::atomic<bool> last_reload_ok_{true};
  std::atomic<int64_t> last_reload_unix_ms_{absl::ToUnixMillis(absl::Now())};
  metrics::Gauge* reload_ok_ = nullptr;
  metrics::Gauge* reload_time_ = nullptr;
};

}  // namespace oriel::server
