// What this binary is: version, git revision and build date, for `oriel version`, /metrics
// (oriel_build_info) and /api/v1/status/buildinfo. Defined in a file generated at build time
// (see cmake/build_info.cmake) that only the oriel binary links.
#pragma once

#include <string_view>

namespace oriel {

struct BuildInfo {
  std::string_view version;
  std::string_view revision;
  std::string_view branch;
  std::string_view build_date;  // RFC 3339, UTC
  std::string_view compiler;
};

// The build of the running binary.
const BuildInfo& CurrentBuild();

}  // namespace oriel
