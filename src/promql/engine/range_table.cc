#include "promql/engine/range_table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "promql/engine/evaluator.h"
#include "promql/engine/histogram_quantile.h"

namespace oriel::promql {
namespace {

// Below this many series or steps a part, the work stays on one thread.
constexpr size_t kMinSeriesPerThread = 256;
constexpr size_t kMinStepsPerThread = 16;
// Deadline checks: one clock read per this many series.
constexpr size_t kDeadlineEvery = 1024;

size_t FirstAfter(std::span<const FloatPoint> pts, size_t from, int64_t t) {
  auto it = std::upper_bound(pts.begin() + static_cast<ptrdiff_t>(from), pts.end(), t,
                             [](int64_t t, const FloatPoint& p) { return t < p.t; });
  return static_cast<size_t>(it - pts.begin());
}

}  // namespace

absl::Status CheckTableDeadline(absl::Time deadline) {
  if (absl::Now() > deadline) {
    return absl::DeadlineExceededError("query timed out in expression evaluation");
  }
  return absl::OkStatus();
}

WindowSource::WindowSource(WindowFunc f, std::vector<model::Labels> metrics,
                           std::vector<std::span<const FloatPoint>> floats, int64_t first_ref,
                           int64_t step, int64_t range, bool drop_name, uint32_t first_rank)
    : f_(f),
      metrics_(std::move(metrics)),
      floats_(std::move(floats)),
      first_ref_(first_ref),
      step_(step),
      range_(range),
      drop_name_(drop_name),
      first_rank_(first_rank) {}

namespace {

// One series' row with the window function fixed at compile time, so that the function's code
// is inlined into the walk rather than dispatched per step.
template <WindowFunc F>
void WindowRow(std::span<const FloatPoint> pts, int64_t ref, int64_t step, int64_t range, size_t w,
               double* values, uint8_t* present, int64_t* samples) {
  // The window's edges are searched once, then only move forward from step to step.
  size_t lo = FirstAfter(pts, 0, ref - range);
  size_t hi = FirstAfter(pts, lo, ref);
  constexpr bool kCounter = F == WindowFunc::kRate || F == WindowFunc::kIncrease;
  // The first counter reset (a sample below the one before it) at or after index `reset`:
  // rate and increase walk a window for its resets only when one lies inside it. It only moves
  // forward, so the series is scanned for resets once for all its windows.
  size_t reset = 0;
  for (size_t j = 0; j < w; ++j, ref += step) {
    while (lo < pts.size() && pts[lo].t <= ref - range) ++lo;
    hi = std::max(hi, lo);
    while (hi < pts.size() && pts[hi].t <= ref) ++hi;
    samples[j] += static_cast<int64_t>(hi - lo);
    double r = 0;
    if constexpr (kCounter) {
      if (hi - lo < 2) {
        present[j] = 0;
        values[j] = 0;
        continue;
      }
      // A reset at index k is between samples k - 1 and k: in the window when lo < k < hi.
      if (reset <= lo) reset = lo + 1;
      while (reset < hi && !(pts[reset].f < pts[reset - 1].f)) ++reset;
      if (reset >= hi) {
        // No reset: the increase is last minus first, as ExtrapolatedRate's walk would find.
        r = ExtrapolateIncrease(pts.subspan(lo, hi - lo), pts[hi - 1].f - pts[lo].f, ref - range,
                                ref, true, F == WindowFunc::kRate);
        present[j] = 1;
        values[j] = r;
        continue;
      }
    }
    present[j] = EvalWindow(F, pts.subspan(lo, hi - lo), ref - range, ref, &r) ? 1 : 0;
    values[j] = r;
  }
}

using WindowRowFn = void (*)(std::span<const FloatPoint>, int64_t, int64_t, int64_t, size_t,
                             double*, uint8_t*, int64_t*);

template <size_t... I>
constexpr std::array<WindowRowFn, sizeof...(I)> WindowRows(std::index_sequence<I...>) {
  return {&WindowRow<static_cast<WindowFunc>(I)>...};
}

constexpr auto kWindowRows =
    WindowRows(std::make_index_sequence<static_cast<size_t>(WindowFunc::kLast) + 1>());

}  // namespace

void WindowSource::Row(size_t i, size_t a, size_t b, double* values, uint8_t* present,
                       uint32_t* rank, int64_t* samples) const {
  kWindowRows[static_cast<size_t>(f_)](floats_[i], first_ref_ + static_cast<int64_t>(a) * step_,
                                       step_, range_, b - a, values, present, samples);
  std::fill_n(rank, b - a, first_rank_ + static_cast<uint32_t>(i));
}

void TableSource::Row(size_t i, size_t a, size_t b, double* values, uint8_t* present,
                      uint32_t* rank, int64_t* /*samples*/) const {
  const size_t at = i * t_.steps + a;
  std::copy_n(t_.values.data() + at, b - a, values);
  std::copy_n(t_.present.data() + at, b - a, present);
  if (t_.rank.empty()) {
    std::fill_n(rank, b - a, static_cast<uint32_t>(i));
  } else {
    std::copy_n(t_.rank.data() + at, b - a, rank);
  }
}

absl::Status AppendRows(const WindowSource& in, absl::Time deadline, WorkerPool& pool,
                        StepTable* t) {
  const size_t n = in.size();
  const size_t steps = t->steps;
  const size_t first = t->size();
  t->metrics.reserve(first + n);
  for (size_t i = 0; i < n; ++i) t->metrics.push_back(in.metric(i));
  t->values.resize((first + n) * steps);
  t->present.resize((first + n) * steps);
  double* values = t->values.data() + first * steps;
  uint8_t* present = t->present.data() + first * steps;
  // Per thread; added up after (integers: the order does not matter).
  std::vector<std::vector<int64_t>> samples(kMaxParallelParts, std::vector<int64_t>(steps, 0));
  auto run = [&](size_t part, size_t begin, size_t end) -> absl::Status {
    std::vector<uint32_t> rank(steps);
    for (size_t i = begin; i < end; ++i) {
      if ((i - begin) % kDeadlineEvery == 0) {
        if (absl::Status s = CheckTableDeadline(deadline); !s.ok()) return s;
      }
      in.Row(i, 0, steps, values + i * steps, present + i * steps, rank.data(),
             samples[part].data());
    }
    return absl::OkStatus();
  };
  if (absl::Status s = pool.ParallelFor(n, kMinSeriesPerThread, run); !s.ok()) return s;
  for (size_t p = 0; p < kMaxParallelParts; ++p) {
    for (size_t j = 0; j < steps; ++j) t->samples[j] += samples[p][j];
  }
  return absl::OkStatus();
}

bool IsTableAggregate(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
    case AggregateOp::kAvg:
    case AggregateOp::kCount:
    case AggregateOp::kGroup:
    case AggregateOp::kMin:
    case AggregateOp::kMax:
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      return true;
    default:
      return false;
  }
}

namespace {

// The per-(group, step) state of aggregate.cc's Group, group-major like the table.
struct AggregateCells {
  double* value;  // sum / min / max / M2
  double* comp;   // Kahan compensation
  double* mean;
  int64_t* count;
  uint8_t* special;  // saw Inf or NaN
  uint32_t* rank;
};

// Adds one series' row (steps [a, a + w)) to the cells of its group starting at `base`, as
// aggregate.cc adds a sample to its group; `Op` fixed at compile time keeps the per-cell work
// free of the dispatch.
template <AggregateOp Op>
void AddRow(const AggregateCells& cells, size_t base, size_t w, const double* vals,
            const uint8_t* present, const uint32_t* rank) {
  for (size_t j = 0; j < w; ++j) {
    if (!present[j]) continue;
    const size_t c = base + j;
    const double f = vals[j];
    const int64_t k = ++cells.count[c];
    cells.rank[c] = std::min(cells.rank[c], rank[j]);
    double& value = cells.value[c];
    if constexpr (Op == AggregateOp::kSum) {
      KahanAdd(f, value, cells.comp[c]);
    } else if constexpr (Op == AggregateOp::kAvg) {
      KahanAdd(f, value, cells.comp[c]);
      if (std::isinf(f) || std::isnan(f)) cells.special[c] = 1;
      double& mean = cells.mean[c];
      if (k == 1) {
        mean = f;
      } else {
        mean += f / static_cast<double>(k) - mean / static_cast<double>(k);
      }
    } else if constexpr (Op == AggregateOp::kMin) {
      if (k == 1 || value > f || std::isnan(value)) value = f;
    } else if constexpr (Op == AggregateOp::kMax) {
      if (k == 1 || value < f || std::isnan(value)) value = f;
    } else if constexpr (Op == AggregateOp::kStdvar) {  // and stddev
      if (std::isinf(f) || std::isnan(f)) cells.special[c] = 1;
      double& mean = cells.mean[c];
      double delta = f - mean;
      mean += delta / static_cast<double>(k);
      value += delta * (f - mean);
    }
  }
}

}  // namespace

AggregateAccumulator::AggregateAccumulator(AggregateOp op, size_t steps)
    : op_(op), steps_(steps), samples_(steps, 0) {}

absl::Status AggregateAccumulator::Add(const RowSource& in, std::span<const uint32_t> group_of,
                                       size_t num_groups, absl::Time deadline, WorkerPool& pool) {
  const size_t n = in.size();
  const size_t steps = steps_;
  drop_name_ = in.drop_name();
  if (num_groups > groups_) {
    // Group-major: a new group's cells go at the end.
    const size_t cells = num_groups * steps;
    value_.resize(cells, 0);
    comp_.resize(cells, 0);
    mean_.resize(cells, 0);
    count_.resize(cells, 0);
    special_.resize(cells, 0);
    rank_.resize(cells, std::numeric_limits<uint32_t>::max());
    groups_ = num_groups;
  }
  const AggregateCells cells{value_.data(), comp_.data(),    mean_.data(),
                             count_.data(), special_.data(), rank_.data()};
  if (const auto* counted = in.counted_samples()) {
    for (size_t j = 0; j < steps; ++j) samples_[j] += (*counted)[j];
  }
  const AggregateOp op = op_;
  // Each thread owns a range of steps: it reads every series' row for its steps and updates only
  // its steps' cells, so no two threads write one cell and each cell sees its series in order.
  auto run = [&](size_t /*part*/, size_t a, size_t b) -> absl::Status {
    const size_t w = b - a;
    std::vector<double> vals(w);
    std::vector<uint8_t> present(w);
    std::vector<uint32_t> rank(w);
    std::vector<int64_t> samples(w, 0);
    for (size_t i = 0; i < n; ++i) {
      if (i % kDeadlineEvery == 0) {
        if (absl::Status s = CheckTableDeadline(deadline); !s.ok()) return s;
      }
      in.Row(i, a, b, vals.data(), present.data(), rank.data(), samples.data());
      const size_t base = group_of[i] * steps + a;
      switch (op) {
        case AggregateOp::kSum:
          AddRow<AggregateOp::kSum>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
        case AggregateOp::kAvg:
          AddRow<AggregateOp::kAvg>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
        case AggregateOp::kMin:
          AddRow<AggregateOp::kMin>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
        case AggregateOp::kMax:
          AddRow<AggregateOp::kMax>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar:
          AddRow<AggregateOp::kStdvar>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
        default:  // count, group: only the count
          AddRow<AggregateOp::kCount>(cells, base, w, vals.data(), present.data(), rank.data());
          break;
      }
    }
    for (size_t j = 0; j < w; ++j) samples_[a + j] += samples[j];
    return absl::OkStatus();
  };
  return pool.ParallelFor(steps, kMinStepsPerThread, run);
}

StepTable AggregateAccumulator::Finish(std::vector<model::Labels> groups) {
  const size_t g = groups_;
  const size_t steps = steps_;
  const AggregateOp op = op_;
  StepTable t;
  t.steps = steps;
  t.drop_name = drop_name_;
  t.metrics = std::move(groups);
  t.rank = std::move(rank_);
  t.samples = std::move(samples_);
  t.values.assign(g * steps, 0);
  t.present.assign(g * steps, 0);
  for (size_t c = 0; c < g * steps; ++c) {
    if (count_[c] == 0) continue;
    t.present[c] = 1;
    const double k = static_cast<double>(count_[c]);
    double& r = t.values[c];
    switch (op) {
      case AggregateOp::kSum:
        r = value_[c] + comp_[c];
        break;
      case AggregateOp::kAvg: {
        double sum = value_[c] + comp_[c];
        r = (std::isinf(sum) && !special_[c]) ? mean_[c] : sum / k;
        break;
      }
      case AggregateOp::kCount:
        r = k;
        break;
      case AggregateOp::kGroup:
        r = 1;
        break;
      case AggregateOp::kMin:
      case AggregateOp::kMax:
        r = value_[c];
        break;
      case AggregateOp::kStdvar:
        r = special_[c] ? std::nan("") : value_[c] / k;
        break;
      case AggregateOp::kStddev:
        r = special_[c] ? std::nan("") : std::sqrt(value_[c] / k);
        break;
      default:
        break;
    }
  }
  return t;
}

absl::StatusOr<HistogramQuantileTable> BuildHistogramQuantileTable(
    const RowSource& in, size_t steps, double q, std::span<const uint32_t> group_of,
    std::span<const double> upper, std::vector<model::Labels> groups, absl::Time deadline,
    WorkerPool& pool) {
  const size_t n = in.size();
  const size_t g = groups.size();
  HistogramQuantileTable out;
  StepTable& t = out.table;
  t.steps = steps;
  t.drop_name = true;
  t.metrics = std::move(groups);
  t.values.assign(g * steps, 0);
  t.present.assign(g * steps, 0);
  t.rank.assign(g * steps, std::numeric_limits<uint32_t>::max());
  t.samples.assign(steps, 0);
  if (const auto* counted = in.counted_samples()) t.samples = *counted;
  // Each group's buckets, in series order.
  std::vector<std::vector<uint32_t>> members(g);
  std::vector<uint32_t> ungrouped;
  for (size_t i = 0; i < n; ++i) {
    if (group_of[i] == kNoGroup) {
      ungrouped.push_back(static_cast<uint32_t>(i));
    } else {
      members[group_of[i]].push_back(static_cast<uint32_t>(i));
    }
  }
  std::vector<uint8_t> forced(kMaxParallelParts, 0);
  std::vector<std::vector<uint8_t>> seen(kMaxParallelParts, std::vector<uint8_t>(n, 0));
  // Each thread owns a range of steps (as in AggregateAccumulator::Add); a histogram's rows are
  // read once for the thread's steps, then each step's quantile comes from the buckets present at
  // it.
  auto run = [&](size_t part, size_t a, size_t b) -> absl::Status {
    const size_t w = b - a;
    std::vector<double> vals;
    std::vector<uint8_t> present;
    std::vector<uint32_t> rank;
    std::vector<int64_t> samples(w, 0);
    std::vector<BucketPoint> buckets;
    size_t rows = 0;
    for (size_t gi = 0; gi < g + 1; ++gi) {
      const std::vector<uint32_t>& m = gi < g ? members[gi] : ungrouped;
      if (rows / kDeadlineEvery != (rows + m.size()) / kDeadlineEvery) {
        if (absl::Status s = CheckTableDeadline(deadline); !s.ok()) return s;
      }
      rows += m.size();
      vals.resize(m.size() * w);
      present.resize(m.size() * w);
      rank.resize(m.size() * w);
      for (size_t k = 0; k < m.size(); ++k) {
        in.Row(m[k], a, b, vals.data() + k * w, present.data() + k * w, rank.data() + k * w,
               samples.data());
      }
      if (gi == g) {
        for (size_t k = 0; k < m.size(); ++k) {
          for (size_t j = 0; j < w; ++j) seen[part][m[k]] |= present[k * w + j];
        }
        continue;
      }
      for (size_t j = 0; j < w; ++j) {
        buckets.clear();
        uint32_t first = std::numeric_limits<uint32_t>::max();
        for (size_t k = 0; k < m.size(); ++k) {
          if (!present[k * w + j]) continue;
          buckets.push_back({upper[m[k]], vals[k * w + j]});
          first = std::min(first, rank[k * w + j]);
        }
        if (buckets.empty()) continue;
        bool f = false;
        const size_t c = gi * steps + a + j;
        t.values[c] = BucketQuantile(q, buckets, &f);
        t.present[c] = 1;
        t.rank[c] = first;
        forced[part] |= f ? 1 : 0;
      }
    }
    for (size_t j = 0; j < w; ++j) t.samples[a + j] += samples[j];
    return absl::OkStatus();
  };
  absl::Status s = pool.ParallelFor(steps, kMinStepsPerThread, run);
  if (!s.ok()) return s;
  out.forced_monotonic = std::any_of(forced.begin(), forced.end(), [](uint8_t f) { return f; });
  out.ungrouped_seen = std::move(seen[0]);
  for (size_t p = 1; p < kMaxParallelParts; ++p) {
    for (size_t i = 0; i < n; ++i) out.ungrouped_seen[i] |= seen[p][i];
  }
  return out;
}

}  // namespace oriel::promql
