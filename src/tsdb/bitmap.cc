#include "tsdb/bitmap.h"

#include <roaring/roaring.h>

#include <utility>

#include "base/check.h"

namespace oriel::tsdb {

Bitmap::Bitmap() : r_(roaring_bitmap_create()) { ORIEL_CHECK(r_ != nullptr); }

Bitmap::~Bitmap() {
  if (r_ != nullptr) roaring_bitmap_free(r_);
}

// A moved-from bitmap gets a fresh empty set so that the never-null invariant holds.
Bitmap::Bitmap(Bitmap&& other) noexcept : r_(std::exchange(other.r_, roaring_bitmap_create())) {}

Bitmap& Bitmap::operator=(Bitmap&& other) noexcept {
  std::swap(r_, other.r_);
  return *this;
}

Bitmap Bitmap::Copy() const {
  Bitmap out;
  roaring_bitmap_free(out.r_);
  out.r_ = roaring_bitmap_copy(r_);
  ORIEL_CHECK(out.r_ != nullptr);
  return out;
}

void Bitmap::Add(uint32_t id) { roaring_bitmap_add(r_, id); }
void Bitmap::Remove(uint32_t id) { roaring_bitmap_remove(r_, id); }
bool Bitmap::Contains(uint32_t id) const { return roaring_bitmap_contains(r_, id); }
uint64_t Bitmap::Cardinality() const { return roaring_bitmap_get_cardinality(r_); }
bool Bitmap::Empty() const { return roaring_bitmap_is_empty(r_); }
void Bitmap::And(const Bitmap& other) { roaring_bitmap_and_inplace(r_, other.r_); }
void Bitmap::Or(const Bitmap& other) { roaring_bitmap_or_inplace(r_, other.r_); }
void Bitmap::AndNot(const Bitmap& other) { roaring_bitmap_andnot_inplace(r_, other.r_); }

std::vector<uint32_t> Bitmap::ToVector() const {
  std::vector<uint32_t> out(Cardinality());
  if (!out.empty()) roaring_bitmap_to_uint32_array(r_, out.data());
  return out;
}

}  // namespace oriel::tsdb
