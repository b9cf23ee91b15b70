// PromQL functions over float samples (Prometheus 3 functions.go semantics).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <numbers>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "fmt/format.h"
#include "promql/engine/evaluator.h"
#include "promql/engine/histogram_quantile.h"
#include "promql/engine/window_func.h"
#include "promql/parser/number_format.h"
#include "re2/re2.h"

namespace oriel::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Prometheus 3 accepts any non-empty valid UTF-8 label name.
bool ValidLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Value VectorValue() {
  Value v;
  v.type = ValueType::kVector;
  return v;
}

// Labels for absent() and absent_over_time(): the equality matchers of a plain selector.
model::Labels AbsentLabels(const Expr& arg) {
  const VectorSelector* vs = nullptr;
  if (arg.kind() == NodeKind::kVectorSelector) vs = &arg.As<VectorSelector>();
  if (arg.kind() == NodeKind::kMatrixSelector) vs = &arg.As<MatrixSelector>().selector();
  if (vs == nullptr) return model::Labels();
  model::LabelsBuilder b;
  absl::flat_hash_map<std::string, bool> has;
  for (const auto& m : vs->matchers) {
    if (m.name() == model::kMetricName) continue;
    if (m.type() == model::MatchType::kEqual && !has[m.name()]) {
      b.Set(m.name(), m.value());
      has[m.name()] = true;
    } else {
      b.Del(m.name());
    }
  }
  return b.Build();
}

// Go's Regexp.ExpandString: $1, ${1}, $name, ${name}, $$.
std::string Expand(std::string_view tmpl, const RE2& re, const std::vector<re2::StringPiece>& g) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  auto group = [&](std::string_view name) -> std::string_view {
    bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit);
    int idx = -1;
    if (numeric) {
      idx = name.size() > 9 ? -1 : std::stoi(std::string(name));
    } else {
      auto it = names.find(std::string(name));
      if (it != names.end()) idx = it->second;
    }
    if (idx < 0 || idx >= static_cast<int>(g.size()) || g[idx].data() == nullptr) return {};
    return std::string_view(g[idx].data(), g[idx].size());
  };
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    auto is_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (tmpl[i + 1] == '{') {
      size_t close = tmpl.find('}', i + 2);
      if (close == std::string_view::npos) {
        out += tmpl[i];
        continue;
      }
      std::string_view name = tmpl.substr(i + 2, close - i - 2);
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_name)) {
        out += tmpl[i];
        continue;
      }
      out += group(name);
      i = close;
      continue;
    }
    size_t j = i + 1;
    while (j < tmpl.size() && is_name(tmpl[j])) ++j;
    if (j == i + 1) {
      out += tmpl[i];
      continue;
    }
    out += group(tmpl.substr(i + 1, j - i - 1));
    i = j - 1;
  }
  return out;
}

// Natural order of label values (digit runs compare as numbers), as sort_by_label uses.
bool NaturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = std::isdigit(static_cast<unsigned char>(a[i]));
    bool db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string_view na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

std::tm UtcTime(double f) {
  std::time_t t = static_cast<std::time_t>(static_cast<int64_t>(f));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

absl::StatusOr<Value> OverTime(Evaluator& ev, const Call& call, std::string_view name,
                               std::vector<Value>& args, int64_t ts) {
  size_t mi = name == "quantile_over_time" ? 1 : 0;
  const EvalMatrix& mat = args[mi].mat;
  Value out = VectorValue();
  double q = 0;
  if (name == "quantile_over_time") {
    q = args[0].scalar;
    if (std::isnan(q) || q < 0 || q > 1) {
      ev.Warn(fmt::format("PromQL warning: quantile value should be between 0 and 1, got {}",
                          FormatNumber(q)),
              &call.args[0]->pos);
    }
  }
  double sf = 0, tf = 0;
  if (name == "double_exponential_smoothing") {
    sf = args[1].scalar;
    tf = args[2].scalar;
    if (!(sf > 0 && sf < 1)) {
      return absl::FailedPreconditionError(
          fmt::format("invalid smoothing factor. Expected: 0 < sf < 1, got: {:f}", sf));
    }
    if (!(tf > 0 && tf < 1)) {
      return absl::FailedPreconditionError(
          fmt::format("invalid trend factor. Expected: 0 < tf < 1, got: {:f}", tf));
    }
  }
  // The functions of the window alone; the rest take parameters or are rarely used.
  const std::optional<WindowFunc> window = WindowFuncByName(name);
  for (const auto& s : mat) {
    std::span<const FloatPoint> p = s.points();
    double r = 0;
    bool keep_name = false;
    if (window) {
      if (!EvalWindow(*window, p, 0, 0, &r)) continue;
      keep_name = KeepsName(*window);
    } else if (name == "ts_of_min_over_time" || name == "ts_of_max_over_time") {
      bool mx = name == "ts_of_max_over_time";
      double best = p[0].f;
      int64_t bt = p[0].t;
      for (const auto& x : p) {
        if ((mx ? x.f >= best : x.f <= best) || std::isnan(best)) {
          best = x.f;
          bt = x.t;
        }
      }
      r = static_cast<double>(bt) / 1000;
    } else if (name == "ts_of_last_over_time") {
      r = static_cast<double>(p.back().t) / 1000;
    } else if (name == "ts_of_first_over_time") {
      r = static_cast<double>(p.front().t) / 1000;
    } else if (name == "quantile_over_time") {
      std::vector<double> vals;
      for (const auto& x : p) vals.push_back(x.f);
      r = Quantile(q, vals);
    } else if (name == "mad_over_time") {
      std::vector<double> vals;
      for (const auto& x : p) vals.push_back(x.f);
      if (std::any_of(vals.begin(), vals.end(), [](double x) { return std::isnan(x); })) {
        out.vec.push_back({s.metric, kNaN, ts, true});
        continue;
      }
      double median = Quantile(0.5, vals);
      for (auto& v : vals) v = std::fabs(v - median);
      r = Quantile(0.5, vals);
    } else if (name == "predict_linear") {
      if (p.size() < 2) continue;
      double slope, intercept;
      LinearRegression(p, ts, &slope, &intercept);
      r = slope * args[1].scalar + intercept;
    } else if (name == "double_exponential_smoothing") {
      if (p.size() < 2) continue;
      double s0 = 0, s1 = p[0].f, b = p[1].f - p[0].f;
      for (size_t i = 1; i < p.size(); ++i) {
        double x = sf * p[i].f;
        if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      r = s1;
    } else {
      return absl::UnimplementedError(fmt::format("function {} is not supported", name));
    }
    out.vec.push_back({s.metric, r, ts, keep_name ? s.drop_name : true});
  }
  return out;
}

absl::StatusOr<Value> RateLike(Evaluator& ev, const Call& call, std::string_view name,
                               std::vector<Value>& args, int64_t ts) {
  // The window of the argument: selector range, offset and @ as the evaluator applied them.
  const Expr& arg = Unparen(*call.args[0]);
  int64_t range = 0, ref = ts;
  if (arg.kind() == NodeKind::kMatrixSelector) {
    const auto& ms = arg.As<MatrixSelector>();
    range = absl::ToInt64Milliseconds(ms.range);
    const auto& vs = ms.selector();
    int64_t at = vs.at.kind == AtKind::kNone        ? ts
                 : vs.at.kind == AtKind::kTimestamp ? vs.at.timestamp_ms
                 : vs.at.kind == AtKind::kStart     ? ev.start_ms()
                                                    : ev.end_ms();
    ref = at - absl::ToInt64Milliseconds(vs.offset.offset);
    if (name == "rate" || name == "increase") {
      std::string_view metric = vs.name;
      if (!metric.empty() && !metric.ends_with("_total") && !metric.ends_with("_sum") &&
          !metric.ends_with("_count") && !metric.ends_with("_bucket") && !args[0].mat.empty()) {
        ev.Info(fmt::format("PromQL info: metric might not be a counter, name does not end in "
                            "_total/_sum/_count/_bucket: \"{}\"",
                            metric),
                &call.args[0]->pos);
      }
    }
  } else if (arg.kind() == NodeKind::kSubquery) {
    const auto& sq = arg.As<SubqueryExpr>();
    range = absl::ToInt64Milliseconds(sq.range);
    int64_t at = sq.at.kind == AtKind::kNone        ? ts
                 : sq.at.kind == AtKind::kTimestamp ? sq.at.timestamp_ms
                 : sq.at.kind == AtKind::kStart     ? ev.start_ms()
                                                    : ev.end_ms();
    ref = at - absl::ToInt64Milliseconds(sq.offset.offset);
  }
  Value out = VectorValue();
  out.vec.reserve(args[0].mat.size());
  bool counter = name != "delta";
  bool rate = name == "rate";
  // anchored/smoothed windows already carry their edge values: no extrapolation.
  bool edges = arg.kind() == NodeKind::kMatrixSelector &&
               arg.As<MatrixSelector>().selector().range_modifier != RangeModifier::kNone;
  for (const auto& s : args[0].mat) {
    double r;
    if (edges) {
      std::span<const FloatPoint> p = s.points();
      if (p.size() < 2 && !(p.size() == 1 && p[0].t != ref - range)) {
        if (p.empty()) continue;
      }
      r = p.back().f - p.front().f;
      if (counter) {
        for (size_t i = 1; i < p.size(); ++i) {
          if (p[i].f < p[i - 1].f) r += p[i - 1].f;
        }
      }
      if (rate) r /= static_cast<double>(range) / 1000;
      out.vec.push_back({s.metric, r, ts, true});
      continue;
    }
    if (!ExtrapolatedRate(s.points(), ref - range, ref, counter, rate, &r)) continue;
    out.vec.push_back({s.metric, r, ts, true});
  }
  return out;
}

// histogram_quantile (fraction false) and histogram_fraction over classic `le` buckets.
// `in_index` is the argument holding the buckets.
absl::StatusOr<Value> ClassicHistogram(Evaluator& ev, const Expr& param_expr, const Expr& in_expr,
                                       std::vector<Value>& args, int64_t ts, bool fraction,
                                       size_t in_index) {
  double q = args[0].scalar;
  if (!fraction && (std::isnan(q) || q < 0 || q > 1)) {
    ev.Warn(fmt::format("PromQL warning: quantile value should be between 0 and 1, got {}",
                        FormatNumber(q)),
            &param_expr.pos);
  }
  const Value& in = args[in_index];
  struct Group {
    model::Labels metric;
    std::vector<BucketPoint> buckets;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<model::Labels, size_t, LabelsHash> index;
  for (const auto& s : in.vec) {
    std::string_view le = s.metric.Get("le");
    double upper = 0;
    if (!ParseBucketBound(le, &upper)) {
      ev.Warn(fmt::format("PromQL warning: bucket label \"le\" is missing or has a malformed "
                          "value of \"{}\" for metric name \"{}\"",
                          le, s.metric.MetricName()),
              &in_expr.pos);
      continue;
    }
    // Grouped with the name still on (it goes at the end, delayed), so that buckets of two
    // histograms never mix.
    model::LabelsBuilder b(s.metric);
    b.Del("le");
    model::Labels key = b.Build();
    auto [it, inserted] = index.try_emplace(key, groups.size());
    if (inserted) groups.push_back({key, {}});
    groups[it->second].buckets.push_back({upper, s.f});
  }
  Value out = VectorValue();
  for (auto& g : groups) {
    bool forced = false;
    double r = fraction ? BucketFraction(args[0].scalar, args[1].scalar, g.buckets)
                        : BucketQuantile(q, g.buckets, &forced);
    if (forced) {
      ev.Info(
          "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see "
          "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) "
          "for metric name \"\"",
          &in_expr.pos);
    }
    out.vec.push_back({g.metric, r, ts, true});
  }
  return out;
}

using MathFn = double (*)(double);

const absl::flat_hash_map<std::string_view, MathFn>& MathFunctions() {
  static const auto* m = new absl::flat_hash_map<std::string_view, MathFn>{
      {"abs", [](double x) { return std::fabs(x); }},
      {"ceil", [](double x) { return std::ceil(x); }},
      {"floor", [](double x) { return std::floor(x); }},
      {"exp", [](double x) { return std::exp(x); }},
      {"ln", [](double x) { return std::log(x); }},
      {"log2", [](double x) { return std::log2(x); }},
      {"log10", [](double x) { return std::log10(x); }},
      {"sqrt", [](double x) { return std::sqrt(x); }},
      {"sin", [](double x) { return std::sin(x); }},
      {"cos", [](double x) { return std::cos(x); }},
      {"tan", [](double x) { return std::tan(x); }},
      {"asin", [](double x) { return std::asin(x); }},
      {"acos", [](double x) { return std::acos(x); }},
      {"atan", [](double x) { return std::atan(x); }},
      {"sinh", [](double x) { return std::sinh(x); }},
      {"cosh", [](double x) { return std::cosh(x); }},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"asinh", [](double x) { return std::asinh(x); }},
      {"acosh", [](double x) { return std::acosh(x); }},
      {"atanh", [](double x) { return std::atanh(x); }},
      {"deg", [](double x) { return x * 180 / std::numbers::pi; }},
      {"rad", [](double x) { return x * std::numbers::pi / 180; }},
      {"sgn",
       [](double x) {
         if (x > 0) return 1.0;
         if (x < 0) return -1.0;
         return x;
       }},
  };
  return *m;
}

absl::StatusOr<Value> DateFunction(std::string_view name, std::vector<Value>& args, int64_t ts) {
  EvalVector in;
  if (args.empty()) {
    in.push_back({model::Labels(), static_cast<double>(ts) / 1000, ts, false});
  } else {
    in = std::move(args[0].vec);
  }
  Value out = VectorValue();
  for (auto& s : in) {
    if (std::isnan(s.f) || std::isinf(s.f)) {
      s.f = kNaN;
    } else {
      std::tm tm = UtcTime(std::floor(s.f));
      int year = tm.tm_year + 1900;
      if (name == "day_of_month") {
        s.f = tm.tm_mday;
      } else if (name == "day_of_week") {
        s.f = tm.tm_wday;
      } else if (name == "day_of_year") {
        s.f = tm.tm_yday + 1;
      } else if (name == "days_in_month") {
        static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        s.f = kDays[tm.tm_mon] + (tm.tm_mon == 1 && IsLeap(year) ? 1 : 0);
      } else if (name == "hour") {
        s.f = tm.tm_hour;
      } else if (name == "minute") {
        s.f = tm.tm_min;
      } else if (name == "month") {
        s.f = tm.tm_mon + 1;
      } else {
        s.f = year;
      }
    }
    s.t = ts;
    s.drop_name = true;
    out.vec.push_back(std::move(s));
  }
  return out;
}

}  // namespace

absl::StatusOr<Value> CallFunction(Evaluator& ev, const Call& call, std::vector<Value>& args,
                                   int64_t ts) {
  std::string_view name = call.func->name;
  if (auto it = MathFunctions().find(name); it != MathFunctions().end()) {
    Value out = VectorValue();
    for (auto& s : args[0].vec) {
      s.f = it->second(s.f);
      s.t = ts;
      s.drop_name = true;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  if (name == "rate" || name == "increase" || name == "delta") {
    return RateLike(ev, call, name, args, ts);
  }
  if (name.ends_with("_over_time") || name == "changes" || name == "resets" || name == "irate" ||
      name == "idelta" || name == "deriv" || name == "predict_linear" ||
      name == "double_exponential_smoothing") {
    if (name == "absent_over_time") {
      Value out = VectorValue();
      if (args[0].mat.empty()) out.vec.push_back({AbsentLabels(*call.args[0]), 1, ts, false});
      return out;
    }
    return OverTime(ev, call, name, args, ts);
  }
  if (name == "time") {
    Value v;
    v.type = ValueType::kScalar;
    v.scalar = static_cast<double>(ts) / 1000;
    return v;
  }
  if (name == "pi") {
    Value v;
    v.type = ValueType::kScalar;
    v.scalar = std::numbers::pi;
    return v;
  }
  if (name == "scalar") {
    Value v;
    v.type = ValueType::kScalar;
    v.scalar = args[0].vec.size() == 1 ? args[0].vec[0].f : kNaN;
    return v;
  }
  if (name == "vector") {
    Value out = VectorValue();
    out.vec.push_back({model::Labels(), args[0].scalar, ts, false});
    return out;
  }
  if (name == "absent") {
    Value out = VectorValue();
    if (args[0].vec.empty()) out.vec.push_back({AbsentLabels(*call.args[0]), 1, ts, false});
    return out;
  }
  if (name == "timestamp") {
    bool raw = Unparen(*call.args[0]).kind() == NodeKind::kVectorSelector;
    Value out = VectorValue();
    for (auto& s : args[0].vec) {
      s.f = static_cast<double>(raw ? s.t : ts) / 1000;
      s.t = ts;
      s.drop_name = true;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  if (name == "round" || name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    Value out = VectorValue();
    double lo = -kInf, hi = kInf, to_nearest = 1;
    if (name == "round" && args.size() > 1) to_nearest = args[1].scalar;
    if (name == "clamp") {
      lo = args[1].scalar;
      hi = args[2].scalar;
      if (hi < lo) return out;
    }
    if (name == "clamp_min") lo = args[1].scalar;
    if (name == "clamp_max") hi = args[1].scalar;
    for (auto& s : args[0].vec) {
      if (name == "round") {
        double inv = 1.0 / to_nearest;
        s.f = std::floor(s.f * inv + 0.5) / inv;
      } else if (std::isnan(s.f) || std::isnan(lo) || std::isnan(hi)) {
        s.f = kNaN;
      } else {
        s.f = std::max(lo, std::min(hi, s.f));
      }
      s.t = ts;
      s.drop_name = true;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  if (name == "day_of_month" || name == "day_of_week" || name == "day_of_year" ||
      name == "days_in_month" || name == "hour" || name == "minute" || name == "month" ||
      name == "year") {
    return DateFunction(name, args, ts);
  }
  if (name == "sort" || name == "sort_desc") {
    bool desc = name == "sort_desc";
    Value out = VectorValue();
    out.vec = std::move(args[0].vec);
    std::stable_sort(out.vec.begin(), out.vec.end(), [desc](const auto& a, const auto& b) {
      if (std::isnan(a.f)) return false;
      if (std::isnan(b.f)) return true;
      return desc ? a.f > b.f : a.f < b.f;
    });
    return out;
  }
  if (name == "sort_by_label" || name == "sort_by_label_desc") {
    bool desc = name == "sort_by_label_desc";
    std::vector<std::string> labels;
    for (size_t i = 1; i < args.size(); ++i) labels.push_back(args[i].str);
    Value out = VectorValue();
    out.vec = std::move(args[0].vec);
    std::stable_sort(out.vec.begin(), out.vec.end(), [&](const auto& a, const auto& b) {
      for (const auto& l : labels) {
        std::string_view x = a.metric.Get(l), y = b.metric.Get(l);
        if (x == y) continue;
        return desc ? NaturalLess(y, x) : NaturalLess(x, y);
      }
      return desc ? b.metric < a.metric : a.metric < b.metric;
    });
    return out;
  }
  if (name == "label_replace") {
    const std::string& dst = args[1].str;
    const std::string& repl = args[2].str;
    const std::string& src = args[3].str;
    RE2 re("^(?:" + args[4].str + ")$", RE2::Quiet);
    if (!re.ok()) {
      return absl::FailedPreconditionError(
          fmt::format("invalid regular expression in label_replace(): {}", args[4].str));
    }
    if (!ValidLabelName(dst)) {
      return absl::FailedPreconditionError(
          fmt::format("invalid destination label name in label_replace(): {}", dst));
    }
    Value out = VectorValue();
    std::vector<re2::StringPiece> groups(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1);
    for (auto& s : args[0].vec) {
      std::string value(s.metric.Get(src));
      if (re.Match(value, 0, value.size(), RE2::UNANCHORED, groups.data(),
                   static_cast<int>(groups.size()))) {
        std::string res = Expand(repl, re, groups);
        model::LabelsBuilder b(s.metric);
        b.Set(dst, res);
        s.metric = b.Build();
        if (dst == model::kMetricName) s.drop_name = false;
      }
      s.t = ts;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  if (name == "label_join") {
    const std::string& dst = args[1].str;
    const std::string& sep = args[2].str;
    if (!ValidLabelName(dst)) {
      return absl::FailedPreconditionError(
          fmt::format("invalid destination label name in label_join(): {}", dst));
    }
    Value out = VectorValue();
    for (auto& s : args[0].vec) {
      std::string joined;
      for (size_t i = 3; i < args.size(); ++i) {
        if (i > 3) joined += sep;
        joined += s.metric.Get(args[i].str);
      }
      model::LabelsBuilder b(s.metric);
      b.Set(dst, joined);
      s.metric = b.Build();
      if (dst == model::kMetricName) s.drop_name = false;
      s.t = ts;
      out.vec.push_back(std::move(s));
    }
    return out;
  }
  if (name == "histogram_quantile")
    return ClassicHistogram(ev, *call.args[0], *call.args[1], args, ts, false, 1);
  if (name == "histogram_fraction")
    return ClassicHistogram(ev, *call.args[0], *call.args[2], args, ts, true, 2);
  if (name == "histogram_quantiles") {
    // histogram_quantiles(v, "label", q...): one histogram_quantile per q, labelled with it.
    Value out = VectorValue();
    const std::string& label = args[1].str;
    if (!ValidLabelName(label)) {
      return absl::FailedPreconditionError(fmt::format("invalid label name \"{}\"", label));
    }
    for (size_t i = 2; i < args.size(); ++i) {
      std::vector<Value> one(2);
      one[0] = args[i];
      one[1] = args[0];
      ORIEL_ASSIGN_OR_RETURN(Value r,
                             ClassicHistogram(ev, *call.args[i], *call.args[0], one, ts, false, 1));
      std::string qs = FormatNumber(args[i].scalar);
      if (qs.find_first_of(".eIN") == std::string::npos) qs += ".0";
      for (auto& s : r.vec) {
        model::LabelsBuilder b(s.metric);
        b.Set(label, qs);
        s.metric = b.Build();
        out.vec.push_back(std::move(s));
      }
    }
    return out;
  }
  if (name == "start" || name == "end" || name == "range" || name == "step") {
    Value v;
    v.type = ValueType::kScalar;
    int64_t ms = name == "start"   ? ev.start_ms()
                 : name == "end"   ? ev.end_ms()
                 : name == "range" ? ev.end_ms() - ev.start_ms()
                                   : ev.step_ms();
    v.scalar = static_cast<double>(ms) / 1000;
    return v;
  }
  if (name == "min_of" || name == "max_of") {
    Value v;
    v.type = ValueType::kScalar;
    v.scalar = args[0].scalar;
    for (const auto& a : args) {
      if (std::isnan(a.scalar) || std::isnan(v.scalar)) {
        v.scalar = kNaN;
        break;
      }
      v.scalar = name == "min_of" ? std::min(v.scalar, a.scalar) : std::max(v.scalar, a.scalar);
    }
    return v;
  }
  if (name == "histogram_count" || name == "histogram_sum" || name == "histogram_avg" ||
      name == "histogram_stddev" || name == "histogram_stdvar") {
    // These read native histograms only; float samples contribute nothing.
    return VectorValue();
  }
  return absl::UnimplementedError(fmt::format("function {} is not supported", name));
}

}  // namespace oriel::promql
