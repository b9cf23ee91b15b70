// Body codecs for HTTP: gzip/deflate (zlib) and snappy block format. Decoders take a size limit
// so that a small hostile body cannot expand without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::net {

enum class ContentCoding { kIdentity, kGzip, kDeflate, kSnappy, kUnsupported };

// Parses a Content-Encoding value ("gzip", "x-gzip", "deflate", "snappy", "identity", "").
ContentCoding ParseContentCoding(std::string_view value);

// Decompresses gzip or zlib-wrapped deflate (raw deflate is accepted too, as browsers send it).
// Fails with kInvalidArgument on corrupt input and kResourceExhausted past `max_bytes`.
[[nodiscard]] absl::StatusOr<std::string> Inflate(std::string_view in, ContentCoding coding,
                                                  size_t max_bytes);

// Decompresses the snappy block format (used by remote_write and Loki push).
[[nodiscard]] absl::StatusOr<std::string> SnappyDecode(std::string_view in, size_t max_bytes);
std::string SnappyEncode(std::string_view in);

// Compresses with gzip at a fast level.
std::string Gzip(std::string_view in);

// Whether an Accept-Encoding value allows gzip (present and not q=0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace oriel::net
