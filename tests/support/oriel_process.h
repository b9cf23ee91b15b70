// Starts the real oriel binary on free ports with a temporary data dir, for end-to-end tests,
// and stops it (SIGKILL at the latest, from the destructor).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oriel::testing {

// Where the binary is: $ORIEL_BINARY (set by ctest), else ./oriel.
std::string OrielBinary();

// A port the kernel just handed out on 127.0.0.1 (and that was released), for a peer process to
// bind right away; 0 if none could be had.
int FreeTcpPort();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string WriteFile(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Runs a command to completion, capturing its output (stdout and stderr merged).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

class OrielProcess {
 public:
  struct Options {
    std::string config_yaml;           // written to a file and passed with --config when set
    std::vector<std::string> args;     // extra serve flags
    std::string data_dir;              // default: a fresh temp dir
    bool wait_until_listening = true;  // wait for the HTTP and gRPC "listening" log lines
    std::chrono::seconds start_timeout{20};
  };

  explicit OrielProcess(Options options);
  ~OrielProcess();

  // True once both listeners logged their bound addresses (false if the process exited).
  bool listening() const { return !http_address_.empty() && !grpc_address_.empty(); }
  std::string http_url() const { return "http://" + http_address_; }
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  pid_t pid() const { return pid_; }

  void Signal(int sig);
  // Waits for exit; returns the exit code, 128+signal if killed, or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  // Everything the process wrote to stderr and stdout so far.
  std::string Output() const;
  // Waits until the output contains `text`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  void ReadOutput(int fd);

  std::unique_ptr<TempDir> temp_;
  std::string data_dir_;
  std::string config_path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  bool exited_ = false;
  std::string http_address_;
  std::string grpc_address_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string output_;
  std::thread reader_;
};

}  // namespace oriel::testing
