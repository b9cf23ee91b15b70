// Listen addresses in the forms Prometheus and Go accept: "host:port", "[v6]:port", ":port".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::net {

struct HostPort {
  std::string host;  // "" means every interface
  uint16_t port = 0;
  // "host:port", with brackets around IPv6 hosts.
  std::string ToString() const;
};

// Parses and validates an address; the port is required (0 picks a free one).
[[nodiscard]] absl::StatusOr<HostPort> ParseHostPort(std::string_view address);

}  // namespace oriel::net
