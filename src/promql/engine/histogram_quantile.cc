#include "promql/engine/histogram_quantile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace oriel::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The buckets sorted by bound, those with the same bound added together; empty when the
// histogram is unusable (no buckets, or the last bound is not +Inf).
std::vector<BucketPoint> SortedDistinctBuckets(std::vector<BucketPoint>& b) {
  std::sort(b.begin(), b.end(), [](const auto& x, const auto& y) { return x.upper < y.upper; });
  std::vector<BucketPoint> m;
  if (b.empty() || !std::isinf(b.back().upper) || b.back().upper < 0) return m;
  for (const auto& x : b) {
    if (!m.empty() && m.back().upper == x.upper) {
      m.back().count += x.count;
    } else {
      m.push_back(x);
    }
  }
  return m;
}

}  // namespace

bool ParseBucketBound(std::string_view le, double* upper) {
  if (le.empty()) return false;
  std::string les(le);
  char* end = nullptr;
  *upper = std::strtod(les.c_str(), &end);
  bool ok = end != nullptr && *end == '\0';
  if (les == "+Inf" || les == "Inf" || les == "inf" || les == "+inf") *upper = kInf;
  return ok;
}

double BucketQuantile(double q, std::vector<BucketPoint>& b, bool* forced) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::vector<BucketPoint> m = SortedDistinctBuckets(b);
  if (m.empty()) return kNaN;
  double prev = m[0].count;
  for (size_t i = 1; i < m.size(); ++i) {
    double cur = m[i].count;
    if (cur == prev) continue;
    if (std::fabs(cur - prev) <= 1e-12 * std::max(std::fabs(cur), std::fabs(prev))) {
      m[i].count = prev;
      continue;
    }
    if (cur < prev) {
      m[i].count = prev;
      *forced = true;
      continue;
    }
    prev = cur;
  }
  if (m.size() < 2) return kNaN;
  double obs = m.back().count;
  if (obs == 0) return kNaN;
  double rank = q * obs;
  size_t idx = 0;
  while (idx < m.size() - 1 && !(m[idx].count >= rank)) ++idx;
  if (idx == m.size() - 1) return m[m.size() - 2].upper;
  if (idx == 0 && m[0].upper <= 0) return m[0].upper;
  double start = 0, end = m[idx].upper, count = m[idx].count;
  if (idx > 0) {
    start = m[idx - 1].upper;
    count -= m[idx - 1].count;
    rank -= m[idx - 1].count;
  }
  return start + (end - start) * (rank / count);
}

// The fraction of observations in [lower, upper] of classic buckets, interpolating linearly
// inside a bucket with finite bounds; the first bucket starts at 0 when its bound is positive.
double BucketFraction(double lower, double upper, std::vector<BucketPoint>& b) {
  std::vector<BucketPoint> m = SortedDistinctBuckets(b);
  if (m.empty()) return kNaN;
  for (size_t i = 1; i < m.size(); ++i) m[i].count = std::max(m[i].count, m[i - 1].count);
  double total = m.back().count;
  if (total == 0 || std::isnan(lower) || std::isnan(upper)) return kNaN;
  if (lower >= upper) return 0;
  double sum = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    double lo = i == 0 ? (m[0].upper > 0 ? 0 : -kInf) : m[i - 1].upper;
    double hi = m[i].upper;
    double c = m[i].count - (i == 0 ? 0 : m[i - 1].count);
    double a = std::max(lo, lower), z = std::min(hi, upper);
    if (a >= z) continue;
    if (a == lo && z == hi) {
      sum += c;
    } else if (std::isinf(lo) || std::isinf(hi)) {
      // An infinitely wide bucket counts whole when the range reaches its infinite end.
      if ((std::isinf(hi) && z == hi) || (std::isinf(lo) && a == lo)) sum += c;
    } else {
      sum += c * (z - a) / (hi - lo);
    }
  }
  return sum / total;
}

}  // namespace oriel::promql
