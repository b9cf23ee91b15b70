#include "api/prometheus/status_api.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "api/prometheus/api_response.h"
#include "base/status.h"
#include "fmt/format.h"
#include "model/matcher.h"

namespace oriel::api {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// [{"name":..,"value":N}, ...] of the `top` largest counts.
std::string TopCounts(const std::map<std::string, size_t>& counts, size_t top) {
  std::vector<std::pair<std::string, size_t>> items(counts.begin(), counts.end());
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (items.size() > top) items.resize(top);
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += fmt::format("{{\"name\":{},\"value\":{}}}", JsonString(items[i].first), items[i].second);
  }
  return out + "]";
}

// The cardinality statistics Prometheus' TSDB status page shows, computed from the reader.
std::string TsdbStatus(tsdb::MetricsReader& reader, size_t top) {
  auto all = model::Matcher::Create(model::MatchType::kRegexMatch, "__name__", ".+");
  std::map<std::string, size_t> by_metric, values_by_name, memory_by_name, by_pair;
  std::map<std::string, std::set<std::string>> values;
  size_t series_count = 0;
  int64_t min_t = INT64_MAX, max_t = INT64_MIN;
  auto set = reader.Select(kMinTimeMs, kMaxTimeMs, std::span<const model::Matcher>(&*all, 1),
                           nullptr);
  while (set->Next()) {
    ++series_count;
    const model::Labels& labels = set->labels();
    ++by_metric[std::string(labels.MetricName())];
    for (const auto& l : labels) {
      values[std::string(l.name)].emplace(l.value);
      ++by_pair[fmt::format("{}={}", l.name, l.value)];
    }
    auto it = set->Samples();
    if (it->Next() != tsdb::SampleIterator::ValueType::kNone) {
      min_t = std::min(min_t, it->AtTime());
      int64_t last = it->AtTime();
      while (it->Next() != tsdb::SampleIterator::ValueType::kNone) last = it->AtTime();
      max_t = std::max(max_t, last);
    }
  }
  size_t pairs = 0;
  for (const auto& [name, vs] : values) {
    values_by_name[name] = vs.size();
    size_t bytes = 0;
    for (const auto& v : vs) bytes += v.size();
    memory_by_name[name] = bytes;
    pairs += vs.size();
  }
  if (series_count == 0) min_t = max_t = 0;
  return fmt::format(
      "{{\"headStats\":{{\"numSeries\":{},\"numLabelPairs\":{},\"chunkCount\":0,\"minTime\":{},"
      "\"maxTime\":{}}},\"seriesCountByMetricName\":{},\"labelValueCountByLabelName\":{},"
      "\"memoryInBytesByLabelName\":{},\"seriesCountByLabelValuePair\":{}}}",
      series_count, pairs, min_t, max_t, TopCounts(by_metric, top), TopCounts(values_by_name, top),
      TopCounts(memory_by_name, top), TopCounts(by_pair, top));
}

}  // namespace

void RegisterStatusApiRoutes(net::Router& router, StatusApi api) {
  auto shared = std::make_shared<StatusApi>(std::move(api));
  router.Handle("GET", "/api/v1/status/buildinfo", [shared](net::HttpRequest&, net::HttpResponse& res) {
    const BuildInfo& b = shared->build;
    RespondSuccess(res, fmt::format("{{\"version\":{},\"revision\":{},\"branch\":{},"
                                    "\"buildUser\":\"oriel\",\"buildDate\":{},\"goVersion\":{}}}",
                                    JsonString(b.version), JsonString(b.revision),
                                    JsonString(b.branch), JsonString(b.build_date),
                                    JsonString(b.compiler)));
  });
  router.Handle("GET", "/api/v1/status/runtimeinfo", [shared](net::HttpRequest&, net::HttpResponse& res) {
    std::error_code ec;
    std::string cwd = std::filesystem::current_path(ec).string();
    RespondSuccess(
        res, fmt::format("{{\"startTime\":{},\"CWD\":{},\"reloadConfigSuccess\":{},"
                         "\"lastConfigTime\":{},\"corruptionCount\":0,\"goroutineCount\":{},"
                         "\"GOMAXPROCS\":{},\"GOMEMLIMIT\":0,\"GOGC\":\"\",\"GODEBUG\":\"\","
                         "\"storageRetention\":{}}}",
                         JsonString(Rfc3339(shared->start_time)), JsonString(cwd),
                         shared->last_reload_ok() ? "true" : "false",
                         JsonString(Rfc3339(shared->last_reload_time())),
                         std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN)),
                         std::thread::hardware_concurrency(), JsonString(shared->retention)));
  });
  router.Handle("GET", "/api/v1/status/flags", [shared](net::HttpRequest&, net::HttpResponse& res) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : shared->flags) {
      if (!first) out.push_back(',');
      first = false;
      out += JsonString(k) + ":" + JsonString(v);
    }
    RespondSuccess(res, out + "}");
  });
  router.Handle("GET", "/api/v1/status/config", [shared](net::HttpRequest&, net::HttpResponse& res) {
    RespondSuccess(res, "{\"yaml\":" + JsonString(shared->config_yaml()) + "}");
  });
  router.Handle("GET", "/api/v1/status/tsdb", [shared](net::HttpRequest& req, net::HttpResponse& res) {
    size_t top = 10;
    if (auto limit = req.QueryParam("limit")) {
      auto n = LimitParam(req.query);
      if (!n.ok() || *n == 0) {
        return RespondError(res, ErrorType::kBadData, "limit must be a positive number");
      }
      top = *n;
    }
    RespondSuccess(res, TsdbStatus(shared->reader, top));
  });
  // Oriel does not scrape or evaluate rules yet: the lists are truthfully empty.
  router.Handle("GET", "/api/v1/targets", [](net::HttpRequest&, net::HttpResponse& res) {
    RespondSuccess(res, "{\"activeTargets\":[],\"droppedTargets\":[],\"droppedTargetCounts\":{}}");
  });
  router.Handle("GET", "/api/v1/rules", [](net::HttpRequest&, net::HttpResponse& res) {
    RespondSuccess(res, "{\"groups\":[]}");
  });
  router.Handle("GET", "/api/v1/alerts", [](net::HttpRequest&, net::HttpResponse& res) {
    RespondSuccess(res, "{\"alerts\":[]}");
  });
}

}  // namespace oriel::api
