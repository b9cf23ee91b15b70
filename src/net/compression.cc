#include "net/compression.h"

#include <snappy.h>
#include <zlib.h>

#include <cctype>

#include "fmt/format.h"

namespace oriel::net {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

absl::StatusOr<std::string> InflateWithBits(std::string_view in, int window_bits,
                                            size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return absl::InternalError("cannot init zlib");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string msg = zs.msg ? zs.msg : "truncated or corrupt stream";
      inflateEnd(&zs);
      return absl::InvalidArgumentError(fmt::format("cannot decompress body: {}", msg));
    }
    size_t produced = sizeof(buf) - zs.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&zs);
      return absl::ResourceExhaustedError(
          fmt::format("cannot decompress body: it exceeds the limit of {} bytes", max_bytes));
    }
    out.append(buf, produced);
    if (rc == Z_OK && zs.avail_in == 0 && produced == 0) {
      inflateEnd(&zs);
      return absl::InvalidArgumentError("cannot decompress body: unexpected end of stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

ContentCoding ParseContentCoding(std::string_view value) {
  std::string v = Lower(Trim(value));
  if (v.empty() || v == "identity") return ContentCoding::kIdentity;
  if (v == "gzip" || v == "x-gzip") return ContentCoding::kGzip;
  if (v == "deflate") return ContentCoding::kDeflate;
  if (v == "snappy") return ContentCoding::kSnappy;
  return ContentCoding::kUnsupported;
}

absl::StatusOr<std::string> Inflate(std::string_view in, ContentCoding coding, size_t max_bytes) {
  if (coding == ContentCoding::kGzip) return InflateWithBits(in, 16 + MAX_WBITS, max_bytes);
  // "deflate" means zlib-wrapped in HTTP, but some clients send raw deflate: try both.
  auto zlib = InflateWithBits(in, MAX_WBITS, max_bytes);
  if (zlib.ok() || absl::IsResourceExhausted(zlib.status())) return zlib;
  return InflateWithBits(in, -MAX_WBITS, max_bytes);
}

absl::StatusOr<std::string> SnappyDecode(std::string_view in, size_t max_bytes) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &length)) {
    return absl::InvalidArgumentError("cannot decode snappy body: corrupt length header");
  }
  if (length > max_bytes) {
    return absl::ResourceExhaustedError(fmt::format(
        "cannot decode snappy body: {} bytes exceed the limit of {} bytes", length, max_bytes));
  }
  std::string out;
  if (!snappy::Uncompress(in.data(), in.size(), &out)) {
    return absl::InvalidArgumentError("cannot decode snappy body: corrupt data");
  }
  return out;
}

std::string SnappyEncode(std::string_view in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = Trim(accept_encoding.substr(0, comma));
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = Lower(Trim(item.substr(0, semi)));
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string params = Lower(item.substr(semi + 1));
    size_t q = params.find("q=");
    if (q == std::string::npos) return true;
    return std::strtod(params.c_str() + q + 2, nullptr) > 0;
  }
  return false;
}

}  // namespace oriel::net
