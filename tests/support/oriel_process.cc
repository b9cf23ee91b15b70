#include "oriel_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

namespace oriel::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd, int in_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (in_fd >= 0) dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    // Signals blocked by the test runner's threads must not leak into the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

std::string OrielBinary() {
  const char* env = std::getenv("ORIEL_BINARY");
  return env != nullptr ? env : "./oriel";
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "oriel-test-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::WriteFile(const std::string& name, const std::string& content) const {
  std::string full = path_ + "/" + name;
  std::ofstream(full, std::ios::binary) << content;
  return full;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int out[2], in[2];
  // O_CLOEXEC: a child must not inherit the other ends, or nobody ever sees EOF.
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) return {};
  pid_t pid = Spawn(argv, out[1], in[0]);
  close(out[1]);
  close(in[0]);
  std::thread writer([&] {
    size_t off = 0;
    while (off < stdin_data.size()) {
      ssize_t n = write(in[1], stdin_data.data() + off, stdin_data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(in[1]);
  });
  CommandResult result;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0)
    result.output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

OrielProcess::OrielProcess(Options options) : temp_(std::make_unique<TempDir>()) {
  data_dir_ = options.data_dir.empty() ? temp_->path() + "/data" : options.data_dir;
  std::vector<std::string> argv = {OrielBinary(),   "serve",       "--data-dir",    data_dir_,
                                   "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"};
  if (!options.config_yaml.empty()) {
    config_path_ = temp_->WriteFile("oriel.yml", options.config_yaml);
    argv.push_back("--config");
    argv.push_back(config_path_);
  }
  for (const auto& a : options.args) argv.push_back(a);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return;
  pid_ = Spawn(argv, out[1], -1);
  close(out[1]);
  reader_ = std::thread([this, fd = out[0]] { ReadOutput(fd); });
  if (options.wait_until_listening) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options.start_timeout,
                 [this] { return exited_ || (!http_address_.empty() && !grpc_address_.empty()); });
  }
}

void OrielProcess::ReadOutput(int fd) {
  static const std::regex kListening(R"(msg=listening protocol=(http|grpc) address=(\S+))");
  char buf[4096];
  ssize_t n;
  std::string pending;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    output_.append(buf, static_cast<size_t>(n));
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      std::smatch m;
      if (std::regex_search(line, m, kListening)) {
        // The first listener of each kind is the one tests talk to.
        std::string& slot = m[1] == "http" ? http_address_ : grpc_address_;
        if (slot.empty()) slot = m[2];
      }
    }
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  exited_ = true;
  cv_.notify_all();
}

OrielProcess::~OrielProcess() {
  if (pid_ > 0 && Wait(std::chrono::milliseconds(0)) == -1) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

void OrielProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int OrielProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  if (exit_code_ != -1) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string OrielProcess::Output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return output_;
}

bool OrielProcess::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return output_.find(text) != std::string::npos || exited_;
  }) && output_.find(text) != std::string::npos;
}

int FreeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace oriel::testing
