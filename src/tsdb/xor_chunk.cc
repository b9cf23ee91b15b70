#include "tsdb/xor_chunk.h"

#include <bit>
#include <cstring>

#include "base/status.h"

namespace oriel::tsdb {
namespace {

// Whether `x` fits in an `nbits`-wide field as the format stores it.
bool FitsInBits(int64_t x, int nbits) {
  return x >= -((int64_t{1} << (nbits - 1)) - 1) && x <= (int64_t{1} << (nbits - 1));
}

}  // namespace

void XorChunk::Append(int64_t t, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  if (num_samples_ == 0) {
    writer_.WriteVarint(t);
    writer_.WriteBits(bits, 64);
    min_time_ = t;
  } else if (num_samples_ == 1) {
    // Wrapping arithmetic: any int64 pair round-trips, even if the difference overflows.
    t_delta_ = static_cast<int64_t>(static_cast<uint64_t>(t) - static_cast<uint64_t>(t_));
    writer_.WriteVarint(t_delta_);
    WriteValue(bits);
  } else {
    int64_t delta = static_cast<int64_t>(static_cast<uint64_t>(t) - static_cast<uint64_t>(t_));
    int64_t dod =
        static_cast<int64_t>(static_cast<uint64_t>(delta) - static_cast<uint64_t>(t_delta_));
    if (dod == 0) {
      writer_.WriteBit(false);
    } else if (FitsInBits(dod, 14)) {
      writer_.WriteBits(0b10, 2);
      writer_.WriteBits(static_cast<uint64_t>(dod), 14);
    } else if (FitsInBits(dod, 17)) {
      writer_.WriteBits(0b110, 3);
      writer_.WriteBits(static_cast<uint64_t>(dod), 17);
    } else if (FitsInBits(dod, 20)) {
      writer_.WriteBits(0b1110, 4);
      writer_.WriteBits(static_cast<uint64_t>(dod), 20);
    } else {
      writer_.WriteBits(0b1111, 4);
      writer_.WriteBits(static_cast<uint64_t>(dod), 64);
    }
    t_delta_ = delta;
    WriteValue(bits);
  }
  t_ = t;
  v_bits_ = bits;
  ++num_samples_;
}

void XorChunk::WriteValue(uint64_t bits) {
  uint64_t x = bits ^ v_bits_;
  if (x == 0) {
    writer_.WriteBit(false);
    return;
  }
  writer_.WriteBit(true);
  uint8_t leading = static_cast<uint8_t>(std::countl_zero(x));
  uint8_t trailing = static_cast<uint8_t>(std::countr_zero(x));
  if (leading >= 32) leading = 31;  // the field is 5 bits wide
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    writer_.WriteBit(false);
    writer_.WriteBits(x >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = leading;
  trailing_ = trailing;
  writer_.WriteBit(true);
  writer_.WriteBits(leading, 5);
  int sigbits = 64 - leading - trailing;
  writer_.WriteBits(static_cast<uint64_t>(sigbits & 63), 6);  // 64 is stored as 0
  writer_.WriteBits(x >> trailing, sigbits);
}

double XorIterator::v() const { return std::bit_cast<double>(v_bits_); }

bool XorIterator::Fail(std::string_view what) {
  status_ =
      absl::DataLossError(fmt::format("cannot decode xor chunk: {} at sample {}", what, read_));
  remaining_ = 0;
  positioned_ = false;
  return false;
}

bool XorIterator::Next() {
  if (!status_.ok() || read_ >= remaining_) {
    positioned_ = false;
    return false;
  }
  if (read_ == 0) {
    uint64_t bits;
    if (!reader_.ReadVarint(&t_) || !reader_.ReadBits(64, &bits)) return Fail("truncated");
    v_bits_ = bits;
  } else if (read_ == 1) {
    if (!reader_.ReadVarint(&t_delta_)) return Fail("truncated timestamp");
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + static_cast<uint64_t>(t_delta_));
    if (!ReadValue()) return false;
  } else {
    // The prefix is up to four 1-bits, terminated by a 0 before the fourth.
    int ones = 0;
    while (ones < 4) {
      bool bit;
      if (!reader_.ReadBit(&bit)) return Fail("truncated timestamp");
      if (!bit) break;
      ++ones;
    }
    static constexpr int kWidths[] = {0, 14, 17, 20, 64};
    int width = kWidths[ones];
    int64_t dod = 0;
    if (width > 0) {
      uint64_t raw;
      if (!reader_.ReadBits(width, &raw)) return Fail("truncated timestamp");
      if (width < 64 && raw > (uint64_t{1} << (width - 1))) raw -= uint64_t{1} << width;
      dod = static_cast<int64_t>(raw);
    }
    t_delta_ = static_cast<int64_t>(static_cast<uint64_t>(t_delta_) + static_cast<uint64_t>(dod));
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + static_cast<uint64_t>(t_delta_));
    if (!ReadValue()) return false;
  }
  ++read_;
  positioned_ = true;
  return true;
}

bool XorIterator::ReadValue() {
  bool bit;
  if (!reader_.ReadBit(&bit)) return Fail("truncated value");
  if (!bit) return true;  // same value
  if (!reader_.ReadBit(&bit)) return Fail("truncated value");
  if (bit) {
    uint64_t leading, sigbits;
    if (!reader_.ReadBits(5, &leading) || !reader_.ReadBits(6, &sigbits)) {
      return Fail("truncated value");
    }
    if (sigbits == 0) sigbits = 64;
    if (leading + sigbits > 64) return Fail("invalid value window");
    leading_ = static_cast<uint8_t>(leading);
    trailing_ = static_cast<uint8_t>(64 - leading - sigbits);
  }
  // A hostile window reuse before any window was set reads 64 bits: harmless.
  int sigbits = 64 - leading_ - trailing_;
  uint64_t x;
  if (!reader_.ReadBits(sigbits, &x)) return Fail("truncated value");
  v_bits_ ^= sigbits == 64 ? x : (x << trailing_);
  return true;
}

bool XorIterator::Seek(int64_t t) {
  if (positioned_ && t_ >= t) return true;
  while (Next()) {
    if (t_ >= t) return true;
  }
  return false;
}

namespace {

// XorIterator's bit reading, for bulk decoding: one big-endian 64-bit load per field instead of
// bit by bit, bounds checked against the chunk's bits.
class FastBitReader {
 public:
  explicit FastBitReader(std::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data())),
        size_(data.size()),
        bits_(data.size() * 8) {}

  // REQUIRES: 1 <= nbits <= 56.
  bool Read(int nbits, uint64_t* v) {
    if (bits_ - pos_ < static_cast<size_t>(nbits)) return false;
    size_t byte = pos_ / 8;
    uint64_t w = 0;
    if (byte + 8 <= size_) {
      std::memcpy(&w, data_ + byte, 8);
    } else {
      std::memcpy(&w, data_ + byte, size_ - byte);  // the missing bytes read as zeros
    }
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    *v = (w << (pos_ % 8)) >> (64 - nbits);
    pos_ += static_cast<size_t>(nbits);
    return true;
  }
  bool ReadWide(int nbits, uint64_t* v) {  // 0 <= nbits <= 64
    if (nbits == 0) {
      *v = 0;
      return true;
    }
    if (nbits <= 56) return Read(nbits, v);
    uint64_t hi, lo;
    if (!Read(nbits - 32, &hi) || !Read(32, &lo)) return false;
    *v = (hi << 32) | lo;
    return true;
  }
  bool ReadVarint(int64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint64_t b;
      if (!Read(8, &b)) return false;
      if (shift == 63 && b > 1) return false;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        *v = static_cast<int64_t>(result >> 1) ^ -static_cast<int64_t>(result & 1);
        return true;
      }
    }
    return false;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t bits_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status AppendXorFloats(std::string_view bytes, int num_samples, int64_t mint, int64_t maxt,
                             std::vector<model::Sample>* out) {
  // The same decoding as XorIterator::Next (see the format in the header), in one loop.
  FastBitReader r(bytes);
  int64_t t = 0, t_delta = 0;
  uint64_t v_bits = 0;
  int leading = 0, trailing = 0;
  auto fail = [](std::string_view what, int i) {
    return absl::DataLossError(fmt::format("cannot decode xor chunk: {} at sample {}", what, i));
  };
  for (int i = 0; i < num_samples; ++i) {
    uint64_t u;
    if (i == 0) {
      if (!r.ReadVarint(&t) || !r.ReadWide(64, &v_bits)) return fail("truncated", i);
    } else {
      if (i == 1) {
        if (!r.ReadVarint(&t_delta)) return fail("truncated timestamp", i);
      } else {
        int ones = 0;
        while (ones < 4) {
          if (!r.Read(1, &u)) return fail("truncated timestamp", i);
          if (u == 0) break;
          ++ones;
        }
        static constexpr int kWidths[] = {0, 14, 17, 20, 64};
        const int width = kWidths[ones];
        if (width > 0) {
          uint64_t raw;
          if (!r.ReadWide(width, &raw)) return fail("truncated timestamp", i);
          if (width < 64 && raw > (uint64_t{1} << (width - 1))) raw -= uint64_t{1} << width;
          t_delta = static_cast<int64_t>(static_cast<uint64_t>(t_delta) + raw);
        }
      }
      t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(t_delta));
      if (!r.Read(1, &u)) return fail("truncated value", i);
      if (u != 0) {
        if (!r.Read(1, &u)) return fail("truncated value", i);
        if (u != 0) {
          uint64_t lead, sig;
          if (!r.Read(5, &lead) || !r.Read(6, &sig)) return fail("truncated value", i);
          if (sig == 0) sig = 64;
          if (lead + sig > 64) return fail("invalid value window", i);
          leading = static_cast<int>(lead);
          trailing = static_cast<int>(64 - lead - sig);
        }
        const int sigbits = 64 - leading - trailing;
        uint64_t x;
        if (!r.ReadWide(sigbits, &x)) return fail("truncated value", i);
        v_bits ^= sigbits == 64 ? x : (x << trailing);
      }
    }
    if (t > maxt) break;
    if (t >= mint) out->push_back({t, std::bit_cast<double>(v_bits)});
  }
  return absl::OkStatus();
}

}  // namespace oriel::tsdb
