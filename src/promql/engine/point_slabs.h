// Memory for the samples a query decodes from its selections: points go into 1 MiB slabs
// instead of one vector per series, so that loading 10k-100k series costs a few allocations
// (and page faults) per MiB rather than one or two allocations per series.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "promql/engine/engine.h"

namespace oriel::promql {

class SlabRecycler;

// One block of points, uninitialized until written.
class PointSlab {
 public:
  // Slabs are aligned to, and standard ones as large as, a transparent huge page, and advised to
  // be backed by one: the first query that loads this much faults in one page per 2 MiB instead
  // of 512, which on this VM cost ~10 us each (a 24 h range query's first run spent ~300 ms on
  // them).
  static constexpr size_t kAlignment = size_t{2} << 20;
  // Slabs of this size are the ones a PointSlabs fills; a series longer than one gets a slab of
  // its own size.
  static constexpr size_t kPoints = kAlignment / sizeof(FloatPoint);

  PointSlab() = default;
  explicit PointSlab(size_t capacity);

  FloatPoint* data() const { return points_.get(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(FloatPoint* p) const { ::operator delete (p, std::align_val_t{kAlignment}); }
  };
  std::unique_ptr<FloatPoint, Free> points_;
  size_t capacity_ = 0;
};

// Hands out runs of points from slabs it owns; the runs live as long as it does. Not
// thread-safe: each thread decoding a selection fills its own, merged afterwards.
class PointSlabs {
 public:
  // Slabs come from `recycler` and go back to it at destruction (null: allocated and freed).
  // The recycler must outlive this.
  explicit PointSlabs(SlabRecycler* recycler = nullptr) : recycler_(recycler) {}
  ~PointSlabs();
  PointSlabs(PointSlabs&&) noexcept = default;
  PointSlabs& operator=(PointSlabs&&) = delete;

  // Room for `n` points, contiguous and uninitialized; empty when n is 0.
  std::span<FloatPoint> Allocate(size_t n);
  // Takes over the slabs of `other`: what it handed out now lives as long as this.
  void Merge(PointSlabs&& other);

  size_t num_slabs() const { return slabs_.size() + (current_.capacity() > 0 ? 1 : 0); }
  // The bytes of every slab held.
  size_t bytes() const;

 private:
  SlabRecycler* recycler_ = nullptr;
  std::vector<PointSlab> slabs_;
  // The slab being filled (kPoints), and how much of it is handed out.
  PointSlab current_;
  size_t used_ = 0;
};

}  // namespace oriel::promql
