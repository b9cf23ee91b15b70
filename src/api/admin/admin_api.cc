#include "api/admin/admin_api.h"

#include "base/json.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::api {
namespace {

// Prometheus' API error envelope.
void SetApiError(net::HttpResponse& res, int code, std::string_view type, std::string_view error) {
  res.SetJson(code, fmt::format(R"({{"status":"error","errorType":{},"error":{}}})",
                                JsonString(type), JsonString(error)));
}

}  // namespace

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

  // Both storage actions answer 204 when done, and Prometheus' error JSON otherwise.
  auto storage_action = [](std::function<absl::Status()> fn, std::string_view verb) {
    return [fn = std::move(fn), verb](net::HttpRequest&, net::HttpResponse& res) {
      if (!fn) {
        SetApiError(res, 503, "unavailable", "admin APIs disabled");
        return;
      }
      absl::Status status = fn();
      if (status.ok()) {
        res.status = 204;  // no body, so no Content-Type either
        res.body.clear();
      } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
        SetApiError(res, 400, "bad_data", fmt::format("cannot {}: {}", verb, status.message()));
      } else if (status.code() == absl::StatusCode::kUnavailable) {
        SetApiError(res, 503, "unavailable", fmt::format("cannot {}: {}", verb, status.message()));
      } else {
        SetApiError(res, 500, "internal", fmt::format("cannot {}: {}", verb, status.message()));
      }
    };
  };
  auto compact = storage_action(api.compact_tsdb, "compact");
  router.Handle("POST", "/api/v1/admin/tsdb/compact", compact);
  router.Handle("PUT", "/api/v1/admin/tsdb/compact", compact);
  auto flush = storage_action(api.flush_traces, "flush traces");
  router.Handle("POST", "/api/v1/admin/traces/flush", flush);
  router.Handle("PUT", "/api/v1/admin/traces/flush", flush);

  router.Handle("GET", "/metrics",
                [&registry = api.registry](net::HttpRequest&, net::HttpResponse& res) {
                  res.SetBody(200, "text/plain; version=0.0.4; charset=utf-8", registry.Expose());
                });
}

}  // namespace oriel::api
