#include "ingest/pushgateway/pushgateway_handler.h"

#include <memory>

#include "base/status.h"
#include "ingest/pushgateway/delimited_parser.h"
#include "ingest/pushgateway/pushgateway_json.h"
#include "ingest/pushgateway/text_parser.h"

namespace oriel::ingest {
namespace {

void ErrorText(net::HttpResponse& res, const absl::Status& st) {
  int code = absl::IsInvalidArgument(st) ? 400 : 500;
  res.SetText(code, std::string(st.message()) + "\n");
}

absl::StatusOr<GroupingKey> KeyOf(const net::HttpRequest& req, bool job_base64) {
  return ParseGroupingKey(job_base64, req.PathParam("job"), req.PathParam("labels"));
}

}  // namespace

void RegisterPushgatewayRoutes(net::Router& router, PushgatewayStore& store,
                               PushgatewayApiOptions options) {
  // shared_ptr: the options are shared by the copies of every route's handler.
  auto opts = std::make_shared<const PushgatewayApiOptions>(std::move(options));
  for (bool job_base64 : {false, true}) {
    std::string base = job_base64 ? "/metrics/job@base64/{job}" : "/metrics/job/{job}";
    for (const std::string& pattern : {base, base + "/{labels...}"}) {
      for (const char* method : {"PUT", "POST"}) {
        auto mode = std::string_view(method) == "PUT"
                        ? PushgatewayStore::PushMode::kReplaceGroup
                        : PushgatewayStore::PushMode::kReplaceFamilies;
        router.Handle(
            method, pattern,
            [&store, opts, job_base64, mode](net::HttpRequest& req, net::HttpResponse& res) {
              auto key = KeyOf(req, job_base64);
              if (!key.ok()) return ErrorText(res, key.status());
              auto families = IsDelimitedProtobuf(req.headers.Get("Content-Type").value_or(""))
                                  ? ParseDelimitedFamilies(req.body)
                                  : ParseTextFormat(req.body);
              if (!families.ok()) return ErrorText(res, families.status());
              absl::Status st = store.Push(*key, *std::move(families), mode, opts->now());
              if (!st.ok()) return ErrorText(res, st);
              if (opts->on_change) opts->on_change();
              res.status = 200;
              res.body.clear();
            });
      }
      router.Handle("DELETE", pattern,
                    [&store, job_base64, opts](net::HttpRequest& req, net::HttpResponse& res) {
                      auto key = KeyOf(req, job_base64);
                      if (!key.ok()) return ErrorText(res, key.status());
                      absl::Status st = store.Delete(*key);
                      if (!st.ok()) return ErrorText(res, st);
                      if (opts->on_change) opts->on_change();
                      res.status = 202;
                      res.body.clear();
                    });
    }
  }
  router.Handle("GET", "/api/v1/status", [opts](net::HttpRequest&, net::HttpResponse& res) {
    res.SetJson(200, RenderStatusJson(opts->build_information, opts->flags, opts->start_time));
  });
  router.Handle("GET", "/api/v1/metrics", [&store](net::HttpRequest&, net::HttpResponse& res) {
    res.SetJson(200, RenderMetricsJson(store.Snapshot()));
  });
  router.Handle("PUT", "/api/v1/admin/wipe",
                [&store, opts](net::HttpRequest&, net::HttpResponse& res) {
                  absl::Status st = store.Wipe();
                  if (!st.ok()) return ErrorText(res, st);
                  if (opts->on_change) opts->on_change();
                  res.status = 202;
                  res.body.clear();
                });
}

}  // namespace oriel::ingest
