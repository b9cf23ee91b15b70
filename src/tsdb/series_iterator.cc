#include "tsdb/series_iterator.h"

#include <algorithm>

#include "base/check.h"
#include "tsdb/delta_chunk.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {

SnapshotIterator::SnapshotIterator(std::shared_ptr<const SeriesSnapshot> snapshot, int64_t mint,
                                   int64_t maxt)
    : snap_(std::move(snapshot)), mint_(mint), maxt_(maxt) {}

void SnapshotIterator::OpenChunk(size_t i) {
  chunk_ = i;
  xor_it_.reset();
  dec_it_.reset();
  hist_it_.reset();
  if (i >= snap_->chunks.size()) return;
  const SeriesSnapshot::Chunk& c = snap_->chunks[i];
  if (!c.samples.empty()) {
    dec_it_.emplace(c.samples);
  } else if (c.is_delta) {
    // A corrupt chunk reads as empty: the delta decoder checks the whole chunk up front.
    packed_samples_.clear();
    (void)DecodeDeltaChunkInto(c.bytes, c.num_samples, &packed_samples_);
    dec_it_.emplace(packed_samples_);
  } else if (c.is_float) {
    xor_it_.emplace(c.bytes, c.num_samples);
  } else {
    hist_it_.emplace(c.bytes, c.num_samples);
  }
}

void SnapshotIterator::InOrderAdvance() {
  while (chunk_ < snap_->chunks.size()) {
    if (xor_it_.has_value() && xor_it_->Next()) {
      io_valid_ = true;
      io_t_ = xor_it_->t();
      io_float_ = true;
      return;
    }
    if (dec_it_.has_value() && dec_it_->Next()) {
      io_valid_ = true;
      io_t_ = dec_it_->t();
      io_float_ = true;
      return;
    }
    if (hist_it_.has_value() && hist_it_->Next()) {
      io_valid_ = true;
      io_t_ = hist_it_->t();
      io_float_ = false;
      return;
    }
    OpenChunk(chunk_ + 1);
  }
  io_valid_ = false;
}

void SnapshotIterator::InOrderSeek(int64_t t) {
  if (io_valid_ && io_t_ >= t) return;
  // Whole chunks before `t` are skipped without decoding.
  size_t i = chunk_;
  while (i < snap_->chunks.size() && snap_->chunks[i].max_time < t) ++i;
  if (i != chunk_) OpenChunk(i);
  while (chunk_ < snap_->chunks.size()) {
    bool found = false;
    if (xor_it_.has_value() && xor_it_->Seek(t)) {
      io_t_ = xor_it_->t();
      io_float_ = true;
      found = true;
    } else if (dec_it_.has_value() && dec_it_->Seek(t)) {
      io_t_ = dec_it_->t();
      io_float_ = true;
      found = true;
    } else if (hist_it_.has_value() && hist_it_->Seek(t)) {
      io_t_ = hist_it_->t();
      io_float_ = false;
      found = true;
    }
    if (found) {
      io_valid_ = true;
      return;
    }
    OpenChunk(chunk_ + 1);
  }
  io_valid_ = false;
}

SampleIterator::ValueType SnapshotIterator::Pick() {
  const auto& ooo = snap_->ooo;
  bool io = io_valid_ && io_t_ <= maxt_;
  if (io && ooo_ < ooo.size() && ooo[ooo_].timestamp_ms == io_t_) ++ooo_;
  bool oo = ooo_ < ooo.size() && ooo[ooo_].timestamp_ms <= maxt_;
  if (!io && !oo) {
    current_ = Source::kNone;
    return ValueType::kNone;
  }
  if (io && (!oo || io_t_ < ooo[ooo_].timestamp_ms)) {
    current_ = Source::kInOrder;
    return io_float_ ? ValueType::kFloat : ValueType::kHistogram;
  }
  current_ = Source::kOutOfOrder;
  return ValueType::kFloat;
}

SampleIterator::ValueType SnapshotIterator::Next() {
  if (!started_) return Seek(mint_);
  switch (current_) {
    case Source::kNone:
      return ValueType::kNone;
    case Source::kInOrder:
      InOrderAdvance();
      break;
    case Source::kOutOfOrder:
      ++ooo_;
      break;
  }
  return Pick();
}

SampleIterator::ValueType SnapshotIterator::Seek(int64_t t) {
  if (!started_) {
    started_ = true;
    OpenChunk(0);
    io_valid_ = false;
    current_ = Source::kNone;
  } else if (current_ == Source::kNone) {
    return ValueType::kNone;
  } else if (AtTime() >= t) {
    return current_ == Source::kOutOfOrder || io_float_ ? ValueType::kFloat : ValueType::kHistogram;
  }
  t = std::max(t, mint_);
  InOrderSeek(t);
  const auto& ooo = snap_->ooo;
  auto it = std::lower_bound(ooo.begin() + static_cast<ptrdiff_t>(ooo_), ooo.end(), t,
                             [](const model::Sample& s, int64_t t) { return s.timestamp_ms < t; });
  ooo_ = static_cast<size_t>(it - ooo.begin());
  return Pick();
}

int64_t SnapshotIterator::AtTime() const {
  return current_ == Source::kOutOfOrder ? snap_->ooo[ooo_].timestamp_ms : io_t_;
}

double SnapshotIterator::AtFloat() const {
  if (current_ == Source::kOutOfOrder) return snap_->ooo[ooo_].value;
  ORIEL_CHECK(current_ == Source::kInOrder && io_float_);
  return dec_it_.has_value() ? dec_it_->v() : xor_it_->v();
}

const model::HistogramSample& SnapshotIterator::AtHistogram() const {
  ORIEL_CHECK(current_ == Source::kInOrder && !io_float_);
  return hist_it_->at();
}

void SnapshotIterator::AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                                    std::vector<int64_t>* histogram_times) {
  mint = std::max(mint, mint_);
  maxt = std::min(maxt, maxt_);
  if (mint > maxt) return;
  const size_t begin = out->size();
  const bool has_ooo = !snap_->ooo.empty();
  // Out-of-order floats give way to in-order histograms too, so their times are needed then.
  std::vector<int64_t> own_times;
  std::vector<int64_t>* times = histogram_times;
  if (times == nullptr && has_ooo) times = &own_times;
  const size_t times_begin = times == nullptr ? 0 : times->size();
  // A corrupt head chunk ends early, as in Next; the head has no status to report it through.
  (void)AppendChunkFloats(snap_->chunks, mint, maxt, out, times);
  if (has_ooo) {
    MergeOutOfOrder(snap_->ooo, mint, maxt, std::span<const int64_t>(*times).subspan(times_begin),
                    begin, out);
  }
}

absl::Status AppendChunkFloats(std::span<const SeriesSnapshot::Chunk> chunks, int64_t mint,
                               int64_t maxt, std::vector<model::Sample>* out,
                               std::vector<int64_t>* histogram_times) {
  absl::Status first;
  auto note = [&](absl::Status s) {
    if (first.ok()) first = std::move(s);
  };
  for (const SeriesSnapshot::Chunk& c : chunks) {
    if (c.max_time < mint) continue;
    if (c.min_time > maxt) break;
    if (!c.samples.empty()) {
      auto lo =
          std::lower_bound(c.samples.begin(), c.samples.end(), mint,
                           [](const model::Sample& s, int64_t t) { return s.timestamp_ms < t; });
      auto hi = std::upper_bound(lo, c.samples.end(), maxt, [](int64_t t, const model::Sample& s) {
        return t < s.timestamp_ms;
      });
      out->insert(out->end(), lo, hi);
    } else if (c.is_delta) {
      note(AppendDeltaFloats(c.bytes, c.num_samples, mint, maxt, out));
    } else if (c.is_float) {
      note(AppendXorFloats(c.bytes, c.num_samples, mint, maxt, out));
    } else if (histogram_times != nullptr) {
      HistogramIterator it(c.bytes, c.num_samples);
      while (it.Next() && it.t() <= maxt) {
        if (it.t() >= mint) histogram_times->push_back(it.t());
      }
      note(it.status());
    }
  }
  return first;
}

void MergeOutOfOrder(std::span<const model::Sample> ooo, int64_t mint, int64_t maxt,
                     std::span<const int64_t> in_order_histogram_times, size_t begin,
                     std::vector<model::Sample>* out) {
  auto lo = std::lower_bound(ooo.begin(), ooo.end(), mint,
                             [](const model::Sample& s, int64_t t) { return s.timestamp_ms < t; });
  auto hi = std::upper_bound(lo, ooo.end(), maxt,
                             [](int64_t t, const model::Sample& s) { return t < s.timestamp_ms; });
  if (lo == hi) return;
  std::vector<model::Sample> in(out->begin() + static_cast<ptrdiff_t>(begin), out->end());
  out->resize(begin);
  out->reserve(begin + in.size() + static_cast<size_t>(hi - lo));
  size_t i = 0, h = 0;
  const auto& hist = in_order_histogram_times;
  for (auto o = lo; o != hi; ++o) {
    const int64_t t = o->timestamp_ms;
    while (i < in.size() && in[i].timestamp_ms < t) out->push_back(in[i++]);
    while (h < hist.size() && hist[h] < t) ++h;
    const bool taken =
        (i < in.size() && in[i].timestamp_ms == t) || (h < hist.size() && hist[h] == t);
    if (!taken) out->push_back(*o);
  }
  out->insert(out->end(), in.begin() + static_cast<ptrdiff_t>(i), in.end());
}

HeadSeriesSet::HeadSeriesSet(const Head& head, std::vector<MemSeries*> series, int64_t mint,
                             int64_t maxt, bool with_late)
    : head_(head), series_(std::move(series)), mint_(mint), maxt_(maxt), with_late_(with_late) {}

namespace {

// Whether the snapshot surely has a sample in [mint, maxt] without decoding any chunk.
bool HasSampleAtEdges(const SeriesSnapshot& snap, int64_t mint, int64_t maxt) {
  if (!snap.ooo.empty()) return true;
  for (const SeriesSnapshot::Chunk& c : snap.chunks) {
    if (c.num_samples <= 0) continue;
    if ((c.min_time >= mint && c.min_time <= maxt) || (c.max_time >= mint && c.max_time <= maxt)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool HeadSeriesSet::Next() {
  while (next_ < series_.size()) {
    std::optional<SeriesSnapshot> snap =
        head_.Snapshot(*series_[next_++], mint_, maxt_, with_late_);
    if (!snap.has_value()) continue;
    current_ = std::make_shared<const SeriesSnapshot>(std::move(*snap));
    // A chunk can overlap the range without a sample inside it: such a series is not selected.
    // Decoding to find out is only needed when no chunk's first or last sample (its min and max
    // time) lies in the range and no out-of-order sample does (the snapshot keeps only those in
    // range); it is the common case of a range that ends at the newest sample that skips it.
    if (HasSampleAtEdges(*current_, mint_, maxt_) ||
        SnapshotIterator(current_, mint_, maxt_).Next() != SampleIterator::ValueType::kNone) {
      return true;
    }
  }
  current_.reset();
  return false;
}

const model::Labels& HeadSeriesSet::labels() const {
  ORIEL_CHECK(current_ != nullptr);
  return current_->labels;
}

std::unique_ptr<SampleIterator> HeadSeriesSet::Samples() const {
  ORIEL_CHECK(current_ != nullptr);
  return std::make_unique<SnapshotIterator>(current_, mint_, maxt_);
}

}  // namespace oriel::tsdb
