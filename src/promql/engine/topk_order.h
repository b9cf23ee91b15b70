// The order topk and bottomk keep their series in, shared by the step-by-step aggregation
// (aggregate.cc) and the range-query table (select_table.cc) so that both pick the same series.
#pragma once

#include <cmath>

namespace oriel::promql {

// Whether value a goes before value b: topk larger first, bottomk smaller first, NaN last in
// both (equal values keep their input order, which callers break ties by).
inline bool TopkBefore(bool top, double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return top ? a > b : a < b;
}

}  // namespace oriel::promql
