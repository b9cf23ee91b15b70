#include "tsdb/bit_stream.h"

#include <bit>
#include <cstring>

#include "base/check.h"

namespace oriel::tsdb {

void BitWriter::PushByte(uint8_t b) {
  size_t n = bits_ / 8;
  if (n == capacity_) {
    size_t grown = n < 64 ? n + 16 : n + n / 2;
    ORIEL_CHECK(grown <= UINT32_MAX / 8);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (n > 0) std::memcpy(bigger.get(), buf_.get(), n);
    buf_ = std::move(bigger);
    capacity_ = static_cast<uint32_t>(grown);
  }
  buf_[n] = static_cast<char>(b);
}

void BitWriter::WriteBits(uint64_t v, int nbits) {
  if (nbits == 0) return;
  if (nbits < 64) v &= (uint64_t{1} << nbits) - 1;
  const uint32_t used = bits_ % 8;
  const size_t byte = bits_ / 8;
  if (nbits <= 56 && byte + 8 <= capacity_) {
    // One big-endian 64-bit store: the partial byte's bits, then the field (at most 7 + 56
    // bits). The bytes past the new end get zeros, which later writes overwrite or OR into.
    uint64_t w = v << (64 - used - static_cast<uint32_t>(nbits));
    if (used != 0) w |= uint64_t{static_cast<uint8_t>(buf_[byte])} << 56;
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    std::memcpy(buf_.get() + byte, &w, 8);
    bits_ += static_cast<uint32_t>(nbits);
    return;
  }
  // The head of the field fills the partial byte, whole bytes follow, the tail starts a byte.
  if (int free = (8 - static_cast<int>(bits_ % 8)) % 8; free > 0) {
    int take = nbits < free ? nbits : free;
    auto head = static_cast<uint8_t>((v >> (nbits - take)) & ((1u << take) - 1));
    buf_[bits_ / 8] =
        static_cast<char>(static_cast<uint8_t>(buf_[bits_ / 8]) | (head << (free - take)));
    bits_ += take;
    nbits -= take;
  }
  while (nbits >= 8) {
    PushByte(static_cast<uint8_t>(v >> (nbits - 8)));
    bits_ += 8;
    nbits -= 8;
  }
  if (nbits > 0) {
    PushByte(static_cast<uint8_t>((v & ((1u << nbits) - 1)) << (8 - nbits)));
    bits_ += nbits;
  }
}

void BitWriter::WriteUvarint(uint64_t v) {
  while (v >= 0x80) {
    WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  WriteBits(v, 8);
}

void BitWriter::WriteVarint(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  WriteUvarint((u << 1) ^ static_cast<uint64_t>(v >> 63));
}

bool BitReader::ReadBits(int nbits, uint64_t* v) {
  if (data_.size() * 8 - bit_pos_ < static_cast<size_t>(nbits)) return false;
  if (nbits == 0) {
    *v = 0;
    return true;
  }
  size_t byte = bit_pos_ / 8;
  int in_byte = static_cast<int>(bit_pos_ % 8);
  if (nbits <= 56 && byte + 8 <= data_.size()) {
    // One big-endian 64-bit load holds the field (at most 7 + 56 bits).
    uint64_t w;
    std::memcpy(&w, data_.data() + byte, 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    *v = (w << in_byte) >> (64 - nbits);
    bit_pos_ += static_cast<size_t>(nbits);
    return true;
  }
  uint64_t r = 0;
  while (nbits > 0) {
    int avail = 8 - static_cast<int>(bit_pos_ % 8);
    int take = nbits < avail ? nbits : avail;
    auto b = static_cast<uint8_t>(data_[bit_pos_ / 8]);
    r = (r << take) | ((b >> (avail - take)) & ((1u << take) - 1));
    bit_pos_ += static_cast<size_t>(take);
    nbits -= take;
  }
  *v = r;
  return true;
}

bool BitReader::ReadUvarint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint64_t b;
    if (!ReadBits(8, &b)) return false;
    if (shift == 63 && b > 1) return false;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool BitReader::ReadVarint(int64_t* v) {
  uint64_t u;
  if (!ReadUvarint(&u)) return false;
  *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

}  // namespace oriel::tsdb
