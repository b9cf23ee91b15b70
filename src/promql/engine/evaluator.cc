#include "promql/engine/evaluator.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <limits>
#include <mutex>
#include <utility>

#include "base/status.h"
#include "fmt/format.h"
#include "model/sample.h"
#include "promql/parser/check.h"

namespace oriel::promql {
namespace {

int64_t DurationMs(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// The index of the first point after `t`. `hint` is the answer for an earlier time: steps of a
// range query move forward by a few points, so a short scan from there finds the answer, and a
// series is walked once per query rather than searched at every step. When `t` went backwards
// (subqueries) or moved far, a binary search takes over.
size_t FirstAfter(std::span<const FloatPoint> pts, int64_t t, size_t hint) {
  if (hint > pts.size() || (hint > 0 && pts[hint - 1].t > t)) hint = 0;
  constexpr size_t kScan = 8;
  for (size_t end = std::min(pts.size(), hint + kScan); hint < end; ++hint) {
    if (pts[hint].t > t) return hint;
  }
  auto it = std::upper_bound(pts.begin() + static_cast<ptrdiff_t>(hint), pts.end(), t,
                             [](int64_t t, const FloatPoint& p) { return t < p.t; });
  return static_cast<size_t>(it - pts.begin());
}

// Time offset of a selector or subquery; duration expressions are evaluated against the query.
absl::StatusOr<int64_t> OffsetMs(const Offset& o, int64_t step, int64_t range) {
  if (o.expr != nullptr && !o.expr->IsConstant()) {
    ORIEL_ASSIGN_OR_RETURN(double s,
                           o.expr->Evaluate(absl::Milliseconds(step), absl::Milliseconds(range)));
    return DurationMs(SecondsToDuration(s));
  }
  return DurationMs(o.offset);
}

}  // namespace

EvalSeries& EvalSeries::operator=(const EvalSeries& o) {
  if (this == &o) return *this;
  metric = o.metric;
  drop_name = o.drop_name;
  if (o.owning()) {
    owned_ = o.owned_;
    points_ = owned_;
  } else {
    owned_.clear();
    points_ = o.points_;
  }
  return *this;
}

EvalSeries& EvalSeries::operator=(EvalSeries&& o) noexcept {
  if (this == &o) return *this;
  bool owning = o.owning();
  metric = std::move(o.metric);
  drop_name = o.drop_name;
  if (owning) {
    owned_ = std::move(o.owned_);
    points_ = owned_;
  } else {
    owned_.clear();
    points_ = o.points_;
  }
  o.owned_.clear();
  o.points_ = {};
  return *this;
}

std::vector<FloatPoint> EvalSeries::TakePoints() {
  std::vector<FloatPoint> out =
      owning() ? std::move(owned_) : std::vector<FloatPoint>(points_.begin(), points_.end());
  owned_.clear();
  points_ = {};
  return out;
}

Evaluator::Evaluator(tsdb::MetricsReader& reader, const EngineOptions& options, int64_t start_ms,
                     int64_t end_ms, int64_t step_ms, int64_t lookback_ms, absl::Time deadline,
                     WorkerPool& pool, SlabRecycler& recycler)
    : reader_(reader),
      options_(options),
      start_(start_ms),
      end_(end_ms),
      step_(step_ms),
      lookback_(lookback_ms),
      deadline_(deadline),
      pool_(pool),
      recycler_(recycler),
      slabs_(&recycler) {}

void Evaluator::Warn(std::string msg, const PosRange* pos) {
  if (pos != nullptr && !query_text.empty()) {
    msg += fmt::format(" ({})", PositionString(query_text, pos->start));
  }
  if (seen_annotations_.emplace("w" + msg, true).second) warnings.push_back(std::move(msg));
}
void Evaluator::Info(std::string msg, const PosRange* pos) {
  if (pos != nullptr && !query_text.empty()) {
    msg += fmt::format(" ({})", PositionString(query_text, pos->start));
  }
  if (seen_annotations_.emplace("i" + msg, true).second) infos.push_back(std::move(msg));
}

int64_t Evaluator::AtTime(const AtModifier& at, int64_t ts) const {
  switch (at.kind) {
    case AtKind::kNone:
      return ts;
    case AtKind::kTimestamp:
      return at.timestamp_ms;
    case AtKind::kStart:
      return start_;
    case AtKind::kEnd:
      return end_;
  }
  return ts;
}

void Evaluator::Prepare(const Expr& root) { PrepareWalk(root, start_, end_); }

void Evaluator::PrepareWalk(const Expr& e, int64_t mint, int64_t maxt) {
  auto span = [&](const AtModifier& at, const Offset& off, int64_t back, int64_t* lo, int64_t* hi) {
    int64_t a = at.kind == AtKind::kNone ? mint : AtTime(at, mint);
    int64_t b = at.kind == AtKind::kNone ? maxt : AtTime(at, maxt);
    auto o = OffsetMs(off, step_, end_ - start_);
    int64_t offset = o.ok() ? *o : 0;
    *lo = a - offset - back;
    *hi = b - offset;
  };
  switch (e.kind()) {
    case NodeKind::kVectorSelector: {
      const auto& vs = e.As<VectorSelector>();
      int64_t lo, hi;
      span(vs.at, vs.offset, lookback_, &lo, &hi);
      if (vs.range_modifier == RangeModifier::kSmoothed) hi += lookback_;
      WidenSelection(vs, lo, hi);
      return;
    }
    case NodeKind::kMatrixSelector: {
      const auto& ms = e.As<MatrixSelector>();
      const auto& vs = ms.selector();
      // A range expression that fails here fails again, with its error, at evaluation.
      int64_t range = RangeMs(ms.range, ms.range_expr.get()).value_or(DurationMs(ms.range));
      int64_t lo, hi;
      bool edges = vs.range_modifier != RangeModifier::kNone;
      span(vs.at, vs.offset, range + (edges ? lookback_ : 0), &lo, &hi);
      if (vs.range_modifier == RangeModifier::kSmoothed) hi += lookback_;
      WidenSelection(vs, lo, hi);
      return;
    }
    case NodeKind::kSubquery: {
      const auto& sq = e.As<SubqueryExpr>();
      int64_t range = RangeMs(sq.range, sq.range_expr.get()).value_or(DurationMs(sq.range));
      int64_t lo, hi;
      span(sq.at, sq.offset, range, &lo, &hi);
      PrepareWalk(*sq.expr, lo, hi);
      return;
    }
    case NodeKind::kParen:
      PrepareWalk(*e.As<ParenExpr>().expr, mint, maxt);
      return;
    case NodeKind::kUnary:
      PrepareWalk(*e.As<UnaryExpr>().expr, mint, maxt);
      return;
    case NodeKind::kBinary:
      PrepareWalk(*e.As<BinaryExpr>().lhs, mint, maxt);
      PrepareWalk(*e.As<BinaryExpr>().rhs, mint, maxt);
      return;
    case NodeKind::kAggregate:
      if (e.As<AggregateExpr>().param) PrepareWalk(*e.As<AggregateExpr>().param, mint, maxt);
      PrepareWalk(*e.As<AggregateExpr>().expr, mint, maxt);
      return;
    case NodeKind::kCall:
      for (const auto& a : e.As<Call>().args) PrepareWalk(*a, mint, maxt);
      return;
    default:
      return;
  }
}

void Evaluator::WidenSelection(const VectorSelector& vs, int64_t mint, int64_t maxt) {
  auto& sel = selections_[&vs];
  if (!sel.loaded && sel.mint == 0 && sel.maxt == 0) {
    sel.mint = mint;
    sel.maxt = maxt;
  } else {
    sel.mint = std::min(sel.mint, mint);
    sel.maxt = std::max(sel.maxt, maxt);
  }
}

absl::StatusOr<int64_t> Evaluator::RangeMs(absl::Duration range, const DurationExpr* expr) const {
  if (expr == nullptr) return DurationMs(range);
  ORIEL_ASSIGN_OR_RETURN(
      double r, expr->Evaluate(absl::Milliseconds(step_), absl::Milliseconds(end_ - start_)));
  return DurationMs(SecondsToDuration(r));
}

GroupIndex& Evaluator::Groups(const AggregateExpr& a) {
  auto& index = group_indexes_[&a];
  if (index == nullptr) index = std::make_unique<GroupIndex>(a);
  return *index;
}

absl::Status Evaluator::CheckDeadline() const {
  if (absl::Now() > deadline_) {
    return absl::DeadlineExceededError("query timed out in expression evaluation");
  }
  return absl::OkStatus();
}

absl::Status Evaluator::CountSamples(int64_t n) {
  samples_in_step_ += n;
  if (samples_in_step_ > options_.max_samples) {
    return TooManySamplesError();
  }
  return absl::OkStatus();
}

absl::Status TooManySamplesError() {
  return absl::ResourceExhaustedError(
      "query processing would load too many samples into memory in query execution");
}

absl::StatusOr<std::vector<Evaluator::Loaded>*> Evaluator::Load(const VectorSelector& vs,
                                                                int64_t mint, int64_t maxt) {
  auto& sel = selections_[&vs];
  if (sel.loaded && mint >= sel.mint && maxt <= sel.maxt) return &sel.series;
  if (!sel.loaded && sel.mint == 0 && sel.maxt == 0) {
    // Not seen by Prepare: load the whole query span at once rather than step by step.
    sel.mint = std::min(mint, start_ - lookback_);
    sel.maxt = std::max(maxt, end_);
  }
  sel.mint = std::min(sel.mint, mint);
  sel.maxt = std::max(sel.maxt, maxt);
  // (The points of an earlier load stay in slabs_ for the range vectors that may view them.)
  sel.series.clear();
  tsdb::SelectHints hints;
  hints.start_ms = sel.mint;
  hints.end_ms = sel.maxt;
  hints.step_ms = step_;
  auto set = reader_.Select(sel.mint, sel.maxt, vs.matchers, &hints);
  ORIEL_ASSIGN_OR_RETURN(Decoded d,
                         DecodeSeries(*set, sel.mint, sel.maxt, std::numeric_limits<size_t>::max(),
                                      /*floats_only=*/false, slabs_));
  sel.series = std::move(d.series);
  if (d.samples > options_.max_samples) {
    return TooManySamplesError();
  }
  sel.loaded = true;
  return &sel.series;
}

absl::StatusOr<Evaluator::Decoded> Evaluator::DecodeSeries(tsdb::SeriesSet& set, int64_t lo,
                                                           int64_t hi, size_t max_series,
                                                           bool floats_only, PointSlabs& slabs) {
  // The set is walked here (label order; index and page reads, and the head's copy of each
  // series' chunks), then the series are decoded by bulk reads (whole chunks straight into a
  // buffer, no virtual call per sample). The walk goes in batches that the pool's helper decodes
  // while this thread walks on (it joins the decoding once the walk is done), so that the walk,
  // which cannot be split, and the decoding overlap. Each series lands in its batch at its own
  // index, so the order of the result does not depend on the threads.
  struct Batch {
    std::vector<Loaded> loaded;
    std::vector<std::unique_ptr<tsdb::SampleIterator>> its;
  };
  // Series per batch; a set of at most one batch is decoded on this thread alone.
  constexpr size_t kBatchSeries = 128;
  std::vector<std::unique_ptr<Batch>> batches;
  Decoded out;
  size_t walked = 0;
  auto walk_batch = [&]() -> Batch* {
    auto b = std::make_unique<Batch>();
    const size_t want = std::min(kBatchSeries, max_series - walked);
    b->loaded.reserve(want);
    b->its.reserve(want);
    while (b->its.size() < want) {
      if (!set.Next()) {
        out.exhausted = true;
        break;
      }
      b->loaded.emplace_back().metric = set.labels();  // Labels share their storage: no copy
      b->its.push_back(set.Samples());
    }
    walked += b->its.size();
    if (b->its.empty()) return nullptr;
    return batches.emplace_back(std::move(b)).get();
  };
  std::atomic<int64_t> total{0};
  // Each part fills slabs of its own, merged into `slabs` after.
  std::vector<PointSlabs> part_slabs;
  part_slabs.reserve(kMaxParallelParts);
  for (size_t p = 0; p < kMaxParallelParts; ++p) part_slabs.emplace_back(&recycler_);
  const auto fresh = [](const FloatPoint& p) { return !model::IsStaleNaN(p.f); };
  auto decode = [&](PointSlabs& slabs, std::vector<model::Sample>& buf, Batch& b) {
    int64_t n = 0;
    for (size_t i = 0; i < b.its.size(); ++i) {
      buf.clear();
      b.its[i]->AppendFloats(lo, hi, &buf, nullptr);
      b.its[i].reset();  // drops the series' chunks now
      Loaded& l = b.loaded[i];
      n += static_cast<int64_t>(buf.size());
      size_t stale = 0;
      for (const model::Sample& s : buf) stale += model::IsStaleNaN(s.value) ? 1 : 0;
      if (floats_only) {
        std::span<FloatPoint> points = slabs.Allocate(buf.size() - stale);
        if (stale == 0) {
          // Written by index: a plain loop the compiler vectorizes.
          for (size_t k = 0; k < buf.size(); ++k) points[k] = {buf[k].timestamp_ms, buf[k].value};
        } else {
          size_t k = 0;
          for (const model::Sample& s : buf) {
            if (!model::IsStaleNaN(s.value)) points[k++] = {s.timestamp_ms, s.value};
          }
        }
        l.points = points;
        continue;
      }
      std::span<FloatPoint> points = slabs.Allocate(buf.size());
      for (size_t k = 0; k < buf.size(); ++k) points[k] = {buf[k].timestamp_ms, buf[k].value};
      l.points = points;
      l.has_stale = stale > 0;
      if (stale > 0) {
        std::span<FloatPoint> non_stale = slabs.Allocate(buf.size() - stale);
        std::copy_if(points.begin(), points.end(), non_stale.begin(), fresh);
        l.non_stale = non_stale;
      }
    }
    total.fetch_add(n);
  };
  Batch* first = walk_batch();
  if (first != nullptr && (out.exhausted || walked == max_series)) {
    std::vector<model::Sample> buf;
    decode(part_slabs[0], buf, *first);
  } else if (first != nullptr) {
    std::mutex mu;
    std::condition_variable walked_cv;  // a batch was queued, or the walk is done
    std::deque<Batch*> queue{first};
    bool walk_done = false;
    auto decode_queue = [&](size_t part) {
      std::vector<model::Sample> buf;  // reused: one allocation per thread, not per series
      while (true) {
        Batch* b;
        {
          std::unique_lock lock(mu);
          walked_cv.wait(lock, [&] { return !queue.empty() || walk_done; });
          if (queue.empty()) return;
          b = queue.front();
          queue.pop_front();
        }
        decode(part_slabs[part], buf, *b);
      }
    };
    // Part 0 (this thread) walks, then decodes; part 1 (the helper, or this thread after the
    // walk when the helper is busy) decodes from the start.
    ORIEL_RETURN_IF_ERROR(
        pool_.ParallelFor(kMaxParallelParts, 1, [&](size_t part, size_t, size_t) -> absl::Status {
          if (part == 0) {
            while (!out.exhausted && walked < max_series) {
              Batch* b = walk_batch();
              if (b == nullptr) break;
              std::lock_guard lock(mu);
              queue.push_back(b);
              walked_cv.notify_one();
            }
            {
              std::lock_guard lock(mu);
              walk_done = true;
            }
            walked_cv.notify_all();
          }
          decode_queue(part);
          return absl::OkStatus();
        }));
  }
  for (PointSlabs& s : part_slabs) slabs.Merge(std::move(s));
  // After decoding: a chunk that cannot be decoded shows in the status only then.
  ORIEL_RETURN_IF_ERROR(set.status());
  for (auto& b : batches) {
    for (Loaded& l : b->loaded) {
      if (!l.points.empty()) out.series.push_back(std::move(l));
    }
  }
  out.samples = total.load();
  return out;
}

absl::StatusOr<Value> Evaluator::EvalVectorSelector(const VectorSelector& vs, int64_t ts) {
  ORIEL_ASSIGN_OR_RETURN(int64_t offset, OffsetMs(vs.offset, step_, end_ - start_));
  int64_t ref = AtTime(vs.at, ts) - offset;
  ORIEL_ASSIGN_OR_RETURN(
      auto* series, Load(vs, ref - lookback_,
                         ref + (vs.range_modifier == RangeModifier::kSmoothed ? lookback_ : 0)));
  Value v;
  v.type = ValueType::kVector;
  v.vec.reserve(series->size());
  for (auto& s : *series) {
    s.window_end = FirstAfter(s.points, ref, s.window_end);
    auto it = s.points.begin() + static_cast<ptrdiff_t>(s.window_end);
    if (it == s.points.begin()) continue;
    --it;
    if (it->t <= ref - lookback_ || model::IsStaleNaN(it->f)) continue;
    double f = it->f;
    auto next = it + 1;
    if (vs.range_modifier == RangeModifier::kSmoothed && it->t < ref && next != s.points.end() &&
        next->t < ref + lookback_ && !model::IsStaleNaN(next->f)) {
      // smoothed (experimental): interpolate between the samples around the evaluation time.
      f = it->f + (next->f - it->f) * static_cast<double>(ref - it->t) /
                      static_cast<double>(next->t - it->t);
    }
    v.vec.push_back({s.metric, f, it->t, false});
  }
  ORIEL_RETURN_IF_ERROR(CountSamples(static_cast<int64_t>(v.vec.size())));
  return v;
}

absl::StatusOr<Value> Evaluator::EvalMatrixSelector(const MatrixSelector& ms, int64_t ts) {
  const auto& vs = ms.selector();
  ORIEL_ASSIGN_OR_RETURN(int64_t offset, OffsetMs(vs.offset, step_, end_ - start_));
  ORIEL_ASSIGN_OR_RETURN(int64_t range, RangeMs(ms.range, ms.range_expr.get()));
  int64_t ref = AtTime(vs.at, ts) - offset;
  // anchored/smoothed (experimental) also read the samples around the window's edges.
  bool anchored = vs.range_modifier == RangeModifier::kAnchored;
  bool smoothed = vs.range_modifier == RangeModifier::kSmoothed;
  int64_t extra = (anchored || smoothed) ? lookback_ : 0;
  ORIEL_ASSIGN_OR_RETURN(auto* series,
                         Load(vs, ref - range - extra, ref + (smoothed ? lookback_ : 0)));
  Value v;
  v.type = ValueType::kMatrix;
  v.mat.reserve(series->size());
  int64_t n = 0;
  const int64_t start = ref - range;
  auto after = [](std::span<const FloatPoint> pts, int64_t t) {
    return std::upper_bound(pts.begin(), pts.end(), t,
                            [](int64_t t, const FloatPoint& p) { return t < p.t; });
  };
  for (auto& s : *series) {
    if (!anchored && !smoothed) {
      // The window (start, ref] of the loaded samples, without copying them.
      std::span<const FloatPoint> floats = s.floats();
      s.window_start = FirstAfter(floats, start, s.window_start);
      s.window_end = FirstAfter(floats, ref, std::max(s.window_end, s.window_start));
      if (s.window_start == s.window_end) continue;
      n += static_cast<int64_t>(s.window_end - s.window_start);
      v.mat.emplace_back(s.metric, floats.subspan(s.window_start, s.window_end - s.window_start),
                         false);
      continue;
    }
    std::span<const FloatPoint> all = s.points;
    auto lo = after(all, start);
    auto hi = after(all, ref);
    std::vector<FloatPoint> out;
    for (auto it = lo; it < hi; ++it) {
      if (!model::IsStaleNaN(it->f)) out.push_back(*it);
    }
    if (smoothed && out.empty() && lo != all.begin() && hi != all.end()) {
      // No sample inside: both edges interpolate between the samples around the window.
      const FloatPoint& a = *(lo - 1);
      const FloatPoint& b = *hi;
      if (a.t > start - lookback_ && b.t < ref + lookback_ && !model::IsStaleNaN(a.f) &&
          !model::IsStaleNaN(b.f)) {
        auto at = [&](int64_t t) {
          return a.f + (b.f - a.f) * static_cast<double>(t - a.t) / static_cast<double>(b.t - a.t);
        };
        out.push_back({start, at(start)});
        out.push_back({ref, at(ref)});
      }
    } else if (!out.empty()) {
      // An anchored window without samples of its own stays empty.
      // The last sample at or before the window start (within the lookback), if any.
      const FloatPoint* before = nullptr;
      if (lo != all.begin()) {
        auto b = lo - 1;
        if (b->t > start - lookback_ && !model::IsStaleNaN(b->f)) before = &*b;
      }
      if (before != nullptr) {
        double f = before->f;
        if (smoothed && before->t < start) {
          const FloatPoint& first = out.front();
          f = before->f + (first.f - before->f) * static_cast<double>(start - before->t) /
                              static_cast<double>(first.t - before->t);
        }
        if (out.front().t != start) out.insert(out.begin(), {start, f});
      }
      if (smoothed && out.back().t < ref) {
        const FloatPoint last = out.back();
        double f = last.f;
        if (hi != all.end() && hi->t < ref + lookback_ && !model::IsStaleNaN(hi->f)) {
          f = last.f + (hi->f - last.f) * static_cast<double>(ref - last.t) /
                           static_cast<double>(hi->t - last.t);
        }
        out.push_back({ref, f});
      }
    }
    if (out.empty()) continue;
    n += static_cast<int64_t>(out.size());
    v.mat.emplace_back(s.metric, std::move(out), false);
  }
  ORIEL_RETURN_IF_ERROR(CountSamples(n));
  return v;
}

absl::StatusOr<Value> Evaluator::EvalSubquery(const SubqueryExpr& sq, int64_t ts) {
  ORIEL_ASSIGN_OR_RETURN(int64_t offset, OffsetMs(sq.offset, step_, end_ - start_));
  ORIEL_ASSIGN_OR_RETURN(int64_t range, RangeMs(sq.range, sq.range_expr.get()));
  ORIEL_ASSIGN_OR_RETURN(int64_t step, RangeMs(sq.step, sq.step_expr.get()));
  if (step <= 0) step = options_.default_subquery_step_ms;
  int64_t ref = AtTime(sq.at, ts) - offset;
  int64_t first = step * ((ref - range) / step);
  if (first <= ref - range) first += step;
  // Series of the subquery in first-seen order, keyed by labels, one index per name-dropping
  // flag.
  absl::flat_hash_map<model::Labels, size_t, LabelsHash> index[2];
  Value v;
  v.type = ValueType::kMatrix;
  int64_t n = 0;
  for (int64_t t = first; t <= ref; t += step) {
    ORIEL_RETURN_IF_ERROR(CheckDeadline());
    ORIEL_ASSIGN_OR_RETURN(Value inner, Eval(*sq.expr, t));
    if (inner.type == ValueType::kScalar) {
      inner.vec.push_back({model::Labels(), inner.scalar, t, false});
    }
    for (auto& s : inner.vec) {
      auto [it, inserted] = index[s.drop_name ? 1 : 0].try_emplace(s.metric, v.mat.size());
      if (inserted) {
        v.mat.emplace_back(std::move(s.metric), std::vector<FloatPoint>(), s.drop_name);
      }
      v.mat[it->second].Append({t, s.f});
      ++n;
    }
    // Checked as the points accumulate, so that a tiny step over a huge range fails early.
    if (samples_in_step_ + n > options_.max_samples) {
      return TooManySamplesError();
    }
  }
  ORIEL_RETURN_IF_ERROR(CountSamples(n));
  return v;
}

absl::StatusOr<Value> Evaluator::Eval(const Expr& e, int64_t ts) {
  switch (e.kind()) {
    case NodeKind::kNumberLiteral: {
      Value v;
      v.type = ValueType::kScalar;
      v.scalar = e.As<NumberLiteral>().value;
      return v;
    }
    case NodeKind::kStringLiteral: {
      Value v;
      v.type = ValueType::kString;
      v.str = e.As<StringLiteral>().value;
      return v;
    }
    case NodeKind::kVectorSelector:
      return EvalVectorSelector(e.As<VectorSelector>(), ts);
    case NodeKind::kMatrixSelector:
      return EvalMatrixSelector(e.As<MatrixSelector>(), ts);
    case NodeKind::kSubquery:
      return EvalSubquery(e.As<SubqueryExpr>(), ts);
    case NodeKind::kParen:
      return Eval(*e.As<ParenExpr>().expr, ts);
    case NodeKind::kUnary: {
      const auto& u = e.As<UnaryExpr>();
      ORIEL_ASSIGN_OR_RETURN(Value v, Eval(*u.expr, ts));
      if (!u.negate) return v;
      if (v.type == ValueType::kScalar) {
        v.scalar = -v.scalar;
      } else {
        for (auto& s : v.vec) {
          s.f = -s.f;
          s.drop_name = true;
          s.t = ts;
        }
      }
      return v;
    }
    case NodeKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>(), ts);
    case NodeKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>(), ts);
    case NodeKind::kCall:
      return EvalCall(e.As<Call>(), ts);
  }
  return absl::InternalError("cannot evaluate expression: unknown node kind");
}

absl::StatusOr<Value> Evaluator::EvalAggregate(const AggregateExpr& a, int64_t ts) {
  if (IsStep(ts)) {
    ORIEL_ASSIGN_OR_RETURN(const StepTable* table, Table(a));
    if (table != nullptr) return TableRow(*table, ts);
  }
  Value param;
  if (a.param) {
    ORIEL_ASSIGN_OR_RETURN(param, Eval(*a.param, ts));
  }
  ORIEL_ASSIGN_OR_RETURN(Value in, Eval(*a.expr, ts));
  return Aggregate(*this, a, std::move(param), std::move(in.vec), ts);
}

absl::StatusOr<Value> Evaluator::EvalInfo(const Call& c, int64_t ts) {
  ORIEL_ASSIGN_OR_RETURN(Value base, Eval(*c.args[0], ts));
  auto& sel = info_selectors_[&c];
  if (sel == nullptr) {
    sel = std::make_unique<VectorSelector>();
    if (c.args.size() > 1) {
      const auto& given = Unparen(*c.args[1]).As<VectorSelector>();
      sel->matchers = given.matchers;
    }
    bool has_name = std::any_of(sel->matchers.begin(), sel->matchers.end(),
                                [](const auto& m) { return m.name() == model::kMetricName; });
    if (!has_name) {
      auto m = model::Matcher::Create(model::MatchType::kEqual, std::string(model::kMetricName),
                                      "target_info");
      ORIEL_RETURN_IF_ERROR(m.status());
      sel->matchers.push_back(*m);
    }
  }
  std::vector<const model::Matcher*> name_matchers, data_matchers;
  for (const auto& m : sel->matchers) {
    (m.name() == model::kMetricName ? name_matchers : data_matchers).push_back(&m);
  }
  // Info series are read at the time the base series were sampled (its @ and offsets).
  int64_t info_ts = ts;
  for (const Expr* e = c.args[0].get(); e != nullptr;) {
    switch (e->kind()) {
      case NodeKind::kParen:
        e = e->As<ParenExpr>().expr.get();
        continue;
      case NodeKind::kUnary:
        e = e->As<UnaryExpr>().expr.get();
        continue;
      case NodeKind::kAggregate:
        e = e->As<AggregateExpr>().expr.get();
        continue;
      case NodeKind::kBinary:
        e = e->As<BinaryExpr>().lhs.get();
        continue;
      case NodeKind::kCall: {
        const Expr* next = nullptr;
        for (const auto& a : e->As<Call>().args) {
          if (a->type() == ValueType::kVector || a->type() == ValueType::kMatrix) {
            next = a.get();
            break;
          }
        }
        e = next;
        continue;
      }
      case NodeKind::kSubquery: {
        const auto& sq = e->As<SubqueryExpr>();
        info_ts = AtTime(sq.at, info_ts) - absl::ToInt64Milliseconds(sq.offset.offset);
        e = sq.expr.get();
        continue;
      }
      case NodeKind::kMatrixSelector:
        e = e->As<MatrixSelector>().vector_selector.get();
        continue;
      case NodeKind::kVectorSelector: {
        const auto& vs = e->As<VectorSelector>();
        info_ts = AtTime(vs.at, info_ts) - absl::ToInt64Milliseconds(vs.offset.offset);
        e = nullptr;
        continue;
      }
      default:
        e = nullptr;
    }
  }
  ORIEL_ASSIGN_OR_RETURN(Value infos, EvalVectorSelector(*sel, info_ts));
  // Without a positive name matcher, only metrics named *_info count as info metrics.
  bool positive = std::any_of(name_matchers.begin(), name_matchers.end(), [](const auto* m) {
    return m->type() == model::MatchType::kEqual || m->type() == model::MatchType::kRegexMatch;
  });
  auto is_info_metric = [&](const model::Labels& l) {
    return (positive || l.MetricName().ends_with("_info")) &&
           std::all_of(name_matchers.begin(), name_matchers.end(),
                       [&](const auto* m) { return m->Matches(l.MetricName()); });
  };
  std::erase_if(infos.vec, [&](const EvalSample& i) { return !is_info_metric(i.metric); });
  static constexpr std::string_view kIdentifying[] = {"instance", "job"};
  Value out;
  out.type = ValueType::kVector;
  for (auto& s : base.vec) {
    if (is_info_metric(s.metric)) {
      out.vec.push_back(std::move(s));
      continue;
    }
    model::LabelsBuilder b(s.metric);
    bool found = false;
    std::vector<const EvalSample*> matches;
    for (const auto& info : infos.vec) {
      bool same =
          std::all_of(std::begin(kIdentifying), std::end(kIdentifying),
                      [&](std::string_view l) { return info.metric.Get(l) == s.metric.Get(l); });
      if (same) matches.push_back(&info);
    }
    // Of several series of one info metric (churn), the most recently sampled one counts.
    absl::flat_hash_map<std::string_view, int64_t> newest;
    for (const auto* m : matches) {
      auto [it, inserted] = newest.try_emplace(m->metric.MetricName(), m->t);
      if (!inserted) it->second = std::max(it->second, m->t);
    }
    for (const auto* mp : matches) {
      const EvalSample& info = *mp;
      if (info.t != newest[info.metric.MetricName()]) continue;
      found = true;
      for (const auto& l : info.metric) {
        if (l.name == model::kMetricName || l.name == "instance" || l.name == "job") continue;
        if (!data_matchers.empty() &&
            std::none_of(data_matchers.begin(), data_matchers.end(),
                         [&](const auto* m) { return m->name() == l.name; })) {
          continue;
        }
        if (!s.metric.Get(l.name).empty()) continue;
        std::string_view prev = b.Get(l.name);
        if (!prev.empty() && prev != l.value) {
          return absl::FailedPreconditionError(
              fmt::format("cannot evaluate info(): conflicting label {} in the info series of {}",
                          l.name, s.metric.ToString()));
        }
        b.Set(l.name, l.value);
      }
    }
    if (!found) {
      // Without a matching info series, the base series survives only if every data matcher
      // accepts a missing label.
      bool keep = std::all_of(data_matchers.begin(), data_matchers.end(),
                              [](const auto* m) { return m->Matches(""); });
      if (!keep) continue;
    }
    s.metric = b.Build();
    s.t = ts;
    out.vec.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<Value> Evaluator::EvalCall(const Call& c, int64_t ts) {
  if (c.func->name == "info") return EvalInfo(c, ts);
  if (IsStep(ts)) {
    ORIEL_ASSIGN_OR_RETURN(const StepTable* table, Table(c));
    if (table != nullptr) return TableRow(*table, ts);
  }
  ORIEL_RETURN_IF_ERROR(ValidateRangeModifier(c));
  std::vector<Value> args;
  args.reserve(c.args.size());
  for (const auto& a : c.args) {
    ORIEL_ASSIGN_OR_RETURN(Value v, Eval(*a, ts));
    args.push_back(std::move(v));
  }
  return CallFunction(*this, c, args, ts);
}

}  // namespace oriel::promql
