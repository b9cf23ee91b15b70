#include "promql/engine/slab_recycler.h"

#include <utility>

namespace oriel::promql {

PointSlab SlabRecycler::Take() {
  {
    std::lock_guard lock(mu_);
    if (!kept_.empty()) {
      PointSlab s = std::move(kept_.back());
      kept_.pop_back();
      return s;
    }
  }
  return PointSlab(PointSlab::kPoints);
}

void SlabRecycler::Give(PointSlab slab) {
  if (slab.capacity() != PointSlab::kPoints) return;
  std::lock_guard lock(mu_);
  if (kept_.size() < max_slabs_) kept_.push_back(std::move(slab));
  // Otherwise `slab` is freed on return, after the lock: past the bound, memory goes back to the
  // allocator.
}

size_t SlabRecycler::kept_bytes() const {
  std::lock_guard lock(mu_);
  return kept_.size() * kSlabBytes;
}

}  // namespace oriel::promql
