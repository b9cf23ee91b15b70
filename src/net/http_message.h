// Plain HTTP request and response types shared by the server, the router and every handler.
// They carry no Boost.Beast types so that handlers compile without Beast headers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oriel::net {

class BodyBufferPool;

// An ordered list of header fields; names compare case-insensitively.
class Headers {
 public:
  void Add(std::string name, std::string value);
  // Replaces every field called `name` by one with `value`.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  // The first value of `name`, if any.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // the raw request target, e.g. "/api/v1/query?query=up"
  std::string path;    // the target without its query string, still percent-encoded
  Params query;        // decoded query-string parameters, in order
  Headers headers;
  // The body after the server undid gzip/deflate Content-Encoding; other encodings (e.g. snappy)
  // are left for the handler and stay in the Content-Encoding header.
  std::string body;
  size_t wire_body_bytes = 0;  // body size as received, before decompression
  std::string remote_address;
  Params path_params;  // filled by the router from `{name}` segments, decoded

  // The path parameter `name` ("" when absent).
  std::string_view PathParam(std::string_view name) const;
  // The first query parameter `name`, if present.
  std::optional<std::string_view> QueryParam(std::string_view name) const;
  // Query parameters plus, for application/x-www-form-urlencoded bodies, the form fields
  // (like Go's Request.Form), so that GET and form POST are handled alike.
  Params Form() const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;

  void SetBody(int status_code, std::string content_type, std::string content);
  void SetText(int status_code, std::string text) {
    SetBody(status_code, "text/plain; charset=utf-8", std::move(text));
  }
  void SetJson(int status_code, std::string json) {
    SetBody(status_code, "application/json", std::move(json));
  }

  // An empty string to build a large body in, with capacity kept from an earlier answer when the
  // server has one (its pages are already mapped); pass it back with SetBody/SetJson.
  std::string NewBody() const;

  // Set by the server (may be null): where NewBody() takes buffers from.
  BodyBufferPool* body_pool = nullptr;
};

// Handlers run on a worker thread, never on the network threads, and may block.
using HttpHandler = std::function<void(HttpRequest& request, HttpResponse& response)>;

// Values of every parameter called `name`, in order (e.g. `match[]`).
std::vector<std::string> AllValues(const Params& params, std::string_view name);
// The first value of `name`, if any.
std::optional<std::string_view> FirstValue(const Params& params, std::string_view name);

}  // namespace oriel::net
