#include "net/address.h"

#include <cctype>
#include <charconv>

#include "fmt/format.h"

namespace oriel::net {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view address) {
  HostPort out;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          fmt::format("invalid address \"{}\": want [ipv6]:port", address));
    }
    out.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          fmt::format("invalid address \"{}\": missing port (want host:port)", address));
    }
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(fmt::format(
          "invalid address \"{}\": an IPv6 host must be in brackets, as [::1]:9090", address));
    }
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid address \"{}\": port \"{}\" is not a number from 0 to 65535", address, port));
  }
  out.port = static_cast<uint16_t>(value);
  for (char c : out.host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
              c == '_' || c == '%';
    if (!ok) {
      return absl::InvalidArgumentError(
          fmt::format("invalid address \"{}\": bad character in host \"{}\"", address, out.host));
    }
  }
  return out;
}

}  // namespace oriel::net
