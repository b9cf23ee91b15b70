// Bit-granular writer and reader for the Gorilla-style XOR chunk encoding. Bits are packed most
// significant first within each byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oriel::tsdb {

class BitWriter {
 public:
  void WriteBit(bool bit);
  // Writes the low `nbits` bits of `v`, most significant first. REQUIRES: 0 <= nbits <= 64.
  void WriteBits(uint64_t v, int nbits);
  void WriteUvarint(uint64_t v);
  void WriteVarint(int64_t v);  // zig-zag

  const std::string& bytes() const { return buf_; }

 private:
  std::string buf_;
  int free_bits_ = 0;  // unused low bits of the last byte
};

// Reads what BitWriter writes. A read past the end returns false; it never reads out of bounds.
class BitReader {
 public:
  explicit BitReader(std::string_view data) : data_(data) {}

  // Inline: the XOR decoder reads a few single bits per sample.
  [[nodiscard]] bool ReadBit(bool* bit) {
    if (bit_pos_ >= data_.size() * 8) return false;
    auto byte = static_cast<uint8_t>(data_[bit_pos_ / 8]);
    *bit = (byte >> (7 - bit_pos_ % 8)) & 1;
    ++bit_pos_;
    return true;
  }
  [[nodiscard]] bool ReadBits(int nbits, uint64_t* v);  // REQUIRES: 0 <= nbits <= 64
  [[nodiscard]] bool ReadUvarint(uint64_t* v);
  [[nodiscard]] bool ReadVarint(int64_t* v);

 private:
  std::string_view data_;
  size_t bit_pos_ = 0;
};

}  // namespace oriel::tsdb
