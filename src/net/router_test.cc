#include "net/router.h"

#include <gtest/gtest.h>

namespace oriel::net {
namespace {

HttpRequest Req(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

TEST(RouterTest, MatchesLiteralParamAndRestRoutes) {
  Router router;
  std::string seen;
  router.Handle("GET", "/api/v1/label/{name}/values", [&](HttpRequest& r, HttpResponse&) {
    seen = "label:" + std::string(r.PathParam("name"));
  });
  router.Handle("PUT", "/metrics/job/{job}/{labels...}", [&](HttpRequest& r, HttpResponse&) {
    seen = "push:" + std::string(r.PathParam("job")) + "|" + std::string(r.PathParam("labels"));
  });
  router.Handle("PUT", "/metrics/job/{job}", [&](HttpRequest& r, HttpResponse&) {
    seen = "push-job:" + std::string(r.PathParam("job"));
  });
  HttpResponse res;
  auto r1 = Req("GET", "/api/v1/label/job%2Fx/values");
  EXPECT_EQ(router.Dispatch(r1, res), "/api/v1/label/{name}/values");
  EXPECT_EQ(seen, "label:job/x");
  auto r2 = Req("PUT", "/metrics/job/batch/instance/a");
  router.Dispatch(r2, res);
  EXPECT_EQ(seen, "push:batch|instance/a");
  auto r3 = Req("PUT", "/metrics/job/batch");
  router.Dispatch(r3, res);
  EXPECT_EQ(seen, "push-job:batch");
}

TEST(RouterTest, AnswersNotFoundAndMethodNotAllowed) {
  Router router;
  router.Handle("POST", "/-/reload",
                [](HttpRequest&, HttpResponse& res) { res.SetText(200, "ok"); });
  router.Handle("PUT", "/-/reload",
                [](HttpRequest&, HttpResponse& res) { res.SetText(200, "ok"); });
  HttpResponse res;
  auto r1 = Req("GET", "/-/reload");
  EXPECT_EQ(router.Dispatch(r1, res), "other");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(*res.headers.Get("allow"), "POST, PUT");
  HttpResponse res2;
  auto r2 = Req("GET", "/nope");
  router.Dispatch(r2, res2);
  EXPECT_EQ(res2.status, 404);
}

TEST(RouterTest, GetRoutesAnswerHead) {
  Router router;
  router.Handle("GET", "/-/healthy",
                [](HttpRequest&, HttpResponse& res) { res.SetText(200, "ok"); });
  HttpResponse res;
  auto r = Req("HEAD", "/-/healthy");
  EXPECT_EQ(router.Dispatch(r, res), "/-/healthy");
  EXPECT_EQ(res.status, 200);
}

TEST(RouterTest, FormMergesQueryAndUrlencodedBody) {
  HttpRequest r = Req("POST", "/api/v1/query");
  r.query = {{"time", "1"}};
  r.headers.Add("Content-Type", "application/x-www-form-urlencoded");
  r.body = "query=sum%28up%29+by+%28job%29&match[]=a";
  Params form = r.Form();
  EXPECT_EQ(*FirstValue(form, "query"), "sum(up) by (job)");
  EXPECT_EQ(*FirstValue(form, "time"), "1");
  EXPECT_EQ(AllValues(form, "match[]").size(), 1u);
}

}  // namespace
}  // namespace oriel::net
