// Byte-level encoding helpers for tsdb's chunk and WAL formats: little-endian fixed-width
// integers, LEB128 varints (zig-zag for signed), length-prefixed strings, and a bounds-checked
// reader that treats its input as hostile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oriel::tsdb {

void PutUvarint(std::string& out, uint64_t v);
void PutVarint(std::string& out, int64_t v);  // zig-zag
void PutFixed64(std::string& out, uint64_t v);
void PutDouble(std::string& out, double v);            // the IEEE 754 bits, so NaN payloads survive
void PutString(std::string& out, std::string_view s);  // uvarint length, then bytes

// Reads what the Put* functions write. Every getter returns false (and leaves the reader failed)
// when the input is short or malformed; it never reads out of bounds. Does not own the bytes.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  // Inline for the one-byte case (most timestamps and deltas of a chunk), which decoders call
  // once per sample.
  [[nodiscard]] bool Uvarint(uint64_t* v) {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) {
      *v = static_cast<uint8_t>(data_[pos_++]);
      return true;
    }
    return UvarintSlow(v);
  }
  [[nodiscard]] bool Varint(int64_t* v) {
    uint64_t u;
    if (!Uvarint(&u)) return false;
    *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    return true;
  }
  [[nodiscard]] bool Fixed64(uint64_t* v);
  [[nodiscard]] bool Double(double* v);
  [[nodiscard]] bool Byte(uint8_t* v);
  // The view points into the reader's input.
  [[nodiscard]] bool String(std::string_view* s);

  size_t remaining() const { return data_.size() - pos_; }
  size_t offset() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  [[nodiscard]] bool UvarintSlow(uint64_t* v);

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace oriel::tsdb
