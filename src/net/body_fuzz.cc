// Fuzzes the request-body decoders and the query-string parser with hostile bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/compression.h"
#include "net/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)oriel::net::Inflate(in, oriel::net::ContentCoding::kGzip, 1 << 20);
  (void)oriel::net::Inflate(in, oriel::net::ContentCoding::kDeflate, 1 << 20);
  (void)oriel::net::SnappyDecode(in, 1 << 20);
  (void)oriel::net::ParseQueryString(in);
  (void)oriel::net::PercentDecode(in, true);
  return 0;
}
