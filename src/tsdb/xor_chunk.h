// Gorilla-style compressed chunk of float samples (delta-of-delta timestamps, XOR values), the
// encoding the head keeps its in-order float samples in.
//
// Format (a bit stream, most significant bit first; the sample count is kept beside the bytes):
//   sample 0:  varint(t0), then the 64 value bits
//   sample 1:  varint(t1 - t0), then the value as below
//   sample n:  dod = (tn - tn-1) - (tn-1 - tn-2):
//                '0' dod == 0 | '10' 14-bit dod | '110' 17-bit | '1110' 20-bit | '1111' 64-bit
//              (two's complement in the given width); value: x = bits ^ previous bits:
//                '0' x == 0 | '10' x's meaningful bits in the previous leading/trailing window |
//                '11' 5-bit leading zeros, 6-bit meaningful bit count (0 means 64), the bits.
// varints are zig-zag LEB128 written through the bit stream. Values are stored bit-exactly, so
// every NaN payload (the stale marker 0x7ff0000000000002 in particular) survives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "model/sample.h"
#include "tsdb/bit_stream.h"

namespace oriel::tsdb {

// Appends samples. Not thread-safe. REQUIRES: timestamps strictly increasing (the encoding
// itself round-trips any int64 timestamps, but readers assume order).
class XorChunk {
 public:
  void Append(int64_t t, double v);

  int num_samples() const { return num_samples_; }
  std::string_view bytes() const { return writer_.bytes(); }
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return t_; }

 private:
  void WriteValue(uint64_t bits);

  // Small fields first, sharing a word: every series of the head has an open chunk (56 bytes).
  BitWriter writer_;
  int num_samples_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no window yet
  uint8_t trailing_ = 0;
  int64_t min_time_ = 0;
  int64_t t_ = 0;
  int64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
};

// Iterates the first `num_samples` samples of an encoded chunk. The bytes must outlive the
// iterator. Corrupt input stops iteration with a non-OK status(); it never reads out of bounds.
class XorIterator {
 public:
  XorIterator(std::string_view bytes, int num_samples) : reader_(bytes), remaining_(num_samples) {}

  // Advances to the next sample; false at the end or on corruption.
  bool Next();
  // Advances to the first sample with t >= `t`; stays put if the current sample qualifies.
  bool Seek(int64_t t);

  int64_t t() const { return t_; }
  double v() const;
  absl::Status status() const { return status_; }

 private:
  bool Fail(std::string_view what);
  bool ReadValue();

  BitReader reader_;
  int remaining_;
  int read_ = 0;
  bool positioned_ = false;
  int64_t t_ = 0;
  int64_t t_delta_ = 0;
  uint64_t v_bits_ = 0;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
  absl::Status status_;
};

// Appends the samples of an encoded chunk with timestamps in [mint, maxt] to `out`, stopping at
// the first sample after `maxt`. Corrupt input keeps the samples before the corruption and
// returns XorIterator's error.
[[nodiscard]] absl::Status AppendXorFloats(std::string_view bytes, int num_samples, int64_t mint,
                                           int64_t maxt, std::vector<model::Sample>* out);

}  // namespace oriel::tsdb
