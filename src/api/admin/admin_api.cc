#include "api/admin/admin_api.h"

#include "base/json.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::api {

void RegisterAdminRoutes(net::Router& router, AdminApi api) {
  router.Handle("GET", "/-/healthy", [](net::HttpRequest&, net::HttpResponse& res) {
    res.SetText(200, "Oriel is Healthy.\n");
  });

  router.Handle("GET", "/-/ready",
                [&readiness = api.readiness](net::HttpRequest&, net::HttpResponse& res) {
                  Readiness::State state = readiness.Get();
                  if (state.ready) {
                    res.SetText(200, "Oriel is Ready.\n");
                  } else {
                    res.headers.Set("Retry-After", "1");
                    res.SetText(503, fmt::format("Oriel is not ready: {}.\n", state.reason));
                  }
                });

  auto reload = [fn = api.reload](net::HttpRequest&, net::HttpResponse& res) {
    if (!fn) {
      res.SetText(403, "Lifecycle API is not enabled (server.enable_lifecycle: false).\n");
      return;
    }
    absl::Status status = fn();
    if (status.ok()) {
      res.SetText(200, "");
    } else {
      res.SetText(500, fmt::format("failed to reload config: {}\n", status.message()));
    }
  };
  router.Handle("POST", "/-/reload", reload);
  router.Handle("PUT", "/-/reload", reload);

  router.Handle(
      "GET", "/api/health",
      [&build = api.build, &readiness = api.readiness](net::HttpRequest&, net::HttpResponse& res) {
        bool ready = readiness.Get().ready;
        res.SetJson(ready ? 200 : 503,
                    fmt::format("{{\"commit\":{},\"database\":\"{}\",\"version\":{}}}",
                                JsonString(build.revision), ready ? "ok" : "failing",
                                JsonString(build.version)));
      });

  router.Handle("GET", "/metrics",
                [&registry = api.registry](net::HttpRequest&, net::HttpResponse& res) {
                  res.SetBody(200, "text/plain; version=0.0.4; charset=utf-8", registry.Expose());
                });
}

}  // namespace oriel::api
