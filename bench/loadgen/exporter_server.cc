#include "loadgen/exporter_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "loadgen/exposition.h"

namespace oriel::loadgen {
namespace {

constexpr size_t kMaxRequestBytes = 16 * 1024;

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away; nothing to tell it
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Response(int code, std::string_view reason, std::string_view content_type,
                     std::string_view body, bool head) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, reason, content_type, body.size(), head ? std::string_view() : body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExporterServer>> ExporterServer::Start(std::string_view address,
                                                                      Handler handler) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse exporter address \"{}\": want host:port", address));
  }
  std::string host(address.substr(0, colon));
  const std::string port(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        fmt::format("cannot resolve exporter address \"{}\": {}", address, gai_strerror(rc)));
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return absl::InternalError(fmt::format("cannot create socket: {}", std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = ::bind(fd, found->ai_addr, found->ai_addrlen) == 0;
  const int bind_errno = errno;
  ::freeaddrinfo(found);
  if (!bound || ::listen(fd, 64) != 0) {
    const int err = bound ? errno : bind_errno;
    ::close(fd);
    return absl::UnavailableError(
        fmt::format("cannot listen on \"{}\": {}", address, std::strerror(err)));
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  const int bound_port = local.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port)
                             : ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  return std::unique_ptr<ExporterServer>(new ExporterServer(fd, bound_port, std::move(handler)));
}

ExporterServer::ExporterServer(int fd, int port, Handler handler)
    : listen_fd_(fd), port_(port), handler_(std::move(handler)) {
  thread_ = std::thread([this] { Serve(); });
}

ExporterServer::~ExporterServer() { Stop(); }

void ExporterServer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void ExporterServer::Serve() {
  while (!stop_.load()) {
    // Polling with a timeout lets Stop() end the loop without closing the socket under accept().
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    ::close(fd);
  }
}

void ExporterServer::HandleConnection(int fd) {
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > kMaxRequestBytes) {
      WriteAll(fd, Response(431, "Request Header Fields Too Large", "text/plain",
                            "request headers over 16 KiB\n", false));
      return;
    }
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or timed out before a full request
    request.append(buf, static_cast<size_t>(n));
  }
  // Request line: METHOD SP target SP version.
  const std::string_view line(request.data(), request.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    WriteAll(fd, Response(400, "Bad Request", "text/plain", "cannot parse request line\n", false));
    return;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") {
    WriteAll(fd, Response(404, "Not Found", "text/plain", "only /metrics is served\n", false));
    return;
  }
  if (method != "GET" && method != "HEAD") {
    WriteAll(fd, Response(405, "Method Not Allowed", "text/plain", "use GET\n", false));
    return;
  }
  const std::string body = handler_();
  WriteAll(fd, Response(200, "OK", kExpositionContentType, body, method == "HEAD"));
  if (method == "GET") scrapes_.fetch_add(1);
}

}  // namespace oriel::loadgen
