// A small blocking HTTP client for tests (libcurl), so that tests speak real HTTP to the server.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oriel::testing {

struct HttpResult {
  int status = 0;  // 0 when the request failed at the transport level
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool decode_gzip = false;  // let curl undo Content-Encoding (sends Accept-Encoding)
  long timeout_ms = 10000;
};

HttpResult Fetch(const HttpCall& call);

// Percent-encodes everything but RFC 3986's unreserved characters (for query parameters).
std::string UrlEncode(std::string_view s);

inline HttpResult Get(const std::string& url) { return Fetch({.url = url}); }
inline HttpResult Post(const std::string& url, std::string body,
                       std::vector<std::string> headers = {}) {
  return Fetch(
      {.method = "POST", .url = url, .headers = std::move(headers), .body = std::move(body)});
}

}  // namespace oriel::testing
