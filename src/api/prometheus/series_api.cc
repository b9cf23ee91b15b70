#include "api/prometheus/series_api.h"

#include <algorithm>
#include <functional>
#include <map>

#include "api/prometheus/api_response.h"
#include "base/status.h"
#include "fmt/format.h"
#include "model/labels.h"
#include "promql/parser/parser.h"

namespace oriel::api {
namespace {

std::string StringArray(const std::vector<std::string>& items, size_t count) {
  std::string out = "[";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back(',');
    out += JsonString(items[i]);
  }
  out.push_back(']');
  return out;
}

struct Range {
  int64_t start;
  int64_t end;
};

absl::StatusOr<Range> RangeParams(const net::Params& form) {
  ORIEL_ASSIGN_OR_RETURN(int64_t start, TimeParam(form, "start", kMinTimeMs));
  ORIEL_ASSIGN_OR_RETURN(int64_t end, TimeParam(form, "end", kMaxTimeMs));
  if (end < start) {
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  }
  return Range{start, end};
}

// Each match[] selector becomes one matcher set; series matching any set are selected.
absl::StatusOr<std::vector<std::vector<model::Matcher>>> MatcherSets(const net::Params& form) {
  std::vector<std::vector<model::Matcher>> sets;
  for (const std::string& selector : net::AllValues(form, "match[]")) {
    auto matchers = promql::ParseMetricSelector(selector);
    if (!matchers.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("invalid parameter \"match[]\": {}", matchers.status().message()));
    }
    sets.push_back(std::move(*matchers));
  }
  return sets;
}

const std::string kTruncated = "results truncated due to limit";

// Label names or values over every matcher set (all series when there are none), merged.
template <typename Fetch>
absl::StatusOr<std::vector<std::string>> MergeOverSets(
    const std::vector<std::vector<model::Matcher>>& sets, Fetch fetch) {
  if (sets.empty()) return fetch(std::span<const model::Matcher>());
  std::vector<std::string> merged;
  for (const auto& set : sets) {
    ORIEL_ASSIGN_OR_RETURN(std::vector<std::string> part, fetch(set));
    merged.insert(merged.end(), part.begin(), part.end());
  }
  std::sort(merged.begin(), merged.end());
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  return merged;
}

void HandleSeries(tsdb::MetricsReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  auto sets = MatcherSets(form);
  if (!sets.ok()) return RespondError(res, ErrorType::kBadData, sets.status());
  if (sets->empty()) return RespondError(res, ErrorType::kBadData, "no match[] parameter provided");
  auto range = RangeParams(form);
  if (!range.ok()) return RespondError(res, ErrorType::kBadData, range.status());
  auto limit = LimitParam(form);
  if (!limit.ok()) return RespondError(res, ErrorType::kBadData, limit.status());
  std::vector<model::Labels> all;
  for (const auto& set : *sets) {
    auto series = reader.Select(range->start, range->end, set, nullptr);
    while (series->Next()) all.push_back(series->labels());
    if (absl::Status s = series->status(); !s.ok()) {
      return RespondError(res, ErrorType::kExecution, s);
    }
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::vector<std::string> warnings;
  if (*limit > 0 && all.size() > *limit) {
    all.resize(*limit);
    warnings.push_back(kTruncated);
  }
  std::string data = "[";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) data.push_back(',');
    data += LabelsJson(all[i]);
  }
  data.push_back(']');
  RespondSuccess(res, data, warnings);
}

// Label names or values (both take match[], start, end, limit): `fetch` reads one matcher set.
using LabelFetch = std::function<absl::StatusOr<std::vector<std::string>>(
    int64_t start, int64_t end, std::span<const model::Matcher>)>;

void RespondLabelStrings(const LabelFetch& fetch, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  auto sets = MatcherSets(form);
  if (!sets.ok()) return RespondError(res, ErrorType::kBadData, sets.status());
  auto range = RangeParams(form);
  if (!range.ok()) return RespondError(res, ErrorType::kBadData, range.status());
  auto limit = LimitParam(form);
  if (!limit.ok()) return RespondError(res, ErrorType::kBadData, limit.status());
  auto items = MergeOverSets(
      *sets, [&](std::span<const model::Matcher> m) { return fetch(range->start, range->end, m); });
  if (!items.ok()) return RespondError(res, ErrorType::kExecution, items.status());
  std::vector<std::string> warnings;
  size_t count = items->size();
  if (*limit > 0 && count > *limit) {
    count = *limit;
    warnings.push_back(kTruncated);
  }
  RespondSuccess(res, StringArray(*items, count), warnings);
}

void HandleLabels(tsdb::MetricsReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  RespondLabelStrings(
      [&](int64_t start, int64_t end, std::span<const model::Matcher> m) {
        return reader.LabelNames(start, end, m);
      },
      req, res);
}

void HandleLabelValues(tsdb::MetricsReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  std::string name(req.PathParam("name"));
  // Prometheus 3 accepts any UTF-8 name here; the empty name is the one it refuses.
  if (name.empty()) {
    return RespondError(res, ErrorType::kBadData, "invalid label name: \"\"");
  }
  RespondLabelStrings(
      [&](int64_t start, int64_t end, std::span<const model::Matcher> m) {
        return reader.LabelValues(name, start, end, m);
      },
      req, res);
}

std::string_view TypeName(model::MetricType type) {
  switch (type) {
    case model::MetricType::kCounter:
      return "counter";
    case model::MetricType::kGauge:
      return "gauge";
    case model::MetricType::kHistogram:
      return "histogram";
    case model::MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case model::MetricType::kSummary:
      return "summary";
    case model::MetricType::kInfo:
      return "info";
    case model::MetricType::kStateSet:
      return "stateset";
    case model::MetricType::kUnknown:
      return "unknown";
  }
  return "unknown";
}

void HandleMetadata(tsdb::MetricsReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  auto limit = LimitParam(form);
  if (!limit.ok()) return RespondError(res, ErrorType::kBadData, limit.status());
  std::string metric(net::FirstValue(form, "metric").value_or(""));
  std::vector<model::MetricMetadata> all = reader.Metadata(metric, *limit);
  // {"name":[{"type":..,"help":..,"unit":..}]}, names sorted.
  std::map<std::string, std::vector<const model::MetricMetadata*>> by_name;
  for (const auto& m : all) by_name[m.metric_family].push_back(&m);
  std::string data = "{";
  bool first = true;
  for (const auto& [name, entries] : by_name) {
    if (!first) data.push_back(',');
    first = false;
    data += JsonString(name) + ":[";
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) data.push_back(',');
      data += fmt::format("{{\"type\":{},\"help\":{},\"unit\":{}}}",
                          JsonString(TypeName(entries[i]->type)), JsonString(entries[i]->help),
                          JsonString(entries[i]->unit));
    }
    data.push_back(']');
  }
  data.push_back('}');
  RespondSuccess(res, data);
}

void HandleExemplars(tsdb::MetricsReader& reader, net::HttpRequest& req, net::HttpResponse& res) {
  net::Params form = req.Form();
  auto query = net::FirstValue(form, "query");
  if (!query || query->empty()) {
    return RespondError(res, ErrorType::kBadData, "invalid parameter \"query\": query is empty");
  }
  auto range = RangeParams(form);
  if (!range.ok()) return RespondError(res, ErrorType::kBadData, range.status());
  // Exemplars are looked up for the query's selector; a full expression's selectors come with
  // the PromQL engine.
  auto matchers = promql::ParseMetricSelector(*query);
  if (!matchers.ok()) {
    return RespondError(
        res, ErrorType::kBadData,
        fmt::format("invalid parameter \"query\": {}", matchers.status().message()));
  }
  std::string data = "[";
  bool first = true;
  for (const auto& series : reader.Exemplars(range->start, range->end, *matchers)) {
    if (!first) data.push_back(',');
    first = false;
    data += "{\"seriesLabels\":" + LabelsJson(series.series_labels) + ",\"exemplars\":[";
    for (size_t i = 0; i < series.exemplars.size(); ++i) {
      const auto& e = series.exemplars[i];
      if (i > 0) data.push_back(',');
      data += fmt::format("{{\"labels\":{},\"value\":{},\"timestamp\":{}}}", LabelsJson(e.labels),
                          JsonString(FormatValue(e.value)), FormatTimestamp(e.timestamp_ms));
    }
    data += "]}";
  }
  data.push_back(']');
  RespondSuccess(res, data);
}

}  // namespace

void RegisterSeriesApiRoutes(net::Router& router, tsdb::MetricsReader& reader) {
  auto both = [&](std::string_view path, auto handler) {
    auto h = [&reader, handler](net::HttpRequest& req, net::HttpResponse& res) {
      handler(reader, req, res);
    };
    router.Handle("GET", path, h);
    router.Handle("POST", path, h);
  };
  both("/api/v1/series", HandleSeries);
  both("/api/v1/labels", HandleLabels);
  both("/api/v1/label/{name}/values", HandleLabelValues);
  both("/api/v1/metadata", HandleMetadata);
  both("/api/v1/query_exemplars", HandleExemplars);
}

}  // namespace oriel::api
