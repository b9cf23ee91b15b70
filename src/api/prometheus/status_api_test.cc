#include "api/prometheus/status_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tsdb/db.h"

namespace oriel::api {
namespace {

TEST(StatusApiTest, BuildinfoConfigAndTsdbStats) {
  auto dir = std::filesystem::temp_directory_path() / ("oriel-status-api-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto db = tsdb::DB::Open(dir.string(), {});
  ASSERT_TRUE(db.ok());
  model::MetricBatch batch;
  for (const char* job : {"a", "b", "c"}) {
    model::SeriesData s;
    s.labels = model::Labels::FromUnsorted({{"__name__", "up"}, {"job", job}});
    s.samples = {{1000, 1}, {2000, 1}};
    batch.series.push_back(std::move(s));
  }
  ASSERT_TRUE((*db)->Write(std::move(batch)).ok());
  BuildInfo build{"1.2.3", "abc", "main", "2026-11-22T00:00:00Z", "GNU 12"};
  net::Router router;
  RegisterStatusApiRoutes(router, {build, **db, absl::FromUnixSeconds(1700000000), {{"data-dir", "/d"}}, "15d",
                                   [] { return std::string("global: {}\n"); }, [] { return true; },
                                   [] { return absl::FromUnixSeconds(1700000000); }});
  auto get = [&](std::string path) {
    net::HttpRequest req;
    req.method = "GET";
    req.path = std::move(path);
    net::HttpResponse res;
    router.Dispatch(req, res);
    return res.body;
  };
  EXPECT_EQ(get("/api/v1/status/buildinfo"),
            R"({"status":"success","data":{"version":"1.2.3","revision":"abc","branch":"main","buildUser":"oriel","buildDate":"2026-11-22T00:00:00Z","goVersion":"GNU 12"}})");
  EXPECT_EQ(get("/api/v1/status/config"), R"({"status":"success","data":{"yaml":"global: {}\n"}})");
  EXPECT_EQ(get("/api/v1/status/flags"), R"({"status":"success","data":{"data-dir":"/d"}})");
  std::string tsdb = get("/api/v1/status/tsdb");
  EXPECT_NE(tsdb.find(R"("headStats":{"numSeries":3,"numLabelPairs":4,"chunkCount":0,"minTime":1000,"maxTime":2000})"),
            std::string::npos)
      << tsdb;
  EXPECT_NE(tsdb.find(R"("seriesCountByMetricName":[{"name":"up","value":3}])"), std::string::npos);
  std::string runtime = get("/api/v1/status/runtimeinfo");
  EXPECT_NE(runtime.find(R"("startTime":"2023-11-14T22:13:20.000Z")"), std::string::npos) << runtime;
  EXPECT_NE(runtime.find(R"("storageRetention":"15d")"), std::string::npos);
  db->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace oriel::api
