#include "api/jaeger/jaeger_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace oriel::api::jaeger {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

TEST(ParseGoDuration, AcceptsGoSyntax) {
  EXPECT_EQ(*ParseGoDuration("1.5ms"), 1'500'000);
  EXPECT_EQ(*ParseGoDuration("100us"), 100 * kUs);
  EXPECT_EQ(*ParseGoDuration("100\xC2\xB5s"), 100 * kUs);
  EXPECT_EQ(*ParseGoDuration("2s"), 2 * kS);
  EXPECT_EQ(*ParseGoDuration("2h45m"), (2 * 3600 + 45 * 60) * kS);
  EXPECT_EQ(*ParseGoDuration("-1.5h"), -5400 * kS);
  EXPECT_EQ(*ParseGoDuration(".5s"), 500 * kMs);
  EXPECT_EQ(*ParseGoDuration("1.s"), kS);
  EXPECT_EQ(*ParseGoDuration("0"), 0);
  EXPECT_EQ(*ParseGoDuration("7ns"), 7);
}

TEST(ParseGoDuration, RejectsWhatGoRejects) {
  for (std::string_view bad : {"", "1", "ms", "1.5", "1x", "-", ".s", "1..2s", "9999999999999h"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseGoDuration("5x").status().message(), HasSubstr("unknown unit \"x\""));
  EXPECT_THAT(ParseGoDuration("5").status().message(), HasSubstr("missing unit"));
}

TEST(ParseTraceId, PadsShortIdsAndRejectsJunk) {
  EXPECT_EQ(*ParseTraceId("1"), std::string(15, '\0') + "\x01");
  EXPECT_EQ(*ParseTraceId("FF00000000000000000000000000000a"),
            std::string("\xff") + std::string(14, '\0') + "\x0a");
  EXPECT_FALSE(ParseTraceId("").ok());
  EXPECT_FALSE(ParseTraceId("xyz").ok());
  EXPECT_FALSE(ParseTraceId(std::string(33, 'a')).ok());
}

TEST(ParseSearchParams, ReadsEveryParameter) {
  net::Params form = {{"service", "front"},
                      {"operation", "GET /"},
                      {"start", "1700000000000000"},
                      {"end", "1700000060000000"},
                      {"minDuration", "1.5ms"},
                      {"maxDuration", "2s"},
                      {"limit", "20"},
                      {"tag", "http.status_code:500"},
                      {"tag", "url:http://x:80/"},
                      {"tags", R"({"error":"true","http.status_code":"404"})"}};
  absl::StatusOr<SearchParams> p = ParseSearchParams(form, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  const tracestore::TraceQuery& q = p->query;
  EXPECT_EQ(q.service, "front");
  EXPECT_EQ(q.operation, "GET /");
  EXPECT_EQ(q.start_unix_nano, 1700000000000000000);
  EXPECT_EQ(q.end_unix_nano, 1700000060000000000);
  EXPECT_EQ(q.min_duration_nano, 1'500'000);
  EXPECT_EQ(q.max_duration_nano, 2 * kS);
  EXPECT_EQ(q.limit, 20u);
  using Tags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(q.tags,
            (Tags{{"http.status_code", "404"}, {"url", "http://x:80/"}, {"error", "true"}}));
  EXPECT_TRUE(p->trace_ids.empty());
}

TEST(ParseSearchParams, Defaults) {
  const int64_t now = 1'700'000'000 * kS;
  absl::StatusOr<SearchParams> p = ParseSearchParams({{"service", "s"}}, now);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->query.end_unix_nano, now);
  EXPECT_EQ(p->query.start_unix_nano, now - 48 * 3600 * kS);
  EXPECT_EQ(p->query.limit, 100u);
  p = ParseSearchParams({{"service", "s"}, {"lookback", "1h"}}, now);
  EXPECT_EQ(p->query.start_unix_nano, now - 3600 * kS);
  p = ParseSearchParams({{"service", "s"}, {"lookback", "custom"}}, now);
  EXPECT_EQ(p->query.start_unix_nano, now - 48 * 3600 * kS);
}

TEST(ParseSearchParams, ErrorsNameTheParameter) {
  auto err = [](net::Params form) {
    absl::StatusOr<SearchParams> p = ParseSearchParams(form, 0);
    EXPECT_FALSE(p.ok());
    return std::string(p.status().message());
  };
  EXPECT_EQ(err({}), "parameter 'service' is required");
  EXPECT_THAT(err({{"service", "s"}, {"start", "x"}}), HasSubstr("unable to parse param 'start'"));
  EXPECT_THAT(err({{"service", "s"}, {"end", "1.5"}}), HasSubstr("unable to parse param 'end'"));
  EXPECT_THAT(err({{"service", "s"}, {"end", "-9223372036854775"}}),
              HasSubstr("unable to parse param 'end': out of range"));
  EXPECT_THAT(err({{"service", "s"}, {"start", "99999999999999999"}}),
              HasSubstr("unable to parse param 'start': out of range"));
  EXPECT_THAT(err({{"service", "s"}, {"limit", "many"}}),
              HasSubstr("unable to parse param 'limit'"));
  EXPECT_THAT(err({{"service", "s"}, {"minDuration", "5"}}),
              HasSubstr("unable to parse param 'minDuration': time: missing unit"));
  EXPECT_EQ(err({{"service", "s"}, {"minDuration", "2s"}, {"maxDuration", "1s"}}),
            "'maxDuration' should be greater than 'minDuration'");
  EXPECT_THAT(err({{"service", "s"}, {"tag", "novalue"}}),
              HasSubstr("malformed 'tag' parameter, expecting key:value"));
  EXPECT_THAT(err({{"service", "s"}, {"tags", "{"}}), HasSubstr("malformed 'tags' parameter"));
  EXPECT_THAT(err({{"service", "s"}, {"tags", R"({"a":1})"}}),
              HasSubstr("malformed 'tags' parameter"));
  EXPECT_THAT(err({{"traceID", "zz"}}), HasSubstr("unable to parse param 'traceID'"));
}

TEST(ParseSearchParams, TraceIdsNeedNoService) {
  absl::StatusOr<SearchParams> p = ParseSearchParams({{"traceID", "a"}, {"traceID", "b"}}, 0);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->trace_ids.size(), 2u);
  EXPECT_EQ(p->trace_ids[1], std::string(15, '\0') + "\x0b");
}

TEST(ParseDependenciesParams, MillisecondsWithDefaults) {
  absl::StatusOr<DependenciesParams> p =
      ParseDependenciesParams({{"endTs", "1700000000000"}, {"lookback", "3600000"}}, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->end_unix_nano, 1700000000000 * kMs);
  EXPECT_EQ(p->lookback_nano, 3600 * kS);
  p = ParseDependenciesParams({}, 42);
  EXPECT_EQ(p->end_unix_nano, 42);
  EXPECT_EQ(p->lookback_nano, 24 * 3600 * kS);
  EXPECT_THAT(ParseDependenciesParams({{"endTs", "soon"}}, 0).status().message(),
              HasSubstr("unable to parse param 'endTs'"));
  EXPECT_THAT(ParseDependenciesParams({{"lookback", "1h"}}, 0).status().message(),
              HasSubstr("unable to parse param 'lookback'"));
}

}  // namespace
}  // namespace oriel::api::jaeger
