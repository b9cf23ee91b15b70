// Maps (method, path) to handlers. Patterns are literal segments plus `{name}` (one segment) and
// a final `{name...}` (the rest of the path, possibly empty). Routes are added before the server
// starts; Dispatch is then safe to call from many threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/http_message.h"

namespace oriel::net {

class Router {
 public:
  // Registers `handler` for `method` ("GET", "POST", ...) on `pattern`. A GET route also
  // answers HEAD. Registering the same method and pattern twice is a bug.
  void Handle(std::string_view method, std::string_view pattern, HttpHandler handler);

  // Finds the route for `request`, fills its path parameters and runs the handler.
  // Answers 404 for an unknown path and 405 (with Allow) for a known path and another method.
  // Returns the matched pattern (for metrics), or "other" when no route matched.
  std::string_view Dispatch(HttpRequest& request, HttpResponse& response) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool is_param = false;
    bool is_rest = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    HttpHandler handler;
  };

  static bool Match(const Route& route, const std::vector<std::string_view>& parts, Params* params);

  std::vector<Route> routes_;
};

}  // namespace oriel::net
