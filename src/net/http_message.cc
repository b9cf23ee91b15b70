#include "net/http_message.h"

#include <strings.h>

#include "net/body_buffer_pool.h"
#include "net/url.h"

namespace oriel::net {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view HttpRequest::PathParam(std::string_view name) const {
  auto v = FirstValue(path_params, name);
  return v ? *v : std::string_view();
}

std::optional<std::string_view> HttpRequest::QueryParam(std::string_view name) const {
  return FirstValue(query, name);
}

Params HttpRequest::Form() const {
  Params form = query;
  auto type = headers.Get("Content-Type");
  if (method != "GET" && type && type->substr(0, 33) == "application/x-www-form-urlencoded") {
    for (auto& kv : ParseQueryString(body)) form.push_back(std::move(kv));
  }
  return form;
}

void HttpResponse::SetBody(int status_code, std::string content_type, std::string content) {
  status = status_code;
  headers.Set("Content-Type", std::move(content_type));
  body = std::move(content);
}

std::string HttpResponse::NewBody() const {
  return body_pool != nullptr ? body_pool->Take() : std::string();
}

std::vector<std::string> AllValues(const Params& params, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : params) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::optional<std::string_view> FirstValue(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

}  // namespace oriel::net
