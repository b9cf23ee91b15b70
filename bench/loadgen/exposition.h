// The NodeSeriesSet as a scrape target would expose it: the Prometheus text exposition format
// 0.0.4 (# HELP and # TYPE per family, the lines of a family together, a histogram's _bucket,
// _sum and _count under its base name, no timestamps: the scraper stamps them).
#pragma once

#include <string>
#include <vector>

#include "loadgen/node_series.h"

namespace oriel::loadgen {

inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class ExpositionWriter {
 public:
  // Lays out the families of `set` once; `set` must outlive the writer and keep its series
  // (Advance() only changes values).
  explicit ExpositionWriter(const NodeSeriesSet& set);

  // The current values of every series. Not thread-safe against set.Advance().
  std::string Render() const;

 private:
  const NodeSeriesSet& set_;
  // In output order: a family header ("# HELP ...\n# TYPE ...\n", empty when the family goes
  // on), then the series' "name{labels} " prefix.
  struct Line {
    std::string header;
    std::string prefix;
    size_t series;
  };
  std::vector<Line> lines_;
  size_t bytes_estimate_ = 0;
};

// `value` as a label value between quotes: backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view value);

}  // namespace oriel::loadgen
