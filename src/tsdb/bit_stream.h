// Bit-granular writer and reader for the Gorilla-style XOR chunk encoding. Bits are packed most
// significant first within each byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace oriel::tsdb {

// Sixteen bytes (a std::string and a bit count took 40): every series of the head has an open
// chunk writing into one. Holds at most 512 MiB.
class BitWriter {
 public:
  BitWriter() = default;
  BitWriter(BitWriter&& o) noexcept
      : buf_(std::move(o.buf_)),
        bits_(std::exchange(o.bits_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  BitWriter& operator=(BitWriter&& o) noexcept {
    buf_ = std::move(o.buf_);
    bits_ = std::exchange(o.bits_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }

  // Inline: the XOR encoder writes a few single bits per sample, on every head append.
  void WriteBit(bool bit) {
    const uint32_t used = bits_ % 8;
    if (used == 0) {
      PushByte(bit ? 0x80 : 0);
    } else if (bit) {
      buf_[bits_ / 8] = static_cast<char>(static_cast<uint8_t>(buf_[bits_ / 8]) | (0x80u >> used));
    }
    ++bits_;
  }
  // Writes the low `nbits` bits of `v`, most significant first. REQUIRES: 0 <= nbits <= 64.
  void WriteBits(uint64_t v, int nbits);
  void WriteUvarint(uint64_t v);
  void WriteVarint(int64_t v);  // zig-zag

  std::string_view bytes() const { return std::string_view(buf_.get(), size()); }

 private:
  size_t size() const { return (bits_ + 7) / 8; }
  // Stores byte bits_ / 8 (REQUIRES: bits_ % 8 == 0; bits_ is the caller's to advance). The
  // buffer grows in steps near the allocator's size classes (16, 32, 48, 64, then by half):
  // most chunks stay small.
  void PushByte(uint8_t b);

  std::unique_ptr<char[]> buf_;
  uint32_t bits_ = 0;  // written
  uint32_t capacity_ = 0;
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
