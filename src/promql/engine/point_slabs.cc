#include "promql/engine/point_slabs.h"

#include <sys/mman.h>

#include <utility>

#include "promql/engine/slab_recycler.h"

namespace oriel::promql {

PointSlab::PointSlab(size_t capacity)
    : points_(static_cast<FloatPoint*>(
          ::operator new (capacity * sizeof(FloatPoint), std::align_val_t{kAlignment}))),
      capacity_(capacity) {
  // Only a hint: without transparent huge pages (or none free) the slab gets small pages.
  const size_t bytes = (capacity * sizeof(FloatPoint)) / kAlignment * kAlignment;
  if (bytes > 0) madvise(points_.get(), bytes, MADV_HUGEPAGE);
}

PointSlabs::~PointSlabs() {
  if (recycler_ == nullptr) return;
  for (PointSlab& s : slabs_) recycler_->Give(std::move(s));
  if (current_.capacity() > 0) recycler_->Give(std::move(current_));
}

std::span<FloatPoint> PointSlabs::Allocate(size_t n) {
  if (n == 0) return {};
  if (n > PointSlab::kPoints) {
    // Its own slab, so that the current one keeps its room for the next series.
    PointSlab& own = slabs_.emplace_back(n);
    return {own.data(), n};
  }
  if (current_.capacity() - used_ < n) {
    // The rest of the current slab (less than one series) is left unused.
    if (current_.capacity() > 0) slabs_.push_back(std::move(current_));
    current_ = recycler_ != nullptr ? recycler_->Take() : PointSlab(PointSlab::kPoints);
    used_ = 0;
  }
  std::span<FloatPoint> out(current_.data() + used_, n);
  used_ += n;
  return out;
}

void PointSlabs::Merge(PointSlabs&& other) {
  for (PointSlab& s : other.slabs_) slabs_.push_back(std::move(s));
  if (other.current_.capacity() > 0) slabs_.push_back(std::move(other.current_));
  other.slabs_.clear();
  other.current_ = PointSlab();
  other.used_ = 0;
}

size_t PointSlabs::bytes() const {
  size_t n = current_.capacity();
  for (const PointSlab& s : slabs_) n += s.capacity();
  return n * sizeof(FloatPoint);
}

}  // namespace oriel::promql
