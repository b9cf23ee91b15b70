// Always-on invariant checks. A failed check is a bug in Oriel, never bad input:
// input errors are absl::Status values (see STYLE.md, "Errors").
#pragma once

namespace oriel::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace oriel::internal

#define ORIEL_CHECK(condition) \
  ((condition) ? (void)0 : ::oriel::internal::CheckFailed(__FILE__, __LINE__, #condition))
