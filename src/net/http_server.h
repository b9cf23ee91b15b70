// The HTTP/1.1 server every HTTP listener runs (Boost.Beast underneath, hidden here):
// keep-alive, gzip/deflate request bodies, gzip responses when asked, body and header limits
// (413/431), slow-client timeouts, overload answers (503), and graceful shutdown.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/router.h"

namespace oriel::metrics {
class Registry;
}

namespace oriel::net {

struct HttpServerOptions {
  size_t max_body_bytes = 32 << 20;                // a body as received (413 past it)
  size_t max_decompressed_body_bytes = 128 << 20;  // after undoing gzip/deflate (413 past it)
  size_t max_header_bytes = 64 << 10;              // request line and headers (431 past it)
  size_t max_inflight_requests = 1024;             // 503 past it
  absl::Duration idle_timeout = absl::Minutes(2);  // waiting for (and reading) a request header
  absl::Duration read_timeout = absl::Minutes(1);  // reading a request body
  absl::Duration write_timeout = absl::Minutes(1);
  int io_threads = 0;      // 0: one per core
  int worker_threads = 0;  // handler threads; 0: four per core
  size_t gzip_min_bytes = 1024;
};

class HttpServer {
 public:
  // `router` and `registry` must outlive the server. Registers the oriel_http_* metrics.
  HttpServer(const Router& router, HttpServerOptions options, metrics::Registry& registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds a listener ("host:port"; port 0 picks a free one). Call before Start().
  [[nodiscard]] absl::Status Listen(std::string_view address);
  // The bound "host:port" of every listener, in Listen() order.
  std::vector<std::string> BoundAddresses() const;

  // Starts accepting on every listener, on background threads.
  void Start();

  // Stops accepting, closes idle connections, lets in-flight requests finish for at most
  // `grace`, then closes the rest. Idempotent; blocks until the threads have stopped.
  void Shutdown(absl::Duration grace);

  class Impl;  // opaque; public only so that the connection class in the .cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace oriel::net
