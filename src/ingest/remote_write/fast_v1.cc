#include "ingest/remote_write/fast_v1.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <shared_mutex>
#include <span>
#include <vector>

namespace oriel::ingest {
namespace {

// Protobuf wire types used by the schema.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLen = 2;
constexpr uint32_t kFixed32 = 5;

// Field numbers of prometheus.WriteRequest, TimeSeries, Label and Sample.
constexpr uint32_t kRequestTimeseries = 1;
constexpr uint32_t kRequestMetadata = 3;
constexpr uint32_t kSeriesLabels = 1;
constexpr uint32_t kSeriesSamples = 2;
constexpr uint32_t kSeriesExemplars = 3;
constexpr uint32_t kSeriesHistograms = 4;
constexpr uint32_t kLabelName = 1;
constexpr uint32_t kLabelValue = 2;
constexpr uint32_t kSampleValue = 1;
constexpr uint32_t kSampleTimestamp = 2;

// A bounds-checked reader of one message's bytes. Every read fails (returns false) instead of
// going past the end.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool done() const { return p_ == end_; }

  bool Varint(uint64_t* v) {
    uint64_t out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      uint8_t b = static_cast<uint8_t>(*p_++);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = out;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  bool Tag(uint32_t* field, uint32_t* wire_type) {
    // Protobuf reads a tag as a varint of at most 5 bytes.
    const char* start = p_;
    uint64_t tag;
    if (!Varint(&tag) || p_ - start > 5 || tag > UINT32_MAX) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return *field != 0;
  }

  bool Bytes(std::string_view* out) {
    uint64_t n;
    if (!Varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool Fixed64(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(v, p_, 8);  // little-endian on every supported target
    p_ += 8;
    return true;
  }

  // Skips a field this path does not interpret (unknown to the schema), as protobuf does.
  bool Skip(uint32_t wire_type) {
    uint64_t v;
    std::string_view s;
    switch (wire_type) {
      case kVarint:
        return Varint(&v);
      case kFixed64:
        return Fixed64(&v);
      case kLen:
        return Bytes(&s);
      case kFixed32:
        if (end_ - p_ < 4) return false;
        p_ += 4;
        return true;
      default:
        return false;  // groups: left to the full parser
    }
  }

 private:
  const char* p_;
  const char* end_;
};

// Well-formed UTF-8 (Unicode table 3-7: no overlong forms, surrogates or code points past
// U+10FFFF), which protobuf requires of proto3 string fields.
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    // Label names and values are almost always ASCII: eight bytes at a time.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xbf) return false;
    }
    p += n + 1;
  }
  return true;
}

// Reads one Label message into views of the body. Its strings are checked (UTF-8) only when
// the series is not found in the cache: a cached series was checked when it was first seen.
bool ParseLabel(std::string_view msg, LabelView* out) {
  WireReader r(msg);
  std::string_view name, value;  // the last occurrence wins, as in protobuf
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return false;
    if (field == kLabelName || field == kLabelValue) {
      if (wt != kLen || !r.Bytes(field == kLabelName ? &name : &value)) return false;
    } else if (!r.Skip(wt)) {
      return false;
    }
  }
  out->name = name;
  out->value = value;
  return true;
}

// The label set of a series not found in the cache, or nullopt when it is not a valid one.
std::optional<model::Labels> BuildLabels(std::span<const LabelView> views) {
  // The series rules of DecodeV1, for the sorted case only: names strictly increasing (so unique
  // and, past the first, non-empty), a non-empty __name__. Empty values are dropped.
  if (views.empty() || views.front().name.empty()) return std::nullopt;
  bool has_name = false;
  for (size_t i = 0; i < views.size(); ++i) {
    if (i > 0 && !(views[i - 1].name < views[i].name)) return std::nullopt;
    if (views[i].name == model::kMetricName) has_name = !views[i].value.empty();
    // Protobuf requires proto3 strings to be UTF-8.
    if (!IsValidUtf8(views[i].name) || !IsValidUtf8(views[i].value)) return std::nullopt;
  }
  if (!has_name) return std::nullopt;
  // Usually no value is empty and the views are the set as they are.
  if (std::none_of(views.begin(), views.end(),
                   [](const LabelView& v) { return v.value.empty(); })) {
    return model::Labels::FromSortedViews(views);
  }
  std::vector<LabelView> labels;
  labels.reserve(views.size());
  for (const LabelView& v : views) {
    if (!v.value.empty()) labels.push_back(v);
  }
  return model::Labels::FromSortedViews(labels);
}

bool ParseSample(std::string_view msg, model::Sample* out) {
  WireReader r(msg);
  uint64_t bits = 0, ts = 0;
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return false;
    if (field == kSampleValue) {
      if (wt != kFixed64 || !r.Fixed64(&bits)) return false;
    } else if (field == kSampleTimestamp) {
      if (wt != kVarint || !r.Varint(&ts)) return false;
    } else if (!r.Skip(wt)) {
      return false;
    }
  }
  std::memcpy(&out->value, &bits, 8);
  out->timestamp_ms = static_cast<int64_t>(ts);
  return true;
}

// What decoding one request needs besides the body: the cache (may be null), with its lookup
// lock held, and what to add to it afterwards.
struct SeriesLookup {
  const SeriesLabelsCache* cache = nullptr;
  std::vector<LabelView> views;  // scratch, reused from series to series
  SeriesLabelsCache::Entries inserts;
};

// Builds the series into `out`; false when the series is anything but a valid float series.
// REQUIRES: `key` is SeriesKey(msg).
bool ParseSeries(std::string_view msg, uint64_t key, SeriesLookup& lookup, model::SeriesData* out) {
  WireReader r(msg);
  lookup.views.clear();
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return false;
    std::string_view sub;
    switch (field) {
      case kSeriesLabels:
        if (wt != kLen || !r.Bytes(&sub) || !ParseLabel(sub, &lookup.views.emplace_back())) {
          return false;
        }
        break;
      case kSeriesSamples:
        if (wt != kLen || !r.Bytes(&sub) || !ParseSample(sub, &out->samples.emplace_back())) {
          return false;
        }
        break;
      case kSeriesExemplars:
      case kSeriesHistograms:
        return false;
      default:
        if (!r.Skip(wt)) return false;
    }
  }
  if (lookup.cache != nullptr) {
    SeriesLabelsCache::Hit hit = lookup.cache->Find(key, lookup.views);
    if (hit.labels != nullptr) {
      out->labels = *hit.labels;
      if (hit.from_previous) lookup.inserts.emplace_back(key, out->labels);
      return true;
    }
  }
  std::optional<model::Labels> labels = BuildLabels(lookup.views);
  if (!labels.has_value()) return false;
  out->labels = *std::move(labels);
  if (lookup.cache != nullptr) lookup.inserts.emplace_back(key, out->labels);
  return true;
}

// The cache key of a series message: its label fields' bytes, chained in order; false when the
// message is malformed.
bool SeriesKey(std::string_view msg, uint64_t* key) {
  WireReader r(msg);
  *key = kSeriesKeySeed;
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return false;
    if (field == kSeriesLabels && wt == kLen) {
      std::string_view sub;
      if (!r.Bytes(&sub)) return false;
      *key = ChainSeriesKey(*key, sub);
    } else if (!r.Skip(wt)) {
      return false;
    }
  }
  return true;
}

struct SeriesMessage {
  std::string_view msg;
  uint64_t key = 0;
};

// The request's series messages with their cache keys, or nullopt for what the fast path leaves
// to the full one (metadata, a malformed message).
std::optional<std::vector<SeriesMessage>> SplitSeries(std::string_view body) {
  std::vector<SeriesMessage> out;
  WireReader r(body);
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return std::nullopt;
    if (field != kRequestTimeseries) {
      // Metadata goes the full way; unknown fields are skipped.
      if (field == kRequestMetadata || !r.Skip(wt)) return std::nullopt;
      continue;
    }
    SeriesMessage& s = out.emplace_back();
    if (wt != kLen || !r.Bytes(&s.msg) || !SeriesKey(s.msg, &s.key)) return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<DecodedWrite> TryDecodeV1Fast(std::string_view body, const SeriesLabelsCache* cache,
                                            SeriesLabelsCache::Entries* to_cache) {
  // Two passes: the keys first, so that the cache lookups can ask for their slots a few series
  // ahead (on a big cache nearly every lookup misses the CPU cache otherwise).
  std::optional<std::vector<SeriesMessage>> messages = SplitSeries(body);
  if (!messages.has_value()) return std::nullopt;
  DecodedWrite out;
  out.batch.series.resize(messages->size());
  SeriesLookup lookup;
  lookup.cache = cache;
  {
    std::shared_lock<std::shared_mutex> lock;
    if (cache != nullptr) lock = cache->LockForLookups();
    constexpr size_t kPrefetchAhead = 8;
    for (size_t i = 0; i < messages->size(); ++i) {
      if (cache != nullptr) {
        if (i == 0) {
          for (size_t j = 0; j < kPrefetchAhead && j < messages->size(); ++j) {
            cache->Prefetch((*messages)[j].key);
          }
        } else if (i + kPrefetchAhead < messages->size()) {
          cache->Prefetch((*messages)[i + kPrefetchAhead].key);
        }
      }
      model::SeriesData& series = out.batch.series[i];
      if (!ParseSeries((*messages)[i].msg, (*messages)[i].key, lookup, &series)) {
        return std::nullopt;
      }
      out.samples += static_cast<int64_t>(series.samples.size());
    }
  }
  // Only once the whole request decoded: a request the full path handles teaches nothing.
  if (cache != nullptr) {
    for (auto& entry : lookup.inserts) to_cache->push_back(std::move(entry));
  }
  return out;
}

}  // namespace oriel::ingest
