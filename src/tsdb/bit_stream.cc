#include "tsdb/bit_stream.h"

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
  // Fill the partial byte bit by bit, then whole bytes at a time.
  while (nbits > 0 && free_bits_ != 0) {
    WriteBit((v >> (nbits - 1)) & 1);
    --nbits;
  }
  while (nbits >= 8) {
    buf_.push_back(static_cast<char>(v >> (nbits - 8)));
    nbits -= 8;
  }
  while (nbits > 0) {
    WriteBit((v >> (nbits - 1)) & 1);
    --nbits;
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

bool BitReader::ReadBit(bool* bit) {
  if (bit_pos_ >= data_.size() * 8) return false;
  uint8_t byte = static_cast<uint8_t>(data_[bit_pos_ / 8]);
  *bit = (byte >> (7 - bit_pos_ % 8)) & 1;
  ++bit_pos_;
  return true;
}

bool BitReader::ReadBits(int nbits, uint64_t* v) {
  if (data_.size() * 8 - bit_pos_ < static_cast<size_t>(nbits)) return false;
  uint64_t r = 0;
  while (nbits > 0) {
    size_t in_byte = bit_pos_ % 8;
    uint8_t byte = static_cast<uint8_t>(data_[bit_pos_ / 8]);
    if (in_byte == 0 && nbits >= 8) {
      r = (r << 8) | byte;
      bit_pos_ += 8;
      nbits -= 8;
    } else {
      r = (r << 1) | ((byte >> (7 - in_byte)) & 1);
      ++bit_pos_;
      --nbits;
    }
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
