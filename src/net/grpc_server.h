// The gRPC server for the OTLP services (gRPC C++ underneath; its headers stay in the .cc and in
// the service glue that registers services here).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace grpc {
class Service;
class Server;
}  // namespace grpc

namespace oriel::net {

struct GrpcServerOptions {
  int max_receive_message_bytes = 16 << 20;
  // Threads kept waiting for calls to the synchronous services between bursts of calls. gRPC
  // starts a thread for a call that finds none waiting and ends the threads past this count
  // when they go idle; with its default (2), concurrent exporters made it create and destroy a
  // thread for most calls.
  int max_polling_threads = 16;
};

class GrpcServer {
 public:
  explicit GrpcServer(GrpcServerOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Registers a service; `service` is not owned and must outlive the server. Before Start().
  void AddService(grpc::Service* service);

  // Binds `addresses` ("host:port"; port 0 picks a free one) and starts serving.
  [[nodiscard]] absl::Status Start(const std::vector<std::string>& addresses);
  // The bound "host:port" of every address, in Start() order.
  const std::vector<std::string>& BoundAddresses() const { return bound_; }

  // Stops accepting; in-flight calls get up to `grace` to finish. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  class UnknownMethods;
  GrpcServerOptions options_;
  std::unique_ptr<UnknownMethods> unknown_methods_holder_;
  UnknownMethods& unknown_methods_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> bound_;
};

}  // namespace oriel::net
