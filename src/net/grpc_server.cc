#include "net/grpc_server.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "fmt/format.h"
#include "net/address.h"

namespace oriel::net {

// Answers every call to an unregistered method with UNIMPLEMENTED, naming the method.
class GrpcServer::UnknownMethods : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& method) {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            fmt::format("unknown method {}", method)));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(ctx->method());
  }
};

GrpcServer::GrpcServer(GrpcServerOptions options)
    : options_(options),
      unknown_methods_holder_(std::make_unique<UnknownMethods>()),
      unknown_methods_(*unknown_methods_holder_) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::AddService(grpc::Service* service) { services_.push_back(service); }

absl::Status GrpcServer::Start(const std::vector<std::string>& addresses) {
  // The standard grpc.health.v1 service, so that load balancers and grpc_health_probe can check us.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // Calls to methods nobody registered get UNIMPLEMENTED from this fallback; it also makes the
  // server a callback server, which needs no completion queue of ours to poll.
  builder.RegisterCallbackGenericService(&unknown_methods_);
  std::vector<std::unique_ptr<int>> ports;
  std::vector<HostPort> parsed;
  for (const std::string& address : addresses) {
    auto hp = ParseHostPort(address);
    if (!hp.ok()) return hp.status();
    if (hp->host.empty()) hp->host = "0.0.0.0";
    ports.push_back(std::make_unique<int>(0));
    builder.AddListeningPort(hp->ToString(), grpc::InsecureServerCredentials(), ports.back().get());
    parsed.push_back(*hp);
  }
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options_.max_polling_threads);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(
        fmt::format("cannot start the gRPC server on {}", fmt::join(addresses, ", ")));
  }
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (*ports[i] == 0) {
      server_->Shutdown();
      server_.reset();
      return absl::UnavailableError(
          fmt::format("cannot listen on \"{}\" for gRPC (address in use?)", addresses[i]));
    }
    parsed[i].port = static_cast<uint16_t>(*ports[i]);
    bound_.push_back(parsed[i].ToString());
  }
  return absl::OkStatus();
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace oriel::net
