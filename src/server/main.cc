// The oriel binary: `serve` (the default), `check-config FILE` and `version`.
#include <google/protobuf/stubs/logging.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/build_info.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "server/server.h"

namespace oriel::server {
namespace {

// Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or usage.
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

// libprotobuf logs an ERROR for every hostile body it refuses (e.g. invalid UTF-8 in a string
// field); the decoders already answer 400 with the reason, so keep these at debug level in our
// own log format instead of letting a sender flood stderr.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    log::Error("protobuf", {{"msg", message}, {"at", fmt::format("{}:{}", file, line)}});
    return;
  }
  log::Debug("protobuf", {{"detail", message}});
}

int RunServe(const Flags& flags) {
  auto config = LoadEffectiveConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  log::SetLevel(*log::ParseLevel(config->server.log_level));
  google::protobuf::SetLogHandler(ProtobufLog);

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const BuildInfo& build = CurrentBuild();
  log::Info(
      "starting oriel",
      {{"version", build.version}, {"revision", build.revision}, {"config", flags.config_file}});
  Server server(std::move(*config), flags);
  if (absl::Status s = server.Start(); !s.ok()) {
    log::Error("cannot start", {{"err", s}});
    return kExitRuntime;
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)server.Reload();
      continue;
    }
    log::Info("received signal, stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  // A hung handler must not keep the process alive past its promise to stop.
  absl::Duration deadline = server.config().server.shutdown_timeout + absl::Milliseconds(800);
  std::thread([deadline] {
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(deadline));
    log::Error("shutdown took too long, exiting now");
    std::_Exit(kExitRuntime);
  }).detach();
  server.Shutdown();
  return 0;
}

int RunCheckConfig(const std::string& path) {
  auto config = LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "FAILED: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  std::printf("SUCCESS: %s is valid\n", path.c_str());
  return 0;
}

void PrintVersion() {
  const BuildInfo& b = CurrentBuild();
  std::string out = fmt::format(
      "oriel, version {} (revision: {}, branch: {})\n  build date: {}\n  compiler: {}\n", b.version,
      b.revision, b.branch, b.build_date, b.compiler);
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"Oriel: the whole observability stack in one binary."};
  app.require_subcommand(0, 1);
  Flags flags;
  std::string log_level, data_dir;
  CLI::App* serve = app.add_subcommand("serve", "Run the server (the default).");
  serve->add_option("--config", flags.config_file, "YAML config file")->check(CLI::ExistingFile);
  serve->add_option("--data-dir", data_dir, "Directory for all stored data");
  serve->add_option("--http-listen", flags.http_listen,
                    "HTTP listen address host:port (repeatable; replaces server.http_listen)");
  serve->add_option("--grpc-listen", flags.grpc_listen,
                    "gRPC (OTLP) listen address host:port (repeatable)");
  serve->add_option("--log-level", log_level, "debug, info, warn or error");

  std::string check_path;
  CLI::App* check = app.add_subcommand("check-config", "Validate a config file and exit.");
  check->add_option("file", check_path, "The config file")->required();
  CLI::App* version = app.add_subcommand("version", "Print version, revision and build date.");

  // `oriel` and `oriel --flag ...` mean `oriel serve ...`.
  std::vector<std::string> args(argv + 1, argv + argc);
  bool has_subcommand =
      !args.empty() && (args[0] == "serve" || args[0] == "check-config" || args[0] == "version" ||
                        args[0] == "--help" || args[0] == "-h");
  if (!has_subcommand) args.insert(args.begin(), "serve");
  std::reverse(args.begin(), args.end());  // CLI11 takes them in reverse order
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitConfig;
  }
  if (version->parsed()) {
    PrintVersion();
    return 0;
  }
  if (check->parsed()) return RunCheckConfig(check_path);
  if (!data_dir.empty()) flags.data_dir = data_dir;
  if (!log_level.empty()) flags.log_level = log_level;
  return RunServe(flags);
}

}  // namespace oriel::server

int main(int argc, char** argv) { return oriel::server::Main(argc, argv); }
