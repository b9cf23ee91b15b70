#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace oriel::internal {

void CheckFailed(const char* file, int line, const char* condition) {
  // Plain stdio: the logger itself may be what is broken.
  std::fprintf(stderr, "level=fatal msg=\"check failed\" condition=\"%s\" at=%s:%d\n", condition,
               file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace oriel::internal
