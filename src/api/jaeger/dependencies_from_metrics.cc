#include "api/jaeger/dependencies_from_metrics.h"

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"
#include "model/matcher.h"

namespace oriel::api::jaeger {
namespace {

constexpr int64_t kNanosPerMs = 1'000'000;
// How far before the window a series' previous value is looked for.
constexpr int64_t kBaselineLookbackMs = 5 * 60 * 1000;

}  // namespace

absl::StatusOr<std::vector<tracestore::DependencyLink>> DependenciesFromServiceGraph(
    tsdb::MetricsReader& reader, int64_t end_unix_nano, int64_t lookback_nano) {
  if (lookback_nano <= 0) {
    return absl::InvalidArgumentError(fmt::format(
        "cannot compute dependencies: lookback must be positive, got {} ns", lookback_nano));
  }
  const int64_t end_ms = end_unix_nano / kNanosPerMs;
  const int64_t start_ms = end_ms - lookback_nano / kNanosPerMs;
  ORIEL_ASSIGN_OR_RETURN(
      model::Matcher name,
      model::Matcher::Create(model::MatchType::kEqual, "__name__", kServiceGraphRequestTotal));
  std::vector<model::Matcher> matchers = {name};
  tsdb::SelectHints hints;
  hints.start_ms = start_ms;
  hints.end_ms = end_ms;
  std::unique_ptr<tsdb::SeriesSet> set =
      reader.Select(start_ms - kBaselineLookbackMs, end_ms, matchers, &hints);

  std::map<std::pair<std::string, std::string>, double> calls;
  while (set->Next()) {
    const model::Labels& labels = set->labels();
    std::string client(labels.Get("client"));
    std::string server(labels.Get("server"));
    if (client.empty() || server.empty()) continue;
    std::unique_ptr<tsdb::SampleIterator> it = set->Samples();
    std::optional<double> prev;  // the last value before the current sample
    double increase = 0;
    for (auto type = it->Next(); type != tsdb::SampleIterator::ValueType::kNone;
         type = it->Next()) {
      if (type != tsdb::SampleIterator::ValueType::kFloat) continue;
      int64_t t = it->AtTime();
      double v = it->AtFloat();
      if (std::isnan(v) || t > end_ms) continue;  // stale markers carry no count
      if (t > start_ms) {
        double base = prev.value_or(0);
        increase += v >= base ? v - base : v;
      }
      prev = v;
    }
    calls[{std::move(client), std::move(server)}] += increase;
  }
  ORIEL_RETURN_IF_ERROR(set->status());

  std::vector<tracestore::DependencyLink> links;
  for (auto& [pair, count] : calls) {
    int64_t rounded = std::llround(count);
    if (rounded <= 0) continue;
    links.push_back({.parent = pair.first, .child = pair.second, .call_count = rounded});
  }
  return links;
}

}  // namespace oriel::api::jaeger
