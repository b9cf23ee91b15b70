#include "tsdb/encoding.h"

#include <bit>
#include <cstring>

namespace oriel::tsdb {

void PutUvarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutVarint(std::string& out, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  PutUvarint(out, (u << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutDouble(std::string& out, double v) { PutFixed64(out, std::bit_cast<uint64_t>(v)); }

void PutString(std::string& out, std::string_view s) {
  PutUvarint(out, s.size());
  out.append(s);
}

bool ByteReader::UvarintSlow(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return false;
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (shift == 63 && b > 1) return false;
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool ByteReader::Fixed64(uint64_t* v) {
  if (remaining() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i)
    r |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
  pos_ += 8;
  *v = r;
  return true;
}

bool ByteReader::Double(double* v) {
  uint64_t bits;
  if (!Fixed64(&bits)) return false;
  *v = std::bit_cast<double>(bits);
  return true;
}

bool ByteReader::Byte(uint8_t* v) {
  if (pos_ >= data_.size()) return false;
  *v = static_cast<uint8_t>(data_[pos_++]);
  return true;
}

bool ByteReader::String(std::string_view* s) {
  uint64_t n;
  if (!Uvarint(&n) || n > remaining()) return false;
  *s = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace oriel::tsdb
