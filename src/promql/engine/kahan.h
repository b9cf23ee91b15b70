// Kahan-compensated summation, as Prometheus uses it for sums and averages.
#pragma once

#include <cmath>

namespace oriel::promql {

// Adds `inc` to `sum`, carrying the rounding error in `c` (the result is sum + c).
inline void KahanAdd(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

}  // namespace oriel::promql
