#include "promql/engine/window_func.h"

#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "promql/engine/kahan.h"

namespace oriel::promql {

std::optional<WindowFunc> WindowFuncByName(std::string_view name) {
  static const auto* funcs = new absl::flat_hash_map<std::string_view, WindowFunc>{
      {"rate", WindowFunc::kRate},
      {"increase", WindowFunc::kIncrease},
      {"delta", WindowFunc::kDelta},
      {"irate", WindowFunc::kIrate},
      {"idelta", WindowFunc::kIdelta},
      {"deriv", WindowFunc::kDeriv},
      {"changes", WindowFunc::kChanges},
      {"resets", WindowFunc::kResets},
      {"avg_over_time", WindowFunc::kAvgOverTime},
      {"sum_over_time", WindowFunc::kSumOverTime},
      {"count_over_time", WindowFunc::kCountOverTime},
      {"min_over_time", WindowFunc::kMinOverTime},
      {"max_over_time", WindowFunc::kMaxOverTime},
      {"stddev_over_time", WindowFunc::kStddevOverTime},
      {"stdvar_over_time", WindowFunc::kStdvarOverTime},
      {"last_over_time", WindowFunc::kLastOverTime},
      {"first_over_time", WindowFunc::kFirstOverTime},
      {"present_over_time", WindowFunc::kPresentOverTime},
  };
  auto it = funcs->find(name);
  if (it == funcs->end()) return std::nullopt;
  return it->second;
}

void LinearRegression(std::span<const FloatPoint> pts, int64_t intercept_time, double* slope,
                      double* intercept) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  double init = pts[0].f;
  bool const_y = true;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (const_y && i > 0 && pts[i].f != init) const_y = false;
    n += 1;
    double x = static_cast<double>(pts[i].t - intercept_time) / 1000;
    KahanAdd(x, sx, cx);
    KahanAdd(pts[i].f, sy, cy);
    KahanAdd(x * pts[i].f, sxy, cxy);
    KahanAdd(x * x, sx2, cx2);
  }
  if (const_y) {
    if (std::isinf(init)) {
      *slope = std::numeric_limits<double>::quiet_NaN();
      *intercept = std::numeric_limits<double>::quiet_NaN();
    } else {
      *slope = 0;
      *intercept = init;
    }
    return;
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  *slope = cov / var;
  *intercept = sy / n - *slope * sx / n;
}

}  // namespace oriel::promql
