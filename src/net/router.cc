#include "net/router.h"

#include "base/check.h"
#include "net/url.h"

namespace oriel::net {
namespace {

// "/a/b/" -> {"a", "b", ""}: a trailing slash is a distinct, empty last segment.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

void Router::Handle(std::string_view method, std::string_view pattern, HttpHandler handler) {
  ORIEL_CHECK(!pattern.empty() && pattern.front() == '/');
  for (const Route& r : routes_) ORIEL_CHECK(!(r.method == method && r.pattern == pattern));
  Route route{std::string(method), std::string(pattern), {}, std::move(handler)};
  for (std::string_view part : SplitPath(pattern)) {
    Segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      std::string_view name = part.substr(1, part.size() - 2);
      seg.is_param = true;
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        seg.is_rest = true;
        name.remove_suffix(3);
      }
      seg.text = std::string(name);
    } else {
      seg.text = std::string(part);
    }
    ORIEL_CHECK(route.segments.empty() || !route.segments.back().is_rest);
    route.segments.push_back(std::move(seg));
  }
  routes_.push_back(std::move(route));
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& parts, Params* params) {
  params->clear();
  size_t i = 0;
  for (const Segment& seg : route.segments) {
    if (seg.is_rest) {
      // The rest of the path, joined back, decoded per segment by the handler if needed.
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest.push_back('/');
        rest.append(parts[j]);
      }
      params->emplace_back(seg.text, std::move(rest));
      return true;
    }
    if (i >= parts.size()) return false;
    if (seg.is_param) {
      auto decoded = PercentDecode(parts[i], false);
      if (!decoded || parts[i].empty()) return false;
      params->emplace_back(seg.text, std::move(*decoded));
    } else if (seg.text != parts[i]) {
      return false;
    }
    ++i;
  }
  return i == parts.size();
}

std::string_view Router::Dispatch(HttpRequest& request, HttpResponse& response) const {
  std::vector<std::string_view> parts = SplitPath(request.path);
  std::string allowed;
  Params params;
  const Route* best = nullptr;
  int best_score = -1;
  for (const Route& route : routes_) {
    if (!Match(route, parts, &params)) continue;
    bool method_ok =
        route.method == request.method || (route.method == "GET" && request.method == "HEAD");
    if (!method_ok) {
      if (!allowed.empty()) allowed.append(", ");
      allowed.append(route.method);
      continue;
    }
    // The most specific route wins whatever the order of registration: more literal segments,
    // then no rest-of-path parameter.
    int score = 0;
    for (const Segment& seg : route.segments) score += seg.is_param ? 0 : 2;
    if (route.segments.empty() || !route.segments.back().is_rest) score += 1;
    if (score > best_score) {
      best = &route;
      best_score = score;
      request.path_params = params;
    }
  }
  if (best != nullptr) {
    best->handler(request, response);
    return best->pattern;
  }
  if (!allowed.empty()) {
    response.headers.Set("Allow", allowed);
    response.SetText(405, "405 method not allowed: " + request.method + " " + request.path + "\n");
    return "other";
  }
  response.SetText(404, "404 page not found\n");
  return "other";
}

}  // namespace oriel::net
