// A trace id as the head's indexes key it: the 16 raw bytes held inline, so that a key costs no
// heap string and comparing or hashing it is a few word operations instead of a memcmp call
// through a pointer (the head's sets and maps hold every trace id several times).
#pragma once

#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace oriel::tracestore {

class TraceKey {
 public:
  static constexpr size_t kSize = 16;

  // The key of `id`; nullopt unless it is 16 bytes (the only trace ids the store accepts).
  static std::optional<TraceKey> From(std::string_view id) {
    if (id.size() != kSize) return std::nullopt;
    TraceKey key;
    std::memcpy(key.bytes_, id.data(), kSize);
    return key;
  }
  // Orders after every other key.
  static TraceKey Max() {
    TraceKey key;
    std::memset(key.bytes_, 0xff, kSize);
    return key;
  }

  TraceKey() = default;

  std::string_view view() const { return std::string_view(bytes_, kSize); }

  // As the bytes compare (unsigned, as std::string does).
  friend std::strong_ordering operator<=>(const TraceKey& a, const TraceKey& b) {
    const uint64_t a_high = a.Word(0);
    const uint64_t b_high = b.Word(0);
    if (a_high != b_high) return a_high <=> b_high;
    return a.Word(1) <=> b.Word(1);
  }
  friend bool operator==(const TraceKey& a, const TraceKey& b) {
    return std::memcmp(a.bytes_, b.bytes_, kSize) == 0;
  }
  template <typename H>
  friend H AbslHashValue(H h, const TraceKey& key) {
    uint64_t words[2];
    std::memcpy(words, key.bytes_, kSize);
    return H::combine(std::move(h), words[0], words[1]);
  }

 private:
  // Word `i` of the bytes, big-endian, so that words order as the bytes do.
  uint64_t Word(int i) const {
    uint64_t word;
    std::memcpy(&word, bytes_ + 8 * i, sizeof(word));
    return __builtin_bswap64(word);
  }

  char bytes_[kSize] = {};
};

}  // namespace oriel::tracestore
