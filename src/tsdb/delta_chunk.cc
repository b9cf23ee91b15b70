#include "tsdb/delta_chunk.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <optional>

#include "base/check.h"
#include "base/status.h"
#include "tsdb/encoding.h"

namespace oriel::tsdb {
namespace {

constexpr int kMaxScale = 9;
constexpr uint8_t kSecondOrder = 0x10;
constexpr uint8_t kFloatMode = 0x20;
constexpr std::array<double, kMaxScale + 1> kPow10 = {1,   1e1, 1e2, 1e3, 1e4,
                                                      1e5, 1e6, 1e7, 1e8, 1e9};
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// The integer i with i / 10^k == v bit for bit, if there is one.
std::optional<int64_t> ScaledInteger(double v, int k) {
  double scaled = std::round(v * kPow10[k]);
  if (!(std::fabs(scaled) < kMaxExactInteger)) return std::nullopt;  // also NaN and infinities
  auto i = static_cast<int64_t>(scaled);
  if (std::bit_cast<uint64_t>(static_cast<double>(i) / kPow10[k]) != std::bit_cast<uint64_t>(v)) {
    return std::nullopt;  // not exact at this scale (or -0, whose sign the integer loses)
  }
  return i;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

// Appends `width` byte planes of `values`: plane b holds byte b (least significant first) of
// every value, so that a compressor sees the (random) low bytes and the (mostly constant) high
// bytes as separate runs instead of interleaved.
void PutPlanes(std::string& out, const std::vector<uint64_t>& values, int width) {
  for (int b = 0; b < width; ++b) {
    for (uint64_t v : values) out.push_back(static_cast<char>(v >> (8 * b)));
  }
}

int64_t Sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t Add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

bool OnGrid(int64_t r, int64_t d) {
  // |r| < d / 2 without overflow for any r.
  return r > INT64_MIN && (r < 0 ? -r : r) < d / 2;
}

}  // namespace

std::string EncodeDeltaChunk(std::span<const model::Sample> samples) {
  ORIEL_CHECK(!samples.empty());
  // The smallest scale at which every value is exact: no sample needs less than its own minimum,
  // and exactness at one scale need not carry over to a higher one, so the candidate is checked.
  std::vector<int64_t> ints(samples.size());
  int scale = 0;
  bool integral = true;
  for (const model::Sample& s : samples) {
    while (integral && !ScaledInteger(s.value, scale).has_value()) integral = ++scale <= kMaxScale;
  }
  for (; integral; ++scale) {
    if (scale > kMaxScale) {
      integral = false;
      break;
    }
    bool all = true;
    for (size_t i = 0; i < samples.size() && all; ++i) {
      std::optional<int64_t> v = ScaledInteger(samples[i].value, scale);
      all = v.has_value();
      if (all) ints[i] = *v;
    }
    if (all) break;
  }

  int64_t grid = 0;
  if (samples.size() > 1) {
    std::vector<int64_t> deltas;
    deltas.reserve(samples.size() - 1);
    for (size_t i = 1; i < samples.size(); ++i) {
      deltas.push_back(Sub(samples[i].timestamp_ms, samples[i - 1].timestamp_ms));
    }
    std::nth_element(deltas.begin(), deltas.begin() + deltas.size() / 2, deltas.end());
    grid = std::max<int64_t>(deltas[deltas.size() / 2], 0);
  }

  std::string out;
  std::vector<uint64_t> diffs;
  uint8_t header = kFloatMode;
  if (integral) {
    // First- or second-order differences, whichever needs fewer significant bits in total.
    std::vector<uint64_t> first, second;
    size_t first_bits = 0, second_bits = 0;
    for (size_t i = 1; i < ints.size(); ++i) {
      int64_t d1 = Sub(ints[i], ints[i - 1]);
      first.push_back(ZigZag(d1));
      second.push_back(ZigZag(i == 1 ? d1 : Sub(d1, Sub(ints[i - 1], ints[i - 2]))));
      first_bits += static_cast<size_t>(std::bit_width(first.back()));
      second_bits += static_cast<size_t>(std::bit_width(second.back()));
    }
    const bool use_second = second_bits < first_bits;
    diffs = use_second ? std::move(second) : std::move(first);
    header = static_cast<uint8_t>(scale | (use_second ? kSecondOrder : 0));
  }
  out.push_back(static_cast<char>(header));
  PutVarint(out, samples[0].timestamp_ms);
  PutUvarint(out, static_cast<uint64_t>(grid));
  int64_t g = samples[0].timestamp_ms;
  for (size_t i = 1; i < samples.size(); ++i) {
    int64_t pred = Add(g, grid);
    int64_t r = Sub(samples[i].timestamp_ms, pred);
    PutVarint(out, r);
    g = OnGrid(r, grid) ? pred : samples[i].timestamp_ms;
  }
  if (!integral) {
    std::vector<uint64_t> xors;
    uint64_t prev = 0;
    for (const model::Sample& s : samples) {
      uint64_t bits = std::bit_cast<uint64_t>(s.value);
      xors.push_back(bits ^ prev);
      prev = bits;
    }
    PutPlanes(out, xors, 8);
    return out;
  }
  PutVarint(out, ints[0]);
  if (!diffs.empty()) {
    uint64_t all = 0;
    for (uint64_t d : diffs) all |= d;
    int width = std::max(1, static_cast<int>((std::bit_width(all) + 7) / 8));
    out.push_back(static_cast<char>(width));
    PutPlanes(out, diffs, width);
  }
  return out;
}

absl::StatusOr<std::vector<model::Sample>> DecodeDeltaChunk(std::string_view bytes,
                                                            int num_samples) {
  std::vector<model::Sample> out;
  ORIEL_RETURN_IF_ERROR(DecodeDeltaChunkInto(bytes, num_samples, &out));
  return out;
}

absl::Status DecodeDeltaChunkInto(std::string_view bytes, int num_samples,
                                  std::vector<model::Sample>* out) {
  auto bad = [&](std::string_view what, size_t offset) {
    return absl::DataLossError(
        fmt::format("cannot decode delta chunk: {} at offset {}", what, offset));
  };
  ByteReader r(bytes);
  uint8_t header = 0;
  if (!r.Byte(&header)) return bad("missing header", 0);
  const bool float_mode = header == kFloatMode;
  const int scale = header & 0x0f;
  if (!float_mode && (scale > kMaxScale || (header & ~(0x0f | kSecondOrder)) != 0)) {
    return bad("bad header", 0);
  }
  // Every sample takes at least two bytes, so the count cannot ask for more memory than the
  // input justifies.
  if (num_samples <= 0 || static_cast<size_t>(num_samples) > bytes.size() / 2) {
    return bad(fmt::format("sample count {} does not fit {} bytes", num_samples, bytes.size()), 0);
  }
  const size_t n = static_cast<size_t>(num_samples);
  const size_t base = out->size();
  out->resize(base + n);
  model::Sample* s = out->data() + base;
  auto fail = [&](absl::Status st) {
    out->resize(base);
    return st;
  };
  int64_t t = 0;
  uint64_t grid = 0;
  if (!r.Varint(&t) || !r.Uvarint(&grid) || grid > static_cast<uint64_t>(INT64_MAX)) {
    return fail(bad("bad timestamp header", r.offset()));
  }
  s[0].timestamp_ms = t;
  int64_t g = t;
  for (size_t i = 1; i < n; ++i) {
    int64_t res = 0;
    if (!r.Varint(&res)) return fail(bad(fmt::format("truncated timestamp {}", i), r.offset()));
    int64_t pred = Add(g, static_cast<int64_t>(grid));
    int64_t ti = Add(pred, res);
    if (ti <= s[i - 1].timestamp_ms) {
      return fail(bad(fmt::format("timestamp {} not increasing", i), r.offset()));
    }
    s[i].timestamp_ms = ti;
    g = OnGrid(res, static_cast<int64_t>(grid)) ? pred : ti;
  }
  size_t pos = r.offset();
  // The byte planes are gathered in place: each sample's value field holds its 64 bits until
  // they are turned into the value.
  auto gather = [&](model::Sample* dst, size_t count, int width) {
    if (bytes.size() - pos < count * static_cast<size_t>(width)) return false;
    const auto* in = reinterpret_cast<const uint8_t*>(bytes.data() + pos);
    for (size_t i = 0; i < count; ++i) {
      uint64_t v = 0;
      for (int b = 0; b < width; ++b) v |= static_cast<uint64_t>(in[b * count + i]) << (8 * b);
      dst[i].value = std::bit_cast<double>(v);
    }
    pos += count * static_cast<size_t>(width);
    return true;
  };
  if (float_mode) {
    if (!gather(s, n, 8)) return fail(bad("truncated values", pos));
    uint64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
      prev ^= std::bit_cast<uint64_t>(s[i].value);
      s[i].value = std::bit_cast<double>(prev);
    }
  } else {
    int64_t v = 0;
    if (!r.Varint(&v)) return fail(bad("truncated first value", r.offset()));
    pos = r.offset();
    const double div = kPow10[scale];
    s[0].value = static_cast<double>(v) / div;
    if (n > 1) {
      if (pos >= bytes.size()) return fail(bad("missing value width", pos));
      int width = static_cast<uint8_t>(bytes[pos++]);
      if (width < 1 || width > 8) {
        return fail(bad(fmt::format("bad value width {}", width), pos - 1));
      }
      if (!gather(s + 1, n - 1, width)) return fail(bad("truncated values", pos));
      int64_t d1 = 0;
      const bool second = (header & kSecondOrder) != 0;
      for (size_t i = 1; i < n; ++i) {
        int64_t x = UnZigZag(std::bit_cast<uint64_t>(s[i].value));
        d1 = second && i > 1 ? Add(d1, x) : x;
        v = Add(v, d1);
        s[i].value = static_cast<double>(v) / div;
      }
    }
  }
  if (pos != bytes.size()) return fail(bad("trailing bytes", pos));
  return absl::OkStatus();
}

}  // namespace oriel::tsdb
