// Status propagation macros shared by every layer: the only macros besides checks and logging.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ORIEL_INTERNAL_CONCAT_(a, b) a##b
#define ORIEL_INTERNAL_CONCAT(a, b) ORIEL_INTERNAL_CONCAT_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define ORIEL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status oriel_status_ = (expr);         \
    if (!oriel_status_.ok()) return oriel_status_; \
  } while (0)

// `lhs` = the value of `rexpr` (an absl::StatusOr<T>), or returns its error.
#define ORIEL_ASSIGN_OR_RETURN(lhs, rexpr) \
  ORIEL_INTERNAL_ASSIGN_OR_RETURN(ORIEL_INTERNAL_CONCAT(oriel_statusor_, __LINE__), lhs, rexpr)

#define ORIEL_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();         \
  lhs = std::move(tmp).value()

#include "fmt/format.h"

// Debian's Abseil has its own string_view type (not std::string_view), which is what
// Status::message() returns: let fmt print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  auto format(absl::string_view s, format_context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};
