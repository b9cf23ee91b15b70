#include "tsdb/bit_stream.h"

#include <bit>
#include <cstring>

namespace oriel::tsdb {

void BitWriter::WriteBit(bool bit) {
  if (free_bits_ == 0) {
    buf_.push_back(0);
    free_bits_ = 8;
  }
  --free_bits_;
  if (bit) buf_.back() = static_cast<char>(static_cast<uint8_t>(buf_.back()) | (1u << free_bits_));
}

void BitWriter::WriteBits(uint64_t v, int nbits) {
  if (nbits == 0) return;
  if (nbits < 64) v &= (uint64_t{1} << nbits) - 1;
  // The head of the field fills the partial byte, whole bytes follow, the tail starts a byte.
  if (free_bits_ > 0) {
    int take = nbits < free_bits_ ? nbits : free_bits_;
    auto head = static_cast<uint8_t>((v >> (nbits - take)) & ((1u << take) - 1));
    free_bits_ -= take;
    nbits -= take;
    buf_.back() = static_cast<char>(static_cast<uint8_t>(buf_.back()) | (head << free_bits_));
  }
  while (nbits >= 8) {
    buf_.push_back(static_cast<char>(v >> (nbits - 8)));
    nbits -= 8;
  }
  if (nbits > 0) {
    free_bits_ = 8 - nbits;
    buf_.push_back(static_cast<char>((v & ((1u << nbits) - 1)) << free_bits_));
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
