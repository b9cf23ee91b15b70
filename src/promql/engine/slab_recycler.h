// Point slabs freed by one query kept for the next: their pages are already faulted in, so a
// query that loads as much as the one before it writes its samples into resident memory
// instead of faulting in (and zeroing) fresh pages.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "promql/engine/point_slabs.h"

namespace oriel::promql {

// Thread-safe: shared by every query of an engine.
class SlabRecycler {
 public:
  // Keeps at most `max_bytes` of slabs.
  explicit SlabRecycler(size_t max_bytes = size_t{64} << 20) : max_slabs_(max_bytes / kSlabBytes) {}

  // A slab of PointSlab::kPoints points: a kept one when there is one, else a new one.
  PointSlab Take();
  // Keeps `slab` for a later Take while under the bound; frees it otherwise (and when it is not
  // of the standard size).
  void Give(PointSlab slab);

  size_t kept_bytes() const;

 private:
  static constexpr size_t kSlabBytes = PointSlab::kPoints * sizeof(FloatPoint);

  const size_t max_slabs_;
  mutable std::mutex mu_;
  std::vector<PointSlab> kept_;
};

}  // namespace oriel::promql
