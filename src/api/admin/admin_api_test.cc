#include "api/admin/admin_api.h"

#include <gtest/gtest.h>

namespace oriel::api {
namespace {

class AdminApiTest : public ::testing::Test {
 protected:
  net::HttpResponse Call(std::string method, std::string path) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }
  BuildInfo build_{"1.2.3", "abc123", "main", "2026-11-22T00:00:00Z", "g++"};
  metrics::Registry registry_;
  Readiness readiness_;
  net::Router router_;
};

TEST_F(AdminApiTest, ReadinessFollowsStateWithReason) {
  RegisterAdminRoutes(router_, {build_, registry_, readiness_, nullptr});
  readiness_.SetNotReady("replaying WAL");
  auto not_ready = Call("GET", "/-/ready");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("replaying WAL"), std::string::npos);
  auto health = Call("GET", "/api/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.body, R"({"commit":"abc123","database":"failing","version":"1.2.3"})");
  readiness_.SetReady();
  EXPECT_EQ(Call("GET", "/-/ready").status, 200);
  EXPECT_EQ(Call("GET", "/api/health").body,
            R"({"commit":"abc123","database":"ok","version":"1.2.3"})");
  EXPECT_EQ(Call("GET", "/-/healthy").status, 200);
}

TEST_F(AdminApiTest, ReloadReportsFailureAndDisabledLifecycle) {
  int calls = 0;
  RegisterAdminRoutes(router_, {build_, registry_, readiness_, [&] {
                                  ++calls;
                                  return calls == 1 ? absl::OkStatus()
                                                    : absl::InvalidArgumentError("bad key");
                                }});
  EXPECT_EQ(Call("POST", "/-/reload").status, 200);
  auto failed = Call("PUT", "/-/reload");
  EXPECT_EQ(failed.status, 500);
  EXPECT_NE(failed.body.find("bad key"), std::string::npos);
  EXPECT_EQ(Call("GET", "/-/reload").status, 405);

  net::Router disabled;
  RegisterAdminRoutes(disabled, {build_, registry_, readiness_, nullptr});
  net::HttpRequest req;
  req.method = "POST";
  req.path = "/-/reload";
  net::HttpResponse res;
  disabled.Dispatch(req, res);
  EXPECT_EQ(res.status, 403);
}

TEST_F(AdminApiTest, MetricsUsesTextFormat) {
  registry_.AddCounter("oriel_test_things_total", "Things.").Inc(3);
  RegisterAdminRoutes(router_, {build_, registry_, readiness_, nullptr});
  auto res = Call("GET", "/metrics");
  EXPECT_EQ(*res.headers.Get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body.find("oriel_test_things_total 3"), std::string::npos) << res.body;
}

TEST_F(AdminApiTest, CompactTsdbAnswersNoContentOrTheError) {
  std::vector<absl::Status> results = {absl::OkStatus(), absl::UnavailableError("disk full"),
                                       absl::FailedPreconditionError("no data directory"),
                                       absl::DataLossError("block corrupt")};
  size_t calls = 0;
  AdminApi api{build_, registry_, readiness_, nullptr};
  api.compact_tsdb = [&] { return results[calls++]; };
  RegisterAdminRoutes(router_, api);
  auto ok = Call("POST", "/api/v1/admin/tsdb/compact");
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.body, "");
  auto full = Call("PUT", "/api/v1/admin/tsdb/compact");
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.body,
            R"({"status":"error","errorType":"unavailable","error":"cannot compact: disk full"})");
  EXPECT_EQ(Call("POST", "/api/v1/admin/tsdb/compact").status, 400);
  auto corrupt = Call("POST", "/api/v1/admin/tsdb/compact");
  EXPECT_EQ(corrupt.status, 500);
  EXPECT_NE(corrupt.body.find("block corrupt"), std::string::npos) << corrupt.body;
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(Call("GET", "/api/v1/admin/tsdb/compact").status, 405);

  net::Router disabled;
  RegisterAdminRoutes(disabled, {build_, registry_, readiness_, nullptr});
  net::HttpRequest req;
  req.method = "POST";
  req.path = "/api/v1/admin/tsdb/compact";
  net::HttpResponse res;
  disabled.Dispatch(req, res);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body,
            R"({"status":"error","errorType":"unavailable","error":"admin APIs disabled"})");
  EXPECT_EQ(calls, 4u);
}

TEST_F(AdminApiTest, FlushTracesAnswersNoContentOrTheError) {
  std::vector<absl::Status> results = {absl::OkStatus(), absl::UnavailableError("wal poisoned")};
  size_t calls = 0;
  AdminApi api{build_, registry_, readiness_, nullptr};
  api.flush_traces = [&] { return results[calls++]; };
  RegisterAdminRoutes(router_, api);
  EXPECT_EQ(Call("POST", "/api/v1/admin/traces/flush").status, 204);
  auto failed = Call("PUT", "/api/v1/admin/traces/flush");
  EXPECT_EQ(failed.status, 503);
  EXPECT_NE(failed.body.find("cannot flush traces: wal poisoned"), std::string::npos)
      << failed.body;
  EXPECT_EQ(calls, 2u);
  // Without a trace engine behind it, like the other admin actions.
  EXPECT_EQ(Call("POST", "/api/v1/admin/tsdb/compact").status, 503);
}

}  // namespace
}  // namespace oriel::api
