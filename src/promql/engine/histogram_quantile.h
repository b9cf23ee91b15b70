// histogram_quantile over classic `le` buckets: the bucket math shared by the step-by-step
// evaluation and the range table.
#pragma once

#include <string_view>
#include <vector>

namespace oriel::promql {

struct BucketPoint {
  double upper;
  double count;
};

// The upper bound of a bucket from its `le` label value; false when it is missing or malformed.
bool ParseBucketBound(std::string_view le, double* upper);

// Classic-bucket quantile (Prometheus' BucketQuantile) over the buckets of one histogram (any
// order; sorts `b`); sets `forced` when counts were not monotonic.
double BucketQuantile(double q, std::vector<BucketPoint>& b, bool* forced);

// histogram_fraction: the share of observations in [lower, upper], interpolating linearly inside
// a bucket with finite bounds (sorts `b`).
double BucketFraction(double lower, double upper, std::vector<BucketPoint>& b);

}  // namespace oriel::promql
