// std::string_view as absl::string_view. Debian's absl has its own string_view type, and hashes a
// std::string_view with std::hash, which is slower than absl's hash: hashed keys go through this.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace oriel::base {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace oriel::base
