// The functions of one range-vector window that the range table evaluates for every step of a
// range query (rate, *_over_time, ...), shared with the step-by-step evaluation so that both give
// the same values.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "promql/engine/engine.h"
#include "promql/engine/kahan.h"

namespace oriel::promql {

enum class WindowFunc : uint8_t {
  kRate,
  kIncrease,
  kDelta,
  kIrate,
  kIdelta,
  kDeriv,
  kChanges,
  kResets,
  kAvgOverTime,
  kSumOverTime,
  kCountOverTime,
  kMinOverTime,
  kMaxOverTime,
  kStddevOverTime,
  kStdvarOverTime,
  kLastOverTime,
  kFirstOverTime,
  kPresentOverTime,
  kLast = kPresentOverTime,
};

// The window function called `name` (taking only a range vector), if it is one of the above.
std::optional<WindowFunc> WindowFuncByName(std::string_view name);

// Whether the result keeps the input's metric name (the others drop it).
inline bool KeepsName(WindowFunc f) {
  return f == WindowFunc::kLastOverTime || f == WindowFunc::kFirstOverTime;
}

// The value of `f` over the samples of the window (range_start, range_end] (the bounds matter
// only to rate, increase and delta); false when the function yields no sample for this window
// (e.g. rate over fewer than two samples). `pts` may be empty.
// Inline (below): a range table evaluates it for every series and step, with `f` constant.
inline bool EvalWindow(WindowFunc f, std::span<const FloatPoint> pts, int64_t range_start,
                       int64_t range_end, double* out);

// Rate, increase and delta of the samples of one window (range_start, range_end], with
// Prometheus' extrapolation to the window edges; false when there are fewer than two samples.
inline bool ExtrapolatedRate(std::span<const FloatPoint> pts, int64_t range_start,
                             int64_t range_end, bool is_counter, bool is_rate, double* out);

// ExtrapolatedRate's second half: `result` (last minus first sample, plus the counter resets'
// corrections when `is_counter`) extrapolated to the window edges. REQUIRES: pts.size() >= 2.
// Callers that know a window has no counter reset pass last.f - first.f, skipping the walk.
inline double ExtrapolateIncrease(std::span<const FloatPoint> pts, double result,
                                  int64_t range_start, int64_t range_end, bool is_counter,
                                  bool is_rate);

// Least-squares fit of the samples (times in seconds relative to `intercept_time`), as
// Prometheus' deriv and predict_linear do it. REQUIRES: !pts.empty().
void LinearRegression(std::span<const FloatPoint> pts, int64_t intercept_time, double* slope,
                      double* intercept);

// Implementation.

inline bool ExtrapolatedRate(std::span<const FloatPoint> pts, int64_t range_start,
                             int64_t range_end, bool is_counter, bool is_rate, double* out) {
  if (pts.size() < 2) return false;
  double result = pts.back().f - pts.front().f;
  if (is_counter) {
    double prev = pts.front().f;
    for (size_t i = 1; i < pts.size(); ++i) {
      if (pts[i].f < prev) result += prev;
      prev = pts[i].f;
    }
  }
  *out = ExtrapolateIncrease(pts, result, range_start, range_end, is_counter, is_rate);
  return true;
}

inline double ExtrapolateIncrease(std::span<const FloatPoint> pts, double result,
                                  int64_t range_start, int64_t range_end, bool is_counter,
                                  bool is_rate) {
  const auto& first = pts.front();
  const auto& last = pts.back();
  double to_start = static_cast<double>(first.t - range_start) / 1000;
  double to_end = static_cast<double>(range_end - last.t) / 1000;
  double sampled = static_cast<double>(last.t - first.t) / 1000;
  double avg = sampled / static_cast<double>(pts.size() - 1);
  double threshold = avg * 1.1;
  if (to_start >= threshold) to_start = avg / 2;
  if (is_counter && result > 0 && first.f >= 0) {
    double to_zero = sampled * (first.f / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = avg / 2;
  double factor = (sampled + to_start + to_end) / sampled;
  if (is_rate) factor /= static_cast<double>(range_end - range_start) / 1000;
  return result * factor;
}

inline bool EvalWindow(WindowFunc f, std::span<const FloatPoint> p, int64_t range_start,
                       int64_t range_end, double* out) {
  if (p.empty()) return false;
  double r = 0;
  switch (f) {
    case WindowFunc::kRate:
      return ExtrapolatedRate(p, range_start, range_end, true, true, out);
    case WindowFunc::kIncrease:
      return ExtrapolatedRate(p, range_start, range_end, true, false, out);
    case WindowFunc::kDelta:
      return ExtrapolatedRate(p, range_start, range_end, false, false, out);
    case WindowFunc::kIrate:
    case WindowFunc::kIdelta: {
      if (p.size() < 2) return false;
      const auto& a = p[p.size() - 2];
      const auto& b = p.back();
      if (f == WindowFunc::kIdelta) {
        r = b.f - a.f;
        break;
      }
      if (b.t == a.t) return false;
      r = b.f < a.f ? b.f : b.f - a.f;
      r /= static_cast<double>(b.t - a.t) / 1000;
      break;
    }
    case WindowFunc::kDeriv: {
      if (p.size() < 2) return false;
      double intercept;
      LinearRegression(p, p[0].t, &r, &intercept);
      break;
    }
    case WindowFunc::kChanges:
    case WindowFunc::kResets: {
      int64_t n = 0;
      double prev = p[0].f;
      for (size_t i = 1; i < p.size(); ++i) {
        double cur = p[i].f;
        if (f == WindowFunc::kChanges) {
          if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++n;
        } else if (cur < prev) {
          ++n;
        }
        prev = cur;
      }
      r = static_cast<double>(n);
      break;
    }
    case WindowFunc::kAvgOverTime: {
      double sum = 0, c = 0, mean = 0;
      bool special = false;
      for (size_t i = 0; i < p.size(); ++i) {
        KahanAdd(p[i].f, sum, c);
        if (std::isinf(p[i].f) || std::isnan(p[i].f)) special = true;
        double n = static_cast<double>(i + 1);
        mean = i == 0 ? p[i].f : mean + p[i].f / n - mean / n;
      }
      double total = sum + c;
      r = (std::isinf(total) && !special) ? mean : total / static_cast<double>(p.size());
      break;
    }
    case WindowFunc::kSumOverTime: {
      double sum = 0, c = 0;
      for (const auto& x : p) KahanAdd(x.f, sum, c);
      r = sum + c;
      break;
    }
    case WindowFunc::kCountOverTime:
      r = static_cast<double>(p.size());
      break;
    case WindowFunc::kMinOverTime:
    case WindowFunc::kMaxOverTime: {
      bool mx = f == WindowFunc::kMaxOverTime;
      r = p[0].f;
      for (const auto& x : p) {
        if ((mx ? x.f > r : x.f < r) || std::isnan(r)) r = x.f;
      }
      break;
    }
    case WindowFunc::kStddevOverTime:
    case WindowFunc::kStdvarOverTime: {
      double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
      for (const auto& x : p) {
        count += 1;
        double delta = x.f - (mean + cmean);
        KahanAdd(delta / count, mean, cmean);
        KahanAdd(delta * (x.f - (mean + cmean)), aux, caux);
      }
      r = (aux + caux) / count;
      if (f == WindowFunc::kStddevOverTime) r = std::sqrt(r);
      break;
    }
    case WindowFunc::kLastOverTime:
      r = p.back().f;
      break;
    case WindowFunc::kFirstOverTime:
      r = p.front().f;
      break;
    case WindowFunc::kPresentOverTime:
      r = 1;
      break;
  }
  *out = r;
  return true;
}

}  // namespace oriel::promql
