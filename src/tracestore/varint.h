// Little-endian base-128 varints and fixed-width integers for the segment format, with a reader
// that treats its input as hostile: every read is bounds-checked and reports failure.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace oriel::tracestore {

inline void PutVarint64(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutFixed64(std::string& out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out.append(buf, 8);
}

inline void PutFixed32(std::string& out, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out.append(buf, 4);
}

inline void PutLengthPrefixed(std::string& out, std::string_view bytes) {
  PutVarint64(out, bytes.size());
  out.append(bytes);
}

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Reads from a view; after the first failed read, ok() is false and every read yields zero.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // What is left to read.
  std::string_view rest() const { return data_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data_.empty()) return Fail();
      const auto byte = static_cast<unsigned char>(data_[0]);
      data_.remove_prefix(1);
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    return Fail();
  }

  std::string_view Bytes(size_t n) {
    if (!ok_ || n > data_.size()) {
      Fail();
      return {};
    }
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }

  // Skips `n` bytes. REQUIRES: n <= remaining().
  void Skip(size_t n) { data_.remove_prefix(n); }

  std::string_view LengthPrefixed() {
    const uint64_t n = Varint();
    if (n > data_.size()) {
      Fail();
      return {};
    }
    return Bytes(static_cast<size_t>(n));
  }

  uint64_t Fixed64() {
    std::string_view b = Bytes(8);
    return ok_ ? DecodeFixed64(b.data()) : 0;
  }

 private:
  uint64_t Fail() {
    ok_ = false;
    data_ = {};
    return 0;
  }

  std::string_view data_;
  bool ok_ = true;
};

}  // namespace oriel::tracestore
