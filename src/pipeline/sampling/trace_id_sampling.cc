#include "pipeline/sampling/trace_id_sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace oriel::pipeline::sampling {
namespace {

constexpr uint32_t kNumHashBuckets = 0x4000;  // 14 bits, as the collector's hash_seed mode
constexpr uint64_t kMaxAdjustedCount = uint64_t{1} << 56;
constexpr int kNumHexDigits = 14;
constexpr std::string_view kDefaultTailSalt = "default-hash-seed";

template <typename T>
T Fnv1a(T basis, T prime, std::string_view prefix, std::string_view data) {
  T h = basis;
  for (std::string_view part : {prefix, data}) {
    for (unsigned char c : part) {
      h ^= c;
      h *= prime;
    }
  }
  return h;
}

}  // namespace

uint32_t Fnv1a32(std::string_view prefix, std::string_view data) {
  return Fnv1a<uint32_t>(2166136261u, 16777619u, prefix, data);
}

uint64_t Fnv1a64(std::string_view prefix, std::string_view data) {
  return Fnv1a<uint64_t>(14695981039346656037ull, 1099511628211ull, prefix, data);
}

bool HashSeedSampled(std::string_view trace_id, uint32_t seed, float percentage) {
  if (percentage > 100) percentage = 100;
  // float * float stays in float32 (SSE), matching Go's float32 arithmetic bit for bit.
  float scaled_f = percentage * static_cast<float>(kNumHashBuckets / 100.0);
  if (!(scaled_f > 0)) return false;
  auto scaled = static_cast<uint32_t>(scaled_f);
  char seed_bytes[4];
  for (int i = 0; i < 4; ++i) seed_bytes[i] = static_cast<char>((seed >> (8 * i)) & 0xff);
  uint32_t hashed = Fnv1a32(std::string_view(seed_bytes, 4), trace_id) & (kNumHashBuckets - 1);
  return hashed < scaled;
}

uint64_t ProportionalThreshold(double ratio, int precision) {
  const double min_ratio = 1.0 / static_cast<double>(kMaxAdjustedCount);
  ratio = std::clamp(ratio, min_ratio, 1.0);
  if (ratio == 1) return 0;
  // Near 0 and 1 the leading hex digits are all 0 or f: keep `precision` significant ones.
  int exp_f = 0, exp_r = 0;
  std::frexp(ratio, &exp_f);
  std::frexp(1 - ratio, &exp_r);
  precision = std::min(kNumHexDigits, std::max(precision + exp_f / -4, precision + exp_r / -4));
  uint64_t scaled =
      static_cast<uint64_t>(std::round(ratio * static_cast<double>(kMaxAdjustedCount)));
  uint64_t threshold = kMaxAdjustedCount - scaled;
  if (int shift = 4 * (kNumHexDigits - precision); shift != 0) {
    threshold += uint64_t{1} << (shift - 1);
    threshold >>= shift;
    threshold <<= shift;
  }
  return threshold;
}

uint64_t TraceIdRandomness(std::string_view trace_id) {
  uint64_t r = 0;
  if (trace_id.size() != 16) return 0;
  for (size_t i = 9; i < 16; ++i) r = (r << 8) | static_cast<unsigned char>(trace_id[i]);
  return r;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> ParseHex(std::string_view s) {
  if (s.empty() || s.size() > static_cast<size_t>(kNumHexDigits)) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;  // the specification allows lowercase hex only
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

OtelTraceState ParseOtelTraceState(std::string_view tracestate) {
  OtelTraceState out;
  while (!tracestate.empty()) {
    size_t comma = tracestate.find(',');
    std::string_view member = Trim(tracestate.substr(0, comma));
    tracestate = comma == std::string_view::npos ? "" : tracestate.substr(comma + 1);
    if (member.substr(0, 3) != "ot=") continue;
    std::string_view value = member.substr(3);
    while (!value.empty()) {
      size_t semi = value.find(';');
      std::string_view field = value.substr(0, semi);
      value = semi == std::string_view::npos ? "" : value.substr(semi + 1);
      if (field.substr(0, 3) == "th:") {
        std::string_view hex = field.substr(3);
        if (auto v = ParseHex(hex)) {
          out.threshold = *v << (4 * (kNumHexDigits - static_cast<int>(hex.size())));
        }
      } else if (field.substr(0, 3) == "rv:") {
        std::string_view hex = field.substr(3);
        if (hex.size() == static_cast<size_t>(kNumHexDigits)) out.randomness = ParseHex(hex);
      }
    }
    break;
  }
  return out;
}

uint64_t TailThreshold(double ratio) {
  // Go multiplies MaxUint64 by the ratio in a 64-bit-mantissa big.Float (round to nearest
  // even), then truncates: x86-64's long double has the same 64-bit mantissa and rounding.
  static_assert(std::numeric_limits<long double>::digits >= 64,
                "TailThreshold needs a 64-bit long double mantissa to match the collector");
  if (!(ratio > 0)) return 0;
  if (ratio >= 1) return std::numeric_limits<uint64_t>::max();
  long double product = static_cast<long double>(std::numeric_limits<uint64_t>::max()) *
                        static_cast<long double>(ratio);
  return static_cast<uint64_t>(product);
}

bool TailProbabilisticSampled(std::string_view salt, std::string_view trace_id,
                              uint64_t threshold) {
  return Fnv1a64(salt.empty() ? kDefaultTailSalt : salt, trace_id) <= threshold;
}

}  // namespace oriel::pipeline::sampling
