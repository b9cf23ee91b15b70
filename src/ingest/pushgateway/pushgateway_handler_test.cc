#include "ingest/pushgateway/pushgateway_handler.h"

#include <gtest/gtest.h>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "ingest/pushgateway/pushgateway_json.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

class NullWriter : public tsdb::MetricsWriter {
 public:
  absl::StatusOr<tsdb::WriteResult> Write(model::MetricBatch) override {
    return tsdb::WriteResult{};
  }
};

class PushgatewayHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *PushgatewayStore::Open("", writer_);
    PushgatewayApiOptions options;
    options.build_information = {{"version", "0.1.0"}};
    options.start_time = absl::FromUnixSeconds(1700000000);
    options.now = [this] { return now_; };
    RegisterPushgatewayRoutes(router_, *store_, options);
  }

  net::HttpResponse Call(std::string method, std::string path, std::string body = "",
                         std::string content_type = "") {
    net::HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    net::HttpResponse res;
    router_.Dispatch(req, res);
    return res;
  }

  NullWriter writer_;
  std::unique_ptr<PushgatewayStore> store_;
  absl::Time now_ = absl::FromUnixNanos(1795312047703517240);
  net::Router router_;
};

TEST_F(PushgatewayHandlerTest, PushDeleteAndStatusCodes) {
  EXPECT_EQ(Call("PUT", "/metrics/job/a", "x 1\n").status, 200);
  EXPECT_EQ(Call("POST", "/metrics/job/a/instance/i1", "x 1\n").status, 200);
  EXPECT_EQ(Call("PUT", "/metrics/job/a/", "y 1\n").status, 200);  // same group as /job/a
  EXPECT_EQ(Call("PUT", "/metrics/job@base64/YWJj/l@base64/=", "x 1\n").status, 200);
  auto groups = store_->Snapshot();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_TRUE(groups.count(GroupingKey{{"job", "abc"}, {"l", ""}}));
  EXPECT_EQ(groups.at(GroupingKey{{"job", "a"}}).families.count("x"), 0u);

  auto res = Call("PUT", "/metrics/job/a/odd", "x 1\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "odd number of components in label string \"/odd\"\n");
  res = Call("PUT", "/metrics/job/a", "x{a=\"1\" 1\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "text format parsing error in line 1: unexpected end of label value \"1\"\n");
  res = Call("PUT", "/metrics/job/a", "x 1 1234\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body,
            "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must "
            "not have timestamps\n");
  EXPECT_EQ(Call("DELETE", "/metrics/job/a/instance/i1").status, 202);
  EXPECT_EQ(Call("DELETE", "/metrics/job/never").status, 202);
  EXPECT_EQ(store_->Snapshot().size(), 2u);
  EXPECT_EQ(Call("GET", "/metrics/job/a").status, 405);
  EXPECT_EQ(Call("PUT", "/api/v1/admin/wipe").status, 202);
  EXPECT_TRUE(store_->Snapshot().empty());
}

TEST_F(PushgatewayHandlerTest, DelimitedProtobufBody) {
  std::string body;
  {
    google::protobuf::io::StringOutputStream stream(&body);
    google::protobuf::io::CodedOutputStream out(&stream);
    for (const char* name : {"pc", "pg"}) {
      pb::MetricFamily mf;
      mf.set_name(name);
      mf.set_type(std::string_view(name) == "pc" ? pb::COUNTER : pb::GAUGE);
      auto* m = mf.add_metric();
      if (mf.type() == pb::COUNTER) {
        m->mutable_counter()->set_value(3);
      } else {
        m->mutable_gauge()->set_value(4);
      }
      std::string bytes = mf.SerializeAsString();
      out.WriteVarint32(static_cast<uint32_t>(bytes.size()));
      out.WriteString(bytes);
    }
  }
  const std::string ct =
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
      "encoding=delimited";
  auto res = Call("PUT", "/metrics/job/p", body, ct);
  EXPECT_EQ(res.status, 200) << res.body;
  PushGroups groups = store_->Snapshot();
  const auto& g = groups.at(GroupingKey{{"job", "p"}});
  ASSERT_EQ(g.families.size(), 2u);
  EXPECT_EQ(g.families.at("pc").family.metric(0).counter().value(), 3);
  // Truncated: 400 naming the offset. Without the protobuf Content-Type: parsed as text.
  res = Call("PUT", "/metrics/job/p", body.substr(0, body.size() - 1), ct);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("byte offset"), std::string::npos) << res.body;
  EXPECT_EQ(Call("PUT", "/metrics/job/p", body).status, 400);
}

TEST_F(PushgatewayHandlerTest, MetricsJsonHasThePushgatewayShape) {
  ASSERT_EQ(Call("PUT", "/metrics/job/t",
                 "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\n"
                 "h_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
                 "# HELP g <b>\n# TYPE g gauge\ng{a=\"q\"} 5\n")
                .status,
            200);
  auto res = Call("GET", "/api/v1/metrics");
  EXPECT_EQ(res.status, 200);
  const std::string ts = "\"time_stamp\":\"2026-11-22T01:47:27.70351724Z\"";
  const std::string want =
      "{\"status\":\"success\",\"data\":[{"
      "\"g\":{" +
      ts +
      ",\"type\":\"GAUGE\",\"help\":\"\\u003cb\\u003e\",\"metrics\":["
      "{\"labels\":{\"a\":\"q\",\"instance\":\"\",\"job\":\"t\"},\"value\":\"5\"}]},"
      "\"h\":{" +
      ts +
      ",\"type\":\"HISTOGRAM\",\"metrics\":["
      "{\"buckets\":{\"+Inf\":\"2\",\"1\":\"1\"},\"count\":\"2\","
      "\"labels\":{\"instance\":\"\",\"job\":\"t\"},\"sum\":\"3\"}]},"
      "\"labels\":{\"job\":\"t\"},\"last_push_successful\":true,"
      "\"push_failure_time_seconds\":{" +
      ts +
      ",\"type\":\"GAUGE\","
      "\"help\":\"Last Unix time when changing this group in the Pushgateway failed.\","
      "\"metrics\":[{\"labels\":{\"instance\":\"\",\"job\":\"t\"},\"value\":\"0\"}]},"
      "\"push_time_seconds\":{" +
      ts +
      ",\"type\":\"GAUGE\","
      "\"help\":\"Last Unix time when changing this group in the Pushgateway succeeded.\","
      "\"metrics\":[{\"labels\":{\"instance\":\"\",\"job\":\"t\"},"
      "\"value\":\"1.7953120477035172e+09\"}]},"
      "\"s\":{" +
      ts +
      ",\"type\":\"SUMMARY\",\"metrics\":["
      "{\"count\":\"3\",\"labels\":{\"instance\":\"\",\"job\":\"t\"},"
      "\"quantiles\":{\"0.5\":\"1\"},\"sum\":\"2\"}]}}]}";
  EXPECT_EQ(res.body, want);

  auto status = Call("GET", "/api/v1/status");
  EXPECT_EQ(status.body,
            "{\"status\":\"success\",\"data\":{\"build_information\":{\"version\":\"0.1.0\"},"
            "\"flags\":{},\"start_time\":\"2023-11-14T22:13:20Z\"}}");
}

TEST(GoFloatStringTest, MatchesGoFormatting) {
  EXPECT_EQ(GoFloatString(0), "0");
  EXPECT_EQ(GoFloatString(1), "1");
  EXPECT_EQ(GoFloatString(0.5), "0.5");
  EXPECT_EQ(GoFloatString(123456), "123456");
  EXPECT_EQ(GoFloatString(1e6), "1e+06");
  EXPECT_EQ(GoFloatString(1234567), "1.234567e+06");
  EXPECT_EQ(GoFloatString(0.0001), "0.0001");
  EXPECT_EQ(GoFloatString(0.00001), "1e-05");
  EXPECT_EQ(GoFloatString(-2.5e-300), "-2.5e-300");
  EXPECT_EQ(GoFloatString(1e100), "1e+100");
  EXPECT_EQ(GoFloatString(1.7953120477035172e+09), "1.7953120477035172e+09");
  EXPECT_EQ(GoFloatString(std::nan("")), "NaN");
  EXPECT_EQ(GoFloatString(-INFINITY), "-Inf");
}

}  // namespace
}  // namespace oriel::ingest
