#include "tsdb/delta_chunk.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>

#include "base/check.h"
#include "base/status.h"
#include "tsdb/encoding.h"

namespace oriel::tsdb {
namespace {

constexpr int kMaxScale = 9;
constexpr uint8_t kSecondOrder = 0x10;
constexpr uint8_t kFloatMode = 0x20;
constexpr uint8_t kPacked = 0x40;
// An exception (a value not exact at the chunk's scale) costs its 8 raw bytes and a position;
// a decimal digit of scale costs log2(10) bits on every other sample.
constexpr double kExceptionBits = 72;
constexpr double kBitsPerDigit = 3.33;
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

// Appends `values` packed LSB-first at `width` bits each (0..64).
void PutPacked(std::string& out, const std::vector<uint64_t>& values, int width) {
  uint64_t acc = 0;
  int used = 0;
  for (uint64_t v : values) {
    for (int done = 0; done < width;) {
      int take = std::min(width - done, 64 - used);
      uint64_t part = (v >> done) & (take == 64 ? ~uint64_t{0} : (uint64_t{1} << take) - 1);
      acc |= part << used;
      used += take;
      done += take;
      if (used == 64) {
        for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>(acc >> (8 * b)));
        acc = 0;
        used = 0;
      }
    }
  }
  for (int b = 0; b < used; b += 8) out.push_back(static_cast<char>(acc >> b));
}

size_t PackedBytes(size_t count, int width) { return (count * static_cast<size_t>(width) + 7) / 8; }

// Reads value `i` of a packed array of `width`-bit values. REQUIRES: the array holds it.
uint64_t GetPacked(const uint8_t* in, size_t size, size_t i, int width) {
  const size_t bit = i * static_cast<size_t>(width);
  size_t byte = bit / 8;
  const int shift = static_cast<int>(bit % 8);
  uint64_t v = 0;
  if (width <= 56 && byte + 8 <= size) {
    std::memcpy(&v, in + byte, 8);  // little-endian hosts only, as the rest of the format
    v >>= shift;
  } else {
    for (int got = -shift; got < width && byte < size; got += 8, ++byte) {
      uint64_t b = in[byte];
      v |= got < 0 ? b >> -got : b << got;
    }
  }
  return width == 64 ? v : v & ((uint64_t{1} << width) - 1);
}

bool OnGrid(int64_t r, int64_t d) {
  // |r| < d / 2 without overflow for any r.
  return r > INT64_MIN && (r < 0 ? -r : r) < d / 2;
}

}  // namespace

namespace {

// The packed value layout: the scale that minimizes the estimated size, the values not exact at
// it kept as exceptions; nullopt when no scale leaves at least half of the values exact.
struct PackedPlan {
  int scale = 0;
  std::vector<int64_t> ints;       // the exact values, in order
  std::vector<size_t> exceptions;  // positions of the others
};

std::optional<PackedPlan> PlanPacked(std::span<const model::Sample> samples) {
  std::optional<PackedPlan> best;
  double best_bits = 0;
  const size_t n = samples.size();
  for (int k = 0; k <= kMaxScale; ++k) {
    PackedPlan p;
    p.scale = k;
    for (size_t i = 0; i < n && p.exceptions.size() * 2 <= n; ++i) {
      std::optional<int64_t> v = ScaledInteger(samples[i].value, k);
      if (v.has_value()) {
        p.ints.push_back(*v);
      } else {
        p.exceptions.push_back(i);
      }
    }
    if (p.exceptions.size() * 2 > n || p.ints.empty()) continue;
    const double e = static_cast<double>(p.exceptions.size());
    const double bits = e * kExceptionBits + (static_cast<double>(n) - e) * kBitsPerDigit * k;
    if (!best.has_value() || bits < best_bits) {
      best_bits = bits;
      best = std::move(p);
    }
    if (best->exceptions.empty()) break;  // a higher scale only costs more
  }
  return best;
}

// Differences of `ints` of order 1 or 2, zig-zag free: returned as (base, offsets from base).
struct Offsets {
  int64_t base = 0;
  int width = 0;
  std::vector<uint64_t> values;
};
Offsets FrameOfReference(const std::vector<int64_t>& diffs) {
  Offsets o;
  o.base = *std::min_element(diffs.begin(), diffs.end());
  uint64_t max = 0;
  for (int64_t d : diffs) {
    o.values.push_back(static_cast<uint64_t>(d) - static_cast<uint64_t>(o.base));
    max = std::max(max, o.values.back());
  }
  o.width = std::bit_width(max);
  return o;
}

void PutTimestamps(std::string& out, std::span<const model::Sample> samples, int64_t grid) {
  PutVarint(out, samples[0].timestamp_ms);
  PutUvarint(out, static_cast<uint64_t>(grid));
  int64_t g = samples[0].timestamp_ms;
  for (size_t i = 1; i < samples.size(); ++i) {
    int64_t pred = Add(g, grid);
    int64_t r = Sub(samples[i].timestamp_ms, pred);
    PutVarint(out, r);
    g = OnGrid(r, grid) ? pred : samples[i].timestamp_ms;
  }
}

int64_t GridOf(std::span<const model::Sample> samples) {
  if (samples.size() < 2) return 0;
  std::vector<int64_t> deltas;
  deltas.reserve(samples.size() - 1);
  for (size_t i = 1; i < samples.size(); ++i) {
    deltas.push_back(Sub(samples[i].timestamp_ms, samples[i - 1].timestamp_ms));
  }
  std::nth_element(deltas.begin(), deltas.begin() + deltas.size() / 2, deltas.end());
  return std::max<int64_t>(deltas[deltas.size() / 2], 0);
}

std::optional<std::string> EncodePacked(std::span<const model::Sample> samples) {
  std::optional<PackedPlan> plan = PlanPacked(samples);
  if (!plan.has_value()) return std::nullopt;
  const std::vector<int64_t>& ints = plan->ints;
  Offsets values;
  bool second_order = false;
  if (ints.size() > 1) {
    std::vector<int64_t> first, second;
    for (size_t i = 1; i < ints.size(); ++i) {
      first.push_back(Sub(ints[i], ints[i - 1]));
      second.push_back(i == 1 ? first.back() : Sub(first.back(), first[first.size() - 2]));
    }
    values = FrameOfReference(first);
    Offsets by_second = FrameOfReference(second);
    second_order = by_second.width < values.width;
    if (second_order) values = std::move(by_second);
  }
  std::string out;
  out.push_back(static_cast<char>(kPacked | plan->scale | (second_order ? kSecondOrder : 0)));
  PutTimestamps(out, samples, GridOf(samples));
  PutUvarint(out, plan->exceptions.size());
  size_t next = 0;
  for (size_t pos : plan->exceptions) {
    PutUvarint(out, pos - next);
    PutFixed64(out, std::bit_cast<uint64_t>(samples[pos].value));
    next = pos + 1;
  }
  PutVarint(out, ints[0]);
  if (ints.size() > 1) {
    PutVarint(out, values.base);
    out.push_back(static_cast<char>(values.width));
    PutPacked(out, values.values, values.width);
  }
  return out;
}

}  // namespace

std::string EncodeDeltaChunk(std::span<const model::Sample> samples, DeltaLayout layout) {
  ORIEL_CHECK(!samples.empty());
  if (layout == DeltaLayout::kPacked) {
    if (std::optional<std::string> packed = EncodePacked(samples)) return *std::move(packed);
  }
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

namespace {

// The values of a packed chunk (header bit kPacked), from `r` on, into s[0..n).
absl::Status DecodePackedValues(std::string_view bytes, ByteReader& r, uint8_t header,
                                model::Sample* s, size_t n) {
  auto bad = [&](std::string_view what, size_t offset) {
    return absl::DataLossError(
        fmt::format("cannot decode delta chunk: {} at offset {}", what, offset));
  };
  uint64_t count = 0;
  if (!r.Uvarint(&count) || count >= n) return bad("bad exception count", r.offset());
  std::vector<std::pair<size_t, uint64_t>> exceptions(count);
  size_t next = 0;
  for (auto& [pos, bits] : exceptions) {
    uint64_t gap = 0;
    if (!r.Uvarint(&gap) || gap >= n - next || !r.Fixed64(&bits)) {
      return bad("bad exception", r.offset());
    }
    pos = next + gap;
    next = pos + 1;
  }
  const size_t m = n - count;  // >= 1
  int64_t v = 0, base = 0;
  uint8_t width = 0;
  if (!r.Varint(&v)) return bad("truncated first value", r.offset());
  if (m > 1 && (!r.Varint(&base) || !r.Byte(&width) || width > 64)) {
    return bad("bad value width", r.offset());
  }
  const size_t packed_size = m > 1 ? PackedBytes(m - 1, width) : 0;
  if (r.remaining() != packed_size) return bad("packed values do not fill the chunk", r.offset());
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data() + r.offset());
  const double div = kPow10[header & 0x0f];
  const bool second = (header & kSecondOrder) != 0;
  auto exception = exceptions.begin();
  int64_t d1 = 0;
  for (size_t i = 0, j = 0; i < n; ++i) {
    if (exception != exceptions.end() && exception->first == i) {
      s[i].value = std::bit_cast<double>(exception->second);
      ++exception;
      continue;
    }
    if (j > 0) {
      int64_t x = Add(base, static_cast<int64_t>(GetPacked(in, packed_size, j - 1, width)));
      d1 = second && j > 1 ? Add(d1, x) : x;
      v = Add(v, d1);
    }
    s[i].value = static_cast<double>(v) / div;
    ++j;
  }
  return absl::OkStatus();
}

}  // namespace

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
  const bool packed = (header & kPacked) != 0;
  const int scale = header & 0x0f;
  if (!float_mode && (scale > kMaxScale || (header & ~(0x0f | kSecondOrder | kPacked)) != 0)) {
    return bad("bad header", 0);
  }
  // Every sample takes at least two bytes (packed: one, its timestamp residual; the first
  // sample's timestamp and value take more), so the count cannot ask for more memory than the
  // input justifies.
  if (num_samples <= 0 ||
      static_cast<size_t>(num_samples) > (packed ? bytes.size() : bytes.size() / 2)) {
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
  if (packed) {
    if (absl::Status st = DecodePackedValues(bytes, r, header, s, n); !st.ok()) return fail(st);
    return absl::OkStatus();
  }
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

absl::Status AppendDeltaFloats(std::string_view bytes, int num_samples, int64_t mint, int64_t maxt,
                               std::vector<model::Sample>* out) {
  const size_t begin = out->size();
  ORIEL_RETURN_IF_ERROR(DecodeDeltaChunkInto(bytes, num_samples, out));
  // The whole chunk is decoded (the encoding has no seek); then the samples outside are cut.
  auto first = out->begin() + static_cast<ptrdiff_t>(begin);
  auto hi = std::upper_bound(first, out->end(), maxt,
                             [](int64_t t, const model::Sample& s) { return t < s.timestamp_ms; });
  out->erase(hi, out->end());
  auto lo = std::lower_bound(first, out->end(), mint,
                             [](const model::Sample& s, int64_t t) { return s.timestamp_ms < t; });
  out->erase(first, lo);
  return absl::OkStatus();
}

}  // namespace oriel::tsdb
