// Fuzzes the config parser: any bytes must give a Config or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = oriel::server::ParseConfig(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yml");
  (void)config;
  return 0;
}
