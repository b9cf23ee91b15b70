// A scrape target: a tiny blocking HTTP/1.1 server on one thread that answers GET /metrics with
// the body its handler renders, in the Prometheus text format 0.0.4. It only serves the benchmark
// harness and a Prometheus-compatible scraper, so one connection at a time, "Connection: close"
// after every answer, requests capped at 16 KiB and 5 s.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"

namespace oriel::loadgen {

class ExporterServer {
 public:
  // Renders the body of one scrape; called on the server thread.
  using Handler = std::function<std::string()>;

  // Listens on `address` ("host:port"; port 0 picks a free one) and serves until destroyed.
  static absl::StatusOr<std::unique_ptr<ExporterServer>> Start(std::string_view address,
                                                               Handler handler);
  ~ExporterServer();  // Stop()
  ExporterServer(const ExporterServer&) = delete;
  ExporterServer& operator=(const ExporterServer&) = delete;

  int port() const { return port_; }
  // GET /metrics answered so far.
  int64_t scrapes() const { return scrapes_.load(); }
  // Closes the listening socket and joins the thread. Idempotent.
  void Stop();

 private:
  ExporterServer(int fd, int port, Handler handler);
  void Serve();
  void HandleConnection(int fd);

  int listen_fd_;
  const int port_;
  const Handler handler_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> scrapes_{0};
  std::thread thread_;
};

}  // namespace oriel::loadgen
