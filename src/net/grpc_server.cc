#include "net/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "fmt/format.h"
#include "net/address.h"

namespace oriel::net {

GrpcServer::GrpcServer(GrpcServerOptions options) : options_(options) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::AddService(grpc::Service* service) { services_.push_back(service); }

absl::Status GrpcServer::Start(const std::vector<std::string>& addresses) {
  grpc::ServerBuilder builder;
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
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(fmt::format("cannot start the gRPC server on {}",
                                              fmt::join(addresses, ", ")));
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
