// A compressed set of 32-bit series ids: a move-only C++ owner of a CRoaring bitmap.
#pragma once

#include <cstdint>
#include <vector>

struct roaring_bitmap_s;

namespace oriel::tsdb {

// Not thread-safe: concurrent readers are fine, any writer needs exclusive access.
class Bitmap {
 public:
  Bitmap();
  ~Bitmap();
  Bitmap(Bitmap&& other) noexcept;
  Bitmap& operator=(Bitmap&& other) noexcept;
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;

  Bitmap Copy() const;

  void Add(uint32_t id);
  void Remove(uint32_t id);
  bool Contains(uint32_t id) const;
  uint64_t Cardinality() const;
  bool Empty() const;

  void And(const Bitmap& other);     // this = this AND other
  void Or(const Bitmap& other);      // this = this OR other
  void AndNot(const Bitmap& other);  // this = this AND NOT other

  std::vector<uint32_t> ToVector() const;  // ascending

 private:
  roaring_bitmap_s* r_;  // never null
};

}  // namespace oriel::tsdb
