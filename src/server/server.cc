#include "server/server.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "api/admin/admin_api.h"
#include "api/jaeger/dependencies_from_metrics.h"
#include "api/jaeger/jaeger_api.h"
#include "api/prometheus/query_api.h"
#include "api/prometheus/series_api.h"
#include "api/prometheus/status_api.h"
#include "base/build_info.h"
#include "base/log.h"
#include "base/process_metrics.h"
#include "base/status.h"
#include "base/units.h"
#include "fmt/format.h"
#include "ingest/otlp/metrics_ingester.h"
#include "ingest/otlp/otlp_http.h"
#include "ingest/otlp/otlp_metrics_grpc.h"
#include "ingest/otlp/otlp_traces_grpc.h"
#include "ingest/otlp/otlp_traces_http.h"
#include "ingest/otlp/traces_ingester.h"
#include "net/address.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "pipeline/memory_limiter.h"
#include "promql/engine/engine.h"
#include "server/trace_pipeline.h"
#include "tracestore/trace_db.h"
// Only for grpc::Service's destructor: the service object is owned here.
#include <grpcpp/impl/codegen/service_type.h>

#include "ingest/pushgateway/pushgateway_handler.h"
#include "ingest/pushgateway/pushgateway_store.h"
#include "ingest/remote_write/remote_write_handler.h"
#include "storage/data_dir.h"
#include "tsdb/db.h"

namespace oriel::server {

absl::StatusOr<Config> LoadEffectiveConfig(const Flags& flags) {
  Config config;
  if (!flags.config_file.empty()) {
    auto loaded = LoadConfigFile(flags.config_file);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  std::vector<std::string> errors;
  auto check_addresses = [&](const std::vector<std::string>& addresses, const char* flag) {
    for (const auto& a : addresses) {
      if (auto hp = net::ParseHostPort(a); !hp.ok()) {
        errors.push_back(fmt::format("flag {}: {}", flag, hp.status().message()));
      }
    }
  };
  if (flags.data_dir) config.storage.data_dir = *flags.data_dir;
  if (!flags.http_listen.empty()) {
    check_addresses(flags.http_listen, "--http-listen");
    config.server.http_listen = flags.http_listen;
  }
  if (!flags.grpc_listen.empty()) {
    check_addresses(flags.grpc_listen, "--grpc-listen");
    config.server.grpc_listen = flags.grpc_listen;
  }
  if (flags.log_level) {
    if (auto level = log::ParseLevel(*flags.log_level); !level.ok()) {
      errors.push_back(fmt::format("flag --log-level: {}", level.status().message()));
    }
    config.server.log_level = *flags.log_level;
  }
  if (config.storage.data_dir.empty()) errors.push_back("storage.data_dir: must not be empty");
  if (config.server.http_listen.empty()) {
    errors.push_back("server.http_listen: at least one address is needed");
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(fmt::format("{}", fmt::join(errors, "\n")));
  return config;
}

Server::Server(Config config, Flags flags) : config_(std::move(config)), flags_(std::move(flags)) {
  RegisterProcessMetrics(registry_);
  const BuildInfo& build = CurrentBuild();
  registry_
      .AddGaugeFamily("oriel_build_info",
                      "A metric with a constant '1' value labelled by the build of this binary.",
                      {"version", "revision", "branch", "build_date"})
      .WithLabels({build.version, build.revision, build.branch, build.build_date})
      .Set(1);
  reload_ok_ = &registry_.AddGauge("oriel_config_last_reload_successful",
                                   "Whether the last configuration reload attempt succeeded.");
  reload_time_ = &registry_.AddGauge("oriel_config_last_reload_success_timestamp_seconds",
                                     "Time of the last successful configuration reload.");
  reload_ok_->Set(1);
  reload_time_->Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  RegisterAdminRoutes();
}

Server::~Server() { Shutdown(); }

void Server::RegisterAdminRoutes() {
  std::function<absl::Status()> reload;
  if (config_.server.enable_lifecycle) reload = [this] { return Reload(); };
  api::AdminApi admin{CurrentBuild(), registry_, readiness_, reload};
  admin.compact_tsdb = [this]() -> absl::Status {
    // Ready means the engines are open (the readiness lock orders that before this read).
    if (!readiness_.Get().ready)
      return absl::UnavailableError("the metrics engine is not open yet");
    return metrics_db_->CompactHead();
  };
  admin.flush_traces = [this]() -> absl::Status {
    if (!readiness_.Get().ready) return absl::UnavailableError("the trace engine is not open yet");
    return trace_db_->Flush();
  };
  api::RegisterAdminRoutes(router_, admin);
  router_.Handle("GET", "/", [](net::HttpRequest&, net::HttpResponse& res) {
    res.SetText(200,
                "Oriel: traces, metrics, logs, alerts and errors in one binary.\n\n"
                "Health:   /-/healthy  /-/ready  /api/health\n"
                "Metrics:  /metrics (Oriel's own)\n"
                "Ingest:   POST /api/v1/write (remote_write 1.0/2.0), /metrics/job/<job> "
                "(Pushgateway)\n"
                "OTLP:     POST /v1/metrics  /v1/traces (and gRPC on the gRPC listener)\n"
                "Jaeger:   /api/services  /api/traces  /api/traces/<id>  /api/dependencies  "
                "/api/v3/*\n"
                "Query:    /api/v1/query  /api/v1/query_range  /api/v1/series  /api/v1/labels  "
                "/api/v1/label/<name>/values  "
                "/api/v1/metadata\n");
  });
}

absl::Status Server::Start() {
  readiness_.SetNotReady("starting");
  auto dir = storage::DataDir::Open(config_.storage.data_dir);
  if (!dir.ok()) return dir.status();
  data_dir_ = std::move(*dir);
  net::GrpcServerOptions grpc_options;
  grpc_options.max_receive_message_bytes =
      static_cast<int>(std::min<int64_t>(config_.limits.max_grpc_message_bytes, INT32_MAX));
  grpc_ = std::make_unique<net::GrpcServer>(grpc_options);
  if (absl::Status s = OpenEngines(); !s.ok()) return s;

  net::HttpServerOptions http_options;
  http_options.max_body_bytes = static_cast<size_t>(config_.limits.max_request_body_bytes);
  http_options.max_decompressed_body_bytes =
      static_cast<size_t>(config_.limits.max_decompressed_body_bytes);
  http_options.max_inflight_requests = static_cast<size_t>(config_.limits.max_inflight_requests);
  http_options.idle_timeout = config_.server.idle_timeout;
  http_options.read_timeout = config_.server.read_timeout;
  http_options.write_timeout = config_.server.write_timeout;
  http_options.io_threads = config_.server.io_threads;
  http_options.worker_threads = config_.server.worker_threads;
  http_ = std::make_unique<net::HttpServer>(router_, http_options, registry_);
  for (const std::string& address : config_.server.http_listen) {
    if (absl::Status s = http_->Listen(address); !s.ok()) return s;
  }

  if (!config_.server.grpc_listen.empty()) {
    if (absl::Status s = grpc_->Start(config_.server.grpc_listen); !s.ok()) return s;
  }
  http_->Start();
  // Ready before the "listening" lines: whoever waits for them (a launcher, a test) may query
  // /-/ready at once.
  readiness_.SetReady();
  for (const auto& address : http_->BoundAddresses()) {
    log::Info("listening", {{"protocol", "http"}, {"address", address}});
  }
  for (const auto& address : grpc_->BoundAddresses()) {
    log::Info("listening", {{"protocol", "grpc"}, {"address", address}});
  }
  PrintUrls();
  return absl::OkStatus();
}

absl::Status Server::OpenEngines() {
  readiness_.SetNotReady("replaying the metrics WAL");
  tsdb::DbOptions db_options;
  db_options.head.out_of_order_time_window_ms =
      absl::ToInt64Milliseconds(config_.storage.out_of_order_time_window);
  db_options.max_labels_per_series = static_cast<size_t>(config_.limits.max_labels_per_series);
  db_options.max_label_name_length = static_cast<size_t>(config_.limits.max_label_name_length);
  db_options.max_label_value_length = static_cast<size_t>(config_.limits.max_label_value_length);
  db_options.max_active_series = static_cast<size_t>(config_.limits.max_active_series);
  db_options.registry = &registry_;
  db_options.retention_time_ms = absl::ToInt64Milliseconds(config_.storage.retention_time);
  db_options.retention_size_bytes = config_.storage.retention_size_bytes;
  db_options.page_cache_bytes = static_cast<size_t>(config_.storage.page_cache_bytes);
  auto start = absl::Now();
  auto db = tsdb::DB::Open(data_dir_->path() + "/metrics", db_options);
  if (!db.ok()) return db.status();
  metrics_db_ = std::move(*db);
  log::Info("metrics engine open", {{"replay", absl::FormatDuration(absl::Now() - start)}});
  memory_limiter_ =
      std::make_unique<pipeline::MemoryLimiter>(config_.limits.memory_limit_bytes, registry_);
  metrics_writer_ = std::make_unique<pipeline::MemoryLimitedWriter>(*metrics_db_, *memory_limiter_);

  auto store = ingest::PushgatewayStore::Open(
      data_dir_->path() + "/" + std::string(ingest::kPushgatewayFileInDataDir), *metrics_writer_);
  if (!store.ok()) return store.status();
  pushgateway_ = std::move(*store);

  ingest::RegisterRemoteWriteRoutes(router_, *metrics_writer_, registry_);
  api::RegisterSeriesApiRoutes(router_, *metrics_db_);
  promql_engine_ = std::make_unique<promql::Engine>(promql::EngineOptions{});
  api::RegisterQueryApiRoutes(router_, *promql_engine_, *metrics_db_);
  std::map<std::string, std::string> flags = {{"config", flags_.config_file},
                                              {"data-dir", config_.storage.data_dir},
                                              {"log-level", config_.server.log_level}};
  flags["http-listen"] = fmt::format("{}", fmt::join(config_.server.http_listen, ","));
  flags["grpc-listen"] = fmt::format("{}", fmt::join(config_.server.grpc_listen, ","));
  api::RegisterStatusApiRoutes(
      router_, {CurrentBuild(), *metrics_db_, start_time_, std::move(flags),
                DurationString(config_.storage.retention_time),
                [this] {
                  std::lock_guard<std::mutex> lock(reload_mu_);
                  return config_.text;
                },
                [this] { return last_reload_ok_.load(); },
                [this] { return absl::FromUnixMillis(last_reload_unix_ms_.load()); }});
  otlp_metrics_ = std::make_unique<ingest::otlp::OtlpMetricsIngester>(
      *metrics_writer_, ingest::otlp::TranslatorOptions{}, &registry_);
  ingest::otlp::RegisterOtlpMetricsHttpRoute(router_, *otlp_metrics_);
  otlp_metrics_grpc_ = ingest::otlp::NewOtlpMetricsGrpcService(*otlp_metrics_);
  grpc_->AddService(otlp_metrics_grpc_.get());
  const BuildInfo& build = CurrentBuild();
  ingest::PushgatewayApiOptions push_options;
  push_options.build_information = {{"version", std::string(build.version)},
                                    {"revision", std::string(build.revision)},
                                    {"branch", std::string(build.branch)},
                                    {"buildDate", std::string(build.build_date)}};
  // Pushed metrics are queryable at once, not only after the next periodic flush.
  push_options.on_change = [this] { FlushPushgateway(); };
  ingest::RegisterPushgatewayRoutes(router_, *pushgateway_, std::move(push_options));
  pushgateway_flusher_ = std::thread([this] { RunPushgatewayFlusher(); });

  readiness_.SetNotReady("replaying the traces WAL");
  tracestore::TraceDBOptions trace_options;
  trace_options.retention_nano = absl::ToInt64Nanoseconds(config_.storage.retention_time);
  trace_options.flush_memory_bytes = static_cast<size_t>(config_.traces.head_max_memory_bytes);
  trace_options.registry = &registry_;
  auto traces = tracestore::TraceDB::Open(data_dir_->path() + "/traces", trace_options);
  if (!traces.ok()) return traces.status();
  trace_db_ = std::move(*traces);
  ORIEL_ASSIGN_OR_RETURN(trace_pipeline_,
                         TracePipeline::Create(config_.traces, *trace_db_, *otlp_metrics_,
                                               *memory_limiter_, registry_));
  otlp_traces_ =
      std::make_unique<ingest::otlp::OtlpTracesIngester>(trace_pipeline_->entry(), &registry_);
  ingest::otlp::RegisterOtlpTracesHttpRoute(router_, *otlp_traces_);
  otlp_traces_grpc_ = ingest::otlp::NewOtlpTracesGrpcService(*otlp_traces_);
  grpc_->AddService(otlp_traces_grpc_.get());
  api::jaeger::DependencySource dependencies;  // default: from the stored spans
  if (config_.traces.service_graph) {
    // From the service graph, flushed first so that a trace just sent is counted.
    dependencies =
        [this](int64_t end,
               int64_t lookback) -> absl::StatusOr<std::vector<tracestore::DependencyLink>> {
      ORIEL_RETURN_IF_ERROR(trace_pipeline_->FlushDerivedMetrics());
      return api::jaeger::DependenciesFromServiceGraph(*metrics_db_, end, lookback);
    };
  }
  api::jaeger::RegisterJaegerRoutes(router_, *trace_db_, {}, std::move(dependencies));
  return absl::OkStatus();
}

void Server::FlushPushgateway() {
  int64_t now_ms = absl::ToUnixMillis(absl::Now());
  auto result = pushgateway_->Flush(now_ms);
  if (!result.ok()) {
    log::Warn("cannot flush pushed metrics to the metrics engine", {{"err", result.status()}});
  }
}

void Server::RunPushgatewayFlusher() {
  std::unique_lock<std::mutex> lock(flusher_mu_);
  while (!stopping_) {
    auto interval = absl::ToChronoNanoseconds(config_.global.scrape_interval);
    if (flusher_cv_.wait_for(lock, interval, [this] { return stopping_; })) break;
    lock.unlock();
    FlushPushgateway();
    lock.lock();
  }
}

void Server::PrintUrls() const {
  std::string out = fmt::format("\nOriel {} is running. Data dir: {}\n", CurrentBuild().version,
                                std::filesystem::absolute(data_dir_->path()).string());
  for (const auto& address : http_->BoundAddresses()) {
    std::string_view role = "Web UI, query APIs, OTLP/HTTP";
    if (address.ends_with(":4318")) role = "OTLP/HTTP (and every other HTTP route)";
    if (address.ends_with(":9090")) role = "Web UI and query APIs";
    out += fmt::format("  {:<40} http://{}/\n", role, address);
  }
  for (const auto& address : grpc_->BoundAddresses()) {
    out += fmt::format("  {:<40} {}\n", "OTLP/gRPC", address);
  }
  out += "Stop with Ctrl-C.\n\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

absl::Status Server::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto next = LoadEffectiveConfig(flags_);
  if (!next.ok()) {
    reload_ok_->Set(0);
    last_reload_ok_ = false;
    log::Error("cannot reload config", {{"err", next.status()}});
    return next.status();
  }
  // Listeners, the data dir and limits are bound at start; say so rather than ignore it.
  if (next->server.http_listen != config_.server.http_listen ||
      next->server.grpc_listen != config_.server.grpc_listen ||
      next->storage.data_dir != config_.storage.data_dir) {
    log::Warn("listen addresses and the data dir change only on restart");
  }
  if (auto level = log::ParseLevel(next->server.log_level); level.ok()) log::SetLevel(*level);
  config_.server.log_level = next->server.log_level;
  config_.text = next->text;
  reload_ok_->Set(1);
  last_reload_ok_ = true;
  last_reload_unix_ms_ = absl::ToUnixMillis(absl::Now());
  reload_time_->Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  log::Info("config reloaded", {{"file", flags_.config_file}});
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (!http_ && !grpc_ && !data_dir_) return;
  {
    std::lock_guard<std::mutex> lock(flusher_mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  readiness_.SetNotReady("shutting down");
  absl::Duration grace = config_.server.shutdown_timeout;
  log::Info("shutting down", {{"grace", absl::FormatDuration(grace)}});
  // gRPC and HTTP drain in parallel so that the whole stop fits in one grace period.
  std::thread grpc_stop([this, grace] {
    if (grpc_) grpc_->Shutdown(grace);
  });
  if (http_) http_->Shutdown(grace);
  grpc_stop.join();
  if (pushgateway_flusher_.joinable()) pushgateway_flusher_.join();
  http_.reset();
  grpc_.reset();
  // Engines close after the servers, so that no handler is still using them.
  pushgateway_.reset();
  otlp_metrics_grpc_.reset();
  otlp_traces_grpc_.reset();
  otlp_traces_.reset();
  trace_pipeline_.reset();  // writes what its stages still hold (tail sampling, span metrics)
  otlp_metrics_.reset();    // after the trace pipeline, whose last span metrics go through it
  trace_db_.reset();
  metrics_writer_.reset();
  memory_limiter_.reset();
  promql_engine_.reset();
  metrics_db_.reset();
  data_dir_.reset();
  log::Info("stopped");
}

}  // namespace oriel::server
