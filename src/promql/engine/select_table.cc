// topk, bottomk and limitk of a range query as a table (range_table.h): each step keeps, per
// group, the k series aggregate.cc keeps, in the order it gives them.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "promql/engine/range_table.h"
#include "promql/engine/topk_order.h"

namespace oriel::promql {
namespace {

// Below this many steps a part, the work stays on one thread.
constexpr size_t kMinStepsPerThread = 16;
// Deadline checks: one clock read per this many series rows.
constexpr size_t kDeadlineEvery = 1024;

}  // namespace

bool IsSelectAggregate(AggregateOp op) {
  return op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kLimitk;
}

absl::StatusOr<StepTable> SelectTable(const RowSource& in, size_t steps, AggregateOp op, int64_t k,
                                      std::span<const uint32_t> group_of, absl::Time deadline,
                                      WorkerPool& pool) {
  const size_t n = in.size();
  StepTable t;
  t.steps = steps;
  t.drop_name = in.drop_name();
  t.metrics.reserve(n);
  for (size_t i = 0; i < n; ++i) t.metrics.push_back(in.metric(i));
  t.values.assign(n * steps, 0);
  t.present.assign(n * steps, 0);
  t.rank.assign(n * steps, 0);
  t.samples.assign(steps, 0);
  if (const auto* counted = in.counted_samples()) t.samples = *counted;
  if (k < 1) return t;  // as aggregate.cc: an empty vector at every step
  const size_t keep_at_most = static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(n)));
  size_t groups = 0;
  for (uint32_t g : group_of) groups = std::max<size_t>(groups, g + 1);
  const bool top = op == AggregateOp::kTopk;
  // Each thread owns a range of steps: it reads every series' row for its steps, then picks each
  // step's series; it writes only its steps' cells.
  auto run = [&](size_t /*part*/, size_t a, size_t b) -> absl::Status {
    const size_t w = b - a;
    // The rows turned step-major (step j's series at [j * n, (j + 1) * n)): each step then reads
    // its column from consecutive memory instead of one cache line per series.
    std::vector<double> vals(n * w), row_vals(w);
    std::vector<uint8_t> present(n * w), row_present(w);
    std::vector<uint32_t> rank(n * w), row_rank(w);
    std::vector<int64_t> samples(w, 0);
    for (size_t i = 0; i < n; ++i) {
      if (i % kDeadlineEvery == 0) {
        if (absl::Status s = CheckTableDeadline(deadline); !s.ok()) return s;
      }
      in.Row(i, a, b, row_vals.data(), row_present.data(), row_rank.data(), samples.data());
      for (size_t j = 0; j < w; ++j) {
        vals[j * n + i] = row_vals[j];
        present[j * n + i] = row_present[j];
        rank[j * n + i] = row_rank[j];
      }
    }
    std::vector<uint32_t> order;                         // the step's input vector: series by rank
    std::vector<std::vector<uint32_t>> members(groups);  // positions in `order`, by group
    std::vector<uint32_t> seen;  // groups in the order of their first series
    for (size_t j = 0; j < w; ++j) {
      if (absl::Status s = CheckTableDeadline(deadline); !s.ok()) return s;
      order.clear();
      for (size_t i = 0; i < n; ++i) {
        if (present[j * n + i]) order.push_back(static_cast<uint32_t>(i));
      }
      const uint32_t* step_rank = rank.data() + j * n;
      const double* step_vals = vals.data() + j * n;
      auto by_rank = [&](uint32_t x, uint32_t y) { return step_rank[x] < step_rank[y]; };
      if (!std::is_sorted(order.begin(), order.end(), by_rank)) {
        std::sort(order.begin(), order.end(), by_rank);
      }
      seen.clear();
      for (size_t p = 0; p < order.size(); ++p) {
        std::vector<uint32_t>& m = members[group_of[order[p]]];
        if (m.empty()) seen.push_back(group_of[order[p]]);
        m.push_back(static_cast<uint32_t>(p));
      }
      uint32_t out_rank = 0;
      for (uint32_t g : seen) {
        std::vector<uint32_t>& m = members[g];
        const size_t keep = std::min(m.size(), keep_at_most);
        if (op != AggregateOp::kLimitk) {
          // aggregate.cc's order: the better value first, ties in input order.
          std::partial_sort(m.begin(), m.begin() + static_cast<ptrdiff_t>(keep), m.end(),
                            [&](uint32_t x, uint32_t y) {
                              const double fx = step_vals[order[x]];
                              const double fy = step_vals[order[y]];
                              if (TopkBefore(top, fx, fy)) return true;
                              if (TopkBefore(top, fy, fx)) return false;
                              return x < y;
                            });
        }
        for (size_t s = 0; s < keep; ++s) {
          const uint32_t i = order[m[s]];
          const size_t c = i * steps + a + j;
          t.present[c] = 1;
          t.values[c] = step_vals[i];
          t.rank[c] = out_rank++;
        }
        m.clear();
      }
    }
    for (size_t j = 0; j < w; ++j) t.samples[a + j] += samples[j];
    return absl::OkStatus();
  };
  absl::Status s = pool.ParallelFor(steps, kMinStepsPerThread, run);
  if (!s.ok()) return s;
  return t;
}

}  // namespace oriel::promql
