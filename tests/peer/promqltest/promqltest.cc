#include "promqltest.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "model/sample.h"
#include "promql/engine/engine.h"
#include "promql/parser/number_format.h"
#include "promql/parser/parser.h"
#include "re2/re2.h"
#include "tsdb/db.h"

namespace oriel::peer {
namespace {

using promql::Engine;
using promql::QueryResult;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Prometheus durations ("1h30m", "5m", "0", "-10s"), in milliseconds.
std::optional<int64_t> ParseDurationMs(std::string_view s) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) return std::nullopt;
    int64_t n = std::stoll(std::string(s.substr(i, j - i)));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string_view unit = s.substr(j, k - j);
    int64_t mult;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60000;
    } else if (unit == "h") {
      mult = 3600000;
    } else if (unit == "d") {
      mult = 86400000;
    } else if (unit == "w") {
      mult = 7 * 86400000LL;
    } else if (unit == "y") {
      mult = 365 * 86400000LL;
    } else {
      return std::nullopt;
    }
    total += n * mult;
    i = k;
  }
  return neg ? -total : total;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s == "Inf" || s == "+Inf" || s == "inf" || s == "+inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-Inf" || s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "stale") return model::StaleNaN();
  std::string str(s);
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end == str.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// One value slot of a series description; nullopt is `_` (no sample).
using Slot = std::optional<double>;

// Expands `a+bxN`, `a-bxN`, `axN`, `_`, `_xN`, `stale`, numbers. False on histograms or junk.
bool ParseValues(const std::vector<std::string>& tokens, std::vector<Slot>* out, bool* histogram) {
  for (const auto& tok : tokens) {
    if (tok.find("{{") != std::string::npos || tok.find("}}") != std::string::npos) {
      *histogram = true;
      return false;
    }
    if (tok == "_") {
      out->push_back(std::nullopt);
      continue;
    }
    size_t x = tok.rfind('x');
    if (x != std::string::npos && x > 0) {
      std::string base = tok.substr(0, x);
      std::string count = tok.substr(x + 1);
      if (count.empty() || !std::all_of(count.begin(), count.end(), ::isdigit)) return false;
      int64_t n = std::stoll(count);
      if (base == "_") {
        for (int64_t i = 0; i < n; ++i) out->push_back(std::nullopt);
        continue;
      }
      // Split "a+b" / "a-b" at a sign that is neither leading nor an exponent's.
      size_t sign = std::string::npos;
      for (size_t i = 1; i < base.size(); ++i) {
        if ((base[i] == '+' || base[i] == '-') && base[i - 1] != 'e' && base[i - 1] != 'E') {
          sign = i;
          break;
        }
      }
      double start, inc = 0;
      if (sign == std::string::npos) {
        auto v = ParseNumber(base);
        if (!v) return false;
        start = *v;
      } else {
        auto a = ParseNumber(base.substr(0, sign));
        auto b = ParseNumber(base.substr(sign + 1));
        if (!a || !b) return false;
        start = *a;
        inc = base[sign] == '-' ? -*b : *b;
      }
      double k = start;
      for (int64_t i = 0; i <= n; ++i) {
        out->push_back(k);
        k += inc;
      }
      continue;
    }
    auto v = ParseNumber(tok);
    if (!v) return false;
    out->push_back(*v);
  }
  return true;
}

std::vector<std::string> SplitWs(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if ((c == ' ' || c == '\t') && depth == 0) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Splits `metric{labels} values...` into the series text and the rest.
bool SplitSeriesLine(std::string_view line, std::string* series, std::string* rest) {
  size_t i = 0;
  bool in_quote = false;
  char q = 0;
  int depth = 0;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (in_quote) {
      if (c == '\\') {
        ++i;
      } else if (c == q) {
        in_quote = false;
      }
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      in_quote = true;
      q = c;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
      if (depth == 0) {
        ++i;
        break;
      }
    } else if ((c == ' ' || c == '\t') && depth == 0) {
      break;
    }
  }
  *series = Trim(line.substr(0, i));
  *rest = Trim(line.substr(std::min(i, line.size())));
  return !series->empty();
}

std::optional<model::Labels> ParseSeriesLabels(std::string_view text) {
  auto matchers = promql::ParseMetricSelector(text);
  if (!matchers.ok()) {
    // `{}` or a selector without a non-empty matcher is still a valid expected label set.
    if (Trim(text) == "{}") return model::Labels();
    return std::nullopt;
  }
  std::vector<model::Label> labels;
  for (const auto& m : *matchers) {
    if (m.type() != model::MatchType::kEqual) return std::nullopt;
    labels.push_back({m.name(), m.value()});
  }
  return model::Labels::FromUnsorted(std::move(labels));
}

bool AlmostEqual(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  constexpr double kEps = 1e-6;
  double abs_sum = std::fabs(a) + std::fabs(b);
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEps * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEps;
}

struct ExpectedSeries {
  model::Labels labels;
  std::vector<Slot> values;
};

struct EvalCmd {
  int line = 0;
  bool range = false;
  int64_t start = 0, end = 0, step = 0;
  std::string expr;
  bool fail = false;
  std::string fail_msg, fail_regex;
  bool ordered = false;
  std::optional<bool> warn, info;  // expect warn / no_warn
  std::string warn_msg, info_msg;
  std::vector<ExpectedSeries> series;
  std::optional<double> scalar;
  std::optional<std::string> string_value;
  bool expect_matrix = false;  // expect range vector from .. to .. step ..
  int64_t m_start = 0, m_end = 0, m_step = 0;
  bool histograms = false;
  std::string error;  // malformed command
};

std::string FormatValue(double v) { return promql::FormatNumber(v); }

std::string DescribeExpected(const EvalCmd& c) {
  std::string out;
  if (c.scalar) return "scalar " + FormatValue(*c.scalar);
  if (c.string_value) return "string \"" + *c.string_value + "\"";
  for (const auto& s : c.series) {
    out += "\n    " + s.labels.ToString() + " ";
    for (const auto& v : s.values) out += (v ? FormatValue(*v) : "_") + " ";
  }
  return out.empty() ? "(empty)" : out;
}

std::string DescribeActual(const QueryResult& r) {
  std::string out;
  if (auto* s = std::get_if<promql::Scalar>(&r.value)) return "scalar " + FormatValue(s->v);
  if (auto* s = std::get_if<promql::String>(&r.value)) return "string \"" + s->v + "\"";
  if (auto* v = std::get_if<promql::Vector>(&r.value)) {
    for (const auto& s : *v) out += "\n    " + s.metric.ToString() + " " + FormatValue(s.f);
  }
  if (auto* m = std::get_if<promql::Matrix>(&r.value)) {
    for (const auto& s : *m) {
      out += "\n    " + s.metric.ToString() + " ";
      for (const auto& p : s.floats) out += fmt::format("{}@{} ", FormatValue(p.f), p.t / 1000.0);
    }
  }
  return out.empty() ? "(empty)" : out;
}

// Compares a result with the expectation; "" when they agree.
std::string Compare(const EvalCmd& c, const QueryResult& r, bool as_range) {
  if (c.string_value) {
    auto* s = std::get_if<promql::String>(&r.value);
    if (s == nullptr || s->v != *c.string_value) return "string mismatch";
    return "";
  }
  if (auto* s = std::get_if<promql::Scalar>(&r.value)) {
    if (!c.scalar) return "unexpected scalar result";
    if (!AlmostEqual(s->v, *c.scalar)) return "scalar value mismatch";
    return "";
  }
  if (c.scalar) return "expected a scalar";
  if (auto* v = std::get_if<promql::Vector>(&r.value)) {
    if (c.range || c.expect_matrix) return "expected a matrix, got a vector";
    if (v->size() != c.series.size()) {
      return fmt::format("expected {} samples, got {}", c.series.size(), v->size());
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const auto& s = (*v)[i];
      auto it = std::find_if(c.series.begin(), c.series.end(),
                             [&](const auto& e) { return e.labels == s.metric; });
      if (it == c.series.end()) return "unexpected series " + s.metric.ToString();
      if (c.ordered && !as_range && static_cast<size_t>(it - c.series.begin()) != i) {
        return "wrong order at " + s.metric.ToString();
      }
      if (it->values.size() != 1 || !it->values[0]) return "bad expected value";
      if (!AlmostEqual(*it->values[0], s.f)) return "value mismatch for " + s.metric.ToString();
    }
    return "";
  }
  if (auto* m = std::get_if<promql::Matrix>(&r.value)) {
    if (!c.range && !c.expect_matrix) return "expected a vector, got a matrix";
    int64_t start = c.range ? c.start : c.m_start;
    int64_t step = c.range ? c.step : c.m_step;
    size_t nonempty = 0;
    for (const auto& e : c.series) {
      if (std::any_of(e.values.begin(), e.values.end(),
                      [](const Slot& x) { return x.has_value(); }))
        ++nonempty;
    }
    if (m->size() != nonempty) {
      return fmt::format("expected {} series, got {}", nonempty, m->size());
    }
    for (const auto& s : *m) {
      auto it = std::find_if(c.series.begin(), c.series.end(),
                             [&](const auto& e) { return e.labels == s.metric; });
      if (it == c.series.end()) return "unexpected series " + s.metric.ToString();
      std::vector<promql::FloatPoint> want;
      for (size_t i = 0; i < it->values.size(); ++i) {
        if (it->values[i]) want.push_back({start + static_cast<int64_t>(i) * step, *it->values[i]});
      }
      if (want.size() != s.floats.size()) {
        return fmt::format("expected {} points for {}, got {}", want.size(), s.metric.ToString(),
                           s.floats.size());
      }
      for (size_t i = 0; i < want.size(); ++i) {
        if (want[i].t != s.floats[i].t || !AlmostEqual(want[i].f, s.floats[i].f)) {
          return fmt::format("point {} of {} differs", i, s.metric.ToString());
        }
      }
    }
    return "";
  }
  return "unexpected result type";
}

// Sets `@ ts` on every selector and subquery outside an @-pinned subquery, as the reference
// runner does; false when the expression has a function whose value depends on the evaluation
// time even with step-invariant arguments (the reference runner skips those).
bool AddAtModifiers(promql::Expr& e, int64_t ts) {
  using promql::NodeKind;
  switch (e.kind()) {
    case NodeKind::kVectorSelector: {
      auto& vs = e.As<promql::VectorSelector>();
      if (vs.at.kind == promql::AtKind::kNone) vs.at = {promql::AtKind::kTimestamp, ts};
      return true;
    }
    case NodeKind::kMatrixSelector: {
      auto& vs = e.As<promql::MatrixSelector>().vector_selector->As<promql::VectorSelector>();
      if (vs.at.kind == promql::AtKind::kNone) vs.at = {promql::AtKind::kTimestamp, ts};
      return true;
    }
    case NodeKind::kSubquery: {
      auto& sq = e.As<promql::SubqueryExpr>();
      // Inside a pinned subquery nothing changes (and nothing is checked), as in the reference.
      if (sq.at.kind == promql::AtKind::kNone) sq.at = {promql::AtKind::kTimestamp, ts};
      return true;
    }
    case NodeKind::kParen:
      return AddAtModifiers(*e.As<promql::ParenExpr>().expr, ts);
    case NodeKind::kUnary:
      return AddAtModifiers(*e.As<promql::UnaryExpr>().expr, ts);
    case NodeKind::kBinary: {
      bool a = AddAtModifiers(*e.As<promql::BinaryExpr>().lhs, ts);
      bool b = AddAtModifiers(*e.As<promql::BinaryExpr>().rhs, ts);
      return a && b;
    }
    case NodeKind::kAggregate: {
      auto& ag = e.As<promql::AggregateExpr>();
      bool ok = true;
      if (ag.param) ok = AddAtModifiers(*ag.param, ts);
      return AddAtModifiers(*ag.expr, ts) && ok;
    }
    case NodeKind::kCall: {
      auto& c = e.As<promql::Call>();
      static const char* kUnsafe[] = {
          "days_in_month", "day_of_month", "day_of_week", "day_of_year",    "hour",
          "minute",        "month",        "year",        "predict_linear", "time",
          "timestamp",     "start",        "end",         "step",           "range"};
      bool ok = std::none_of(std::begin(kUnsafe), std::end(kUnsafe),
                             [&](const char* n) { return c.func->name == n; });
      for (auto& a : c.args) ok = AddAtModifiers(*a, ts) && ok;
      return ok;
    }
    default:
      return true;
  }
}

template <typename F>
void Walk(const promql::Expr& e, const F& f) {
  using promql::NodeKind;
  f(e);
  switch (e.kind()) {
    case NodeKind::kMatrixSelector:
      Walk(*e.As<promql::MatrixSelector>().vector_selector, f);
      break;
    case NodeKind::kSubquery:
      Walk(*e.As<promql::SubqueryExpr>().expr, f);
      break;
    case NodeKind::kParen:
      Walk(*e.As<promql::ParenExpr>().expr, f);
      break;
    case NodeKind::kUnary:
      Walk(*e.As<promql::UnaryExpr>().expr, f);
      break;
    case NodeKind::kBinary:
      Walk(*e.As<promql::BinaryExpr>().lhs, f);
      Walk(*e.As<promql::BinaryExpr>().rhs, f);
      break;
    case NodeKind::kAggregate:
      if (e.As<promql::AggregateExpr>().param) Walk(*e.As<promql::AggregateExpr>().param, f);
      Walk(*e.As<promql::AggregateExpr>().expr, f);
      break;
    case NodeKind::kCall:
      for (const auto& a : e.As<promql::Call>().args) Walk(*a, f);
      break;
    default:
      break;
  }
}

bool NonConstant(const std::unique_ptr<promql::DurationExpr>& d) {
  return d != nullptr && !d->IsConstant();
}

// Whether the value depends on the query's start, end or step (start(), step(), range() and
// duration expressions using them), which differ between an instant query and its range
// re-check by design.
bool DependsOnQueryRange(const promql::Expr& expr) {
  bool depends = false;
  Walk(expr, [&](const promql::Expr& e) {
    using promql::NodeKind;
    if (e.kind() == NodeKind::kCall) {
      std::string_view n = e.As<promql::Call>().func->name;
      if (n == "start" || n == "end" || n == "step" || n == "range") depends = true;
    } else if (e.kind() == NodeKind::kVectorSelector) {
      if (NonConstant(e.As<promql::VectorSelector>().offset.expr)) depends = true;
    } else if (e.kind() == NodeKind::kMatrixSelector) {
      if (NonConstant(e.As<promql::MatrixSelector>().range_expr)) depends = true;
    } else if (e.kind() == NodeKind::kSubquery) {
      const auto& sq = e.As<promql::SubqueryExpr>();
      if (NonConstant(sq.range_expr) || NonConstant(sq.step_expr) || NonConstant(sq.offset.expr)) {
        depends = true;
      }
    }
  });
  return depends;
}

class Runner {
 public:
  explicit Runner(std::string file) : file_(std::move(file)) {
    promql::EngineOptions opts;
    opts.max_samples = 10000;
    opts.parse_options = promql::ParseOptions::All();
    engine_ = std::make_unique<Engine>(opts);
  }

  std::vector<CaseResult> Run(const std::string& path);

 private:
  absl::Status Reset();
  absl::Status Load(const std::vector<std::string>& lines, int64_t step);
  void Eval(const EvalCmd& c);
  // Runs one query; "" on success, else the failure text.
  std::string RunInstant(const EvalCmd& c, const promql::Expr& expr, int64_t t, bool original);
  std::string CheckAnnotations(const EvalCmd& c, const QueryResult& r);
  void Add(int line, Outcome o, std::string detail) {
    results_.push_back({file_, line, o, std::move(detail)});
  }

  std::string file_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<tsdb::DB> db_;
  std::string dir_;
  int dir_seq_ = 0;
  bool nhcb_loaded_ = false;
  bool st_loaded_ = false;                       // start timestamps (`@st` series) were in a load
  std::vector<model::Labels> histogram_series_;  // loaded with native histogram samples
  std::vector<CaseResult> results_;
};

absl::Status Runner::Reset() {
  db_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
  dir_ = fmt::format("{}/oriel-promqltest-{}-{}", std::filesystem::temp_directory_path().string(),
                     getpid(), dir_seq_++);
  tsdb::DbOptions opts;
  opts.head.out_of_order_time_window_ms = std::numeric_limits<int64_t>::max() / 4;
  opts.max_labels_per_series = 0;
  auto db = tsdb::DB::Open(dir_, opts);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  nhcb_loaded_ = false;
  st_loaded_ = false;
  histogram_series_.clear();
  return absl::OkStatus();
}

absl::Status Runner::Load(const std::vector<std::string>& lines, int64_t step) {
  model::MetricBatch batch;
  std::map<model::Labels, std::map<int64_t, double>> merged;
  for (const auto& l : lines) {
    if (l.find("@st") != std::string::npos) {
      st_loaded_ = true;
      continue;
    }
    std::string series, rest;
    if (!SplitSeriesLine(l, &series, &rest)) {
      return absl::InvalidArgumentError("cannot parse load line: " + l);
    }
    auto labels = ParseSeriesLabels(series);
    if (!labels) return absl::InvalidArgumentError("cannot parse series: " + series);
    std::vector<Slot> values;
    bool hist = false;
    if (!ParseValues(SplitWs(rest), &values, &hist)) {
      if (hist) {
        histogram_series_.push_back(*labels);
        continue;
      }
      return absl::InvalidArgumentError("cannot parse values: " + rest);
    }
    // A series listed twice in one load: the later values win, as in the reference storage.
    auto& points = merged[*labels];
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i]) points[static_cast<int64_t>(i) * step] = *values[i];
    }
  }
  for (auto& [labels, points] : merged) {
    model::SeriesData sd;
    sd.labels = labels;
    for (const auto& [t, v] : points) sd.samples.push_back({t, v});
    batch.series.push_back(std::move(sd));
  }
  auto r = db_->Write(std::move(batch));
  if (!r.ok()) return r.status();
  if (r->samples_rejected > 0) {
    return absl::InternalError("storage rejected samples: " + r->first_rejection);
  }
  return absl::OkStatus();
}

std::string Runner::CheckAnnotations(const EvalCmd& c, const QueryResult& r) {
  if (c.warn) {
    if (*c.warn && r.warnings.empty()) return "expected warnings, got none";
    if (!*c.warn && !r.warnings.empty()) return "unexpected warning: " + r.warnings[0];
    if (*c.warn && !c.warn_msg.empty() &&
        std::find(r.warnings.begin(), r.warnings.end(), c.warn_msg) == r.warnings.end()) {
      return "warning mismatch, got: " + r.warnings[0];
    }
  }
  if (c.info) {
    if (*c.info && r.infos.empty()) return "expected infos, got none";
    if (!*c.info && !r.infos.empty()) return "unexpected info: " + r.infos[0];
    if (*c.info && !c.info_msg.empty() &&
        std::find(r.infos.begin(), r.infos.end(), c.info_msg) == r.infos.end()) {
      return "info mismatch, got: " + r.infos[0];
    }
  }
  return "";
}

std::string Runner::RunInstant(const EvalCmd& c, const promql::Expr& expr, int64_t t,
                               bool original) {
  auto r = engine_->Exec(*db_, expr, t, t, 0, true, {}, original ? c.expr : "");
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kUnimplemented)
      return "SKIP" + std::string(r.status().message());
    if (!c.fail) return fmt::format("error: {}", r.status().message());
    std::string msg(r.status().message());
    if (!c.fail_msg.empty() && msg != c.fail_msg) {
      return fmt::format("expected error \"{}\", got \"{}\"", c.fail_msg, msg);
    }
    if (!c.fail_regex.empty() && !RE2::PartialMatch(msg, c.fail_regex)) {
      return fmt::format("expected error matching \"{}\", got \"{}\"", c.fail_regex, msg);
    }
    return "";
  }
  if (c.fail) return "expected an error, got none";
  if (original) {
    std::string a = CheckAnnotations(c, *r);
    if (!a.empty()) return a;
  }
  std::string cmp = Compare(c, *r, false);
  if (!cmp.empty()) return cmp + "\n  actual:" + DescribeActual(*r);
  if (std::holds_alternative<promql::String>(r->value) ||
      std::holds_alternative<promql::Matrix>(r->value) || DependsOnQueryRange(expr)) {
    return "";
  }
  // The same query as a range query must agree at its middle step.
  auto rr = engine_->Exec(*db_, expr, t - 60000, t + 60000, 60000, false, {});
  if (!rr.ok()) return fmt::format("range mode error: {}", rr.status().message());
  if (c.ordered) return "";
  QueryResult mid;
  const auto& mat = std::get<promql::Matrix>(rr->value);
  promql::Vector vec;
  for (const auto& s : mat) {
    for (const auto& p : s.floats) {
      if (p.t == t) vec.push_back({s.metric, p.t, p.f});
    }
  }
  if (std::holds_alternative<promql::Scalar>(r->value)) {
    mid.value = promql::Scalar{t, vec.empty() ? std::nan("") : vec[0].f};
  } else {
    mid.value = std::move(vec);
  }
  cmp = Compare(c, mid, true);
  if (!cmp.empty()) return "range mode: " + cmp + "\n  actual:" + DescribeActual(mid);
  return "";
}

void Runner::Eval(const EvalCmd& c) {
  if (!c.error.empty()) {
    Add(c.line, Outcome::kFailed, c.error);
    return;
  }
  if (c.histograms || nhcb_loaded_) {
    Add(c.line, Outcome::kSkipped, "native histograms");
    return;
  }
  if (st_loaded_) {
    Add(c.line, Outcome::kSkipped, "start timestamps (@st series, experimental)");
    return;
  }
  promql::ParseOptions base = promql::ParseOptions::All();
  auto parsed = promql::ParseExpr(c.expr, base);
  if (parsed.ok()) {
    std::string missing;
    Walk(**parsed, [&](const promql::Expr& e) {
      if (e.kind() == promql::NodeKind::kVectorSelector) {
        const auto& vs = e.As<promql::VectorSelector>();
        for (const auto& h : histogram_series_) {
          if (std::all_of(vs.matchers.begin(), vs.matchers.end(),
                          [&](const model::Matcher& m) { return m.Matches(h.Get(m.name())); })) {
            missing = "native histograms";
          }
        }
      }
    });
    if (!missing.empty()) {
      Add(c.line, Outcome::kSkipped, missing);
      return;
    }
  }
  if (!parsed.ok()) {
    if (c.fail) {
      std::string msg(parsed.status().message());
      if ((!c.fail_msg.empty() && msg != c.fail_msg) ||
          (!c.fail_regex.empty() && !RE2::PartialMatch(msg, c.fail_regex))) {
        Add(c.line, Outcome::kFailed,
            fmt::format("{}\n  expected error: {}{}\n  actual error: {}", c.expr, c.fail_msg,
                        c.fail_regex, msg));
      } else {
        Add(c.line, Outcome::kPassed, "");
      }
    } else {
      Add(c.line, Outcome::kFailed,
          fmt::format("{}\n  parse error: {}", c.expr, parsed.status().message()));
    }
    return;
  }
  std::string err;
  if (c.range) {
    auto r = engine_->Exec(*db_, **parsed, c.start, c.end, c.step, false, {}, c.expr);
    if (!r.ok()) {
      if (r.status().code() == absl::StatusCode::kUnimplemented) {
        Add(c.line, Outcome::kSkipped, std::string(r.status().message()));
        return;
      }
      if (!c.fail) err = fmt::format("error: {}", r.status().message());
    } else if (c.fail) {
      err = "expected an error, got none";
    } else {
      err = CheckAnnotations(c, *r);
      if (err.empty()) {
        err = Compare(c, *r, false);
        if (!err.empty()) err += "\n  actual:" + DescribeActual(*r);
      }
    }
  } else {
    err = RunInstant(c, **parsed, c.start, true);
    if (err.empty() && !c.fail) {
      auto at = promql::ParseExpr(c.expr, base);
      if (at.ok() && AddAtModifiers(**at, c.start)) {
        std::vector<int64_t> times = {-10 * c.start, 0, c.start / 5, c.start, 10 * c.start};
        if (c.start == 0) times = {-1000, 0, 1000};
        for (int64_t t : times) {
          err = RunInstant(c, **at, t, false);
          if (!err.empty()) {
            err = fmt::format("with @ {} evaluated at {}: {}", c.start / 1000.0, t / 1000.0, err);
            break;
          }
        }
      }
    }
  }
  if (err.starts_with("SKIP")) {
    Add(c.line, Outcome::kSkipped, err.substr(4));
  } else if (!err.empty()) {
    Add(c.line, Outcome::kFailed,
        fmt::format("{}\n  expected:{}\n  {}", c.expr, DescribeExpected(c), err));
  } else {
    Add(c.line, Outcome::kPassed, "");
  }
}

std::vector<CaseResult> Runner::Run(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Add(0, Outcome::kFailed, "cannot read " + path);
    return results_;
  }
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  if (auto st = Reset(); !st.ok()) {
    Add(0, Outcome::kFailed, fmt::format("cannot open storage: {}", st.message()));
    return results_;
  }
  size_t i = 0;
  auto is_blank = [](const std::string& l) { return Trim(l).empty(); };
  while (i < lines.size()) {
    std::string line = Trim(lines[i]);
    int lineno = static_cast<int>(i) + 1;
    if (line.empty() || line[0] == '#') {
      ++i;
      continue;
    }
    // The block: this line and the following non-blank, non-comment lines.
    std::vector<std::string> body;
    size_t j = i + 1;
    while (j < lines.size() && !is_blank(lines[j])) {
      std::string t = Trim(lines[j]);
      if (!t.empty() && t[0] != '#') {
        // A new command at column 0 starts a new block.
        if (lines[j][0] != ' ' && lines[j][0] != '\t' &&
            (t.starts_with("eval") || t.starts_with("load") || t == "clear")) {
          break;
        }
        body.push_back(t);
      }
      ++j;
    }
    i = j;
    if (line == "clear") {
      if (auto st = Reset(); !st.ok()) {
        Add(lineno, Outcome::kFailed, fmt::format("cannot reset storage: {}", st.message()));
      }
      continue;
    }
    if (line.starts_with("load")) {
      auto parts = SplitWs(line);
      // load_with_nhcb also derives custom-bucket native histograms from the classic buckets;
      // those are not evaluated yet: only the classic float series are loaded, and evals that
      // select the derived series are skipped.
      if (parts[0] == "load_with_nhcb") {
        for (const auto& b : body) {
          std::string series, rest;
          if (!SplitSeriesLine(b, &series, &rest)) continue;
          auto labels = ParseSeriesLabels(series);
          if (!labels) continue;
          std::string name(labels->MetricName());
          for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
            if (name.size() > suffix.size() && name.ends_with(suffix)) {
              model::LabelsBuilder lb(*labels);
              lb.Set(model::kMetricName, name.substr(0, name.size() - suffix.size()));
              lb.Del("le");
              histogram_series_.push_back(lb.Build());
            }
          }
        }
      }
      auto step = parts.size() > 1 ? ParseDurationMs(parts[1]) : std::nullopt;
      if (!step) {
        Add(lineno, Outcome::kFailed, "cannot parse load command: " + line);
        continue;
      }
      if (auto st = Load(body, *step); !st.ok()) {
        Add(lineno, Outcome::kFailed, std::string(st.message()));
      }
      continue;
    }
    if (!line.starts_with("eval")) {
      Add(lineno, Outcome::kFailed, "unknown command: " + line);
      continue;
    }
    EvalCmd c;
    c.line = lineno;
    static const RE2 kInstant(
        R"(^eval(_fail|_warn|_info|_ordered)?\s+instant\s+at\s+(\S+)\s+(.+)$)");
    static const RE2 kRange(
        R"(^eval(_fail|_warn|_info|_ordered)?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$)");
    std::string mod, t0, t1, st;
    if (RE2::FullMatch(line, kInstant, &mod, &t0, &c.expr)) {
      auto t = ParseDurationMs(t0);
      if (!t) c.error = "cannot parse time " + t0;
      c.start = c.end = t.value_or(0);
    } else if (RE2::FullMatch(line, kRange, &mod, &t0, &t1, &st, &c.expr)) {
      c.range = true;
      auto a = ParseDurationMs(t0), b = ParseDurationMs(t1), s = ParseDurationMs(st);
      if (!a || !b || !s) c.error = "cannot parse range times";
      c.start = a.value_or(0);
      c.end = b.value_or(0);
      c.step = s.value_or(1);
    } else {
      Add(lineno, Outcome::kFailed, "cannot parse eval command: " + line);
      continue;
    }
    if (mod == "_fail") c.fail = true;
    if (mod == "_warn") c.warn = true;
    if (mod == "_info") c.info = true;
    if (mod == "_ordered") c.ordered = true;
    for (const auto& b : body) {
      if (b.find("{{") != std::string::npos) c.histograms = true;
      auto msg_of = [&](std::string_view rest, std::string* msg, std::string* regex) {
        std::string r = Trim(rest);
        if (r.starts_with("msg:")) *msg = Trim(r.substr(4));
        if (r.starts_with("regex:")) *regex = Trim(r.substr(6));
      };
      if (b.starts_with("expected_fail_message")) {
        c.fail_msg = Trim(b.substr(21));
        continue;
      }
      if (b.starts_with("expected_fail_regexp")) {
        c.fail_regex = Trim(b.substr(20));
        continue;
      }
      if (b.starts_with("expect ")) {
        std::string rest = Trim(b.substr(7));
        std::string unused;
        if (rest.starts_with("fail")) {
          c.fail = true;
          msg_of(rest.substr(4), &c.fail_msg, &c.fail_regex);
        } else if (rest.starts_with("no_warn")) {
          c.warn = false;
        } else if (rest.starts_with("warn")) {
          c.warn = true;
          msg_of(rest.substr(4), &c.warn_msg, &unused);
        } else if (rest.starts_with("no_info")) {
          c.info = false;
        } else if (rest.starts_with("info")) {
          c.info = true;
          msg_of(rest.substr(4), &c.info_msg, &unused);
        } else if (rest.starts_with("ordered")) {
          c.ordered = true;
        } else if (rest.starts_with("string")) {
          auto s = promql::UnquoteString(Trim(rest.substr(6)));
          if (s.ok()) c.string_value = *s;
        } else if (rest.starts_with("range vector")) {
          static const RE2 kMat(R"(range vector from (\S+) to (\S+) step (\S+))");
          if (RE2::FullMatch(rest, kMat, &t0, &t1, &st)) {
            c.expect_matrix = true;
            c.m_start = ParseDurationMs(t0).value_or(0);
            c.m_end = ParseDurationMs(t1).value_or(0);
            c.m_step = ParseDurationMs(st).value_or(1);
          }
        } else {
          c.error = "unknown expectation: " + b;
        }
        continue;
      }
      // A bare scalar, or a series with values.
      if (auto v = ParseNumber(b); v && b.find('{') == std::string::npos) {
        c.scalar = *v;
        continue;
      }
      std::string series, rest;
      if (!SplitSeriesLine(b, &series, &rest)) {
        c.error = "cannot parse expectation: " + b;
        continue;
      }
      auto labels = ParseSeriesLabels(series);
      std::vector<Slot> values;
      bool hist = false;
      if (!labels || !ParseValues(SplitWs(rest), &values, &hist)) {
        if (hist) {
          c.histograms = true;
        } else {
          c.error = "cannot parse expectation: " + b;
        }
        continue;
      }
      c.series.push_back({*labels, std::move(values)});
    }
    if (!c.fail && c.fail_msg.empty() && !c.fail_regex.empty()) c.fail = true;
    Eval(c);
  }
  db_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
  return results_;
}

}  // namespace

std::vector<CaseResult> RunTestFile(const std::string& path) {
  Runner r(std::filesystem::path(path).filename().string());
  return r.Run(path);
}

}  // namespace oriel::peer
