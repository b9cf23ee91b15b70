#include "ingest/remote_write/fast_v1.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <shared_mutex>
#include <span>
#include <vector>

namespace oriel::ingest {
namespace {

// A label as it lies in the request: views into the decoded body.
using LabelView = model::LabelRef;

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

bool IsAscii(std::string_view s) {
  uint64_t high_bits = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    high_bits |= word;
  }
  for (; i < s.size(); ++i) high_bits |= static_cast<uint8_t>(s[i]);
  return (high_bits & 0x8080808080808080ULL) == 0;
}

// Reads one Label message into views of the body; false when it is malformed or a string is
// not UTF-8 (which protobuf refuses in proto3 strings).
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
  // Nearly always the whole message is ASCII (its tags and short lengths are), and so are both
  // strings: one pass instead of two.
  if (!IsAscii(msg) && (!IsValidUtf8(name) || !IsValidUtf8(value))) return false;
  out->name = name;
  out->value = value;
  return true;
}

// Whether `views` make a valid series by the rules of DecodeV1, for the sorted case only: names
// strictly increasing (so unique and, past the first, non-empty) and a non-empty __name__.
bool IsValidSortedSeries(std::span<const LabelView> views) {
  if (views.empty() || views.front().name.empty()) return false;
  bool has_name = false;
  for (size_t i = 0; i < views.size(); ++i) {
    if (i > 0 && !(views[i - 1].name < views[i].name)) return false;
    if (views[i].name == model::kMetricName) has_name = !views[i].value.empty();
  }
  return has_name;
}

bool HasEmptyValue(std::span<const LabelView> views) {
  return std::any_of(views.begin(), views.end(),
                     [](const LabelView& v) { return v.value.empty(); });
}

// The label set of valid views: empty values are dropped, as Labels does.
model::Labels BuildLabels(std::span<const LabelView> views) {
  if (!HasEmptyValue(views)) return model::Labels::FromSortedViews(views);
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

// Reads a series message: its labels appended to `views`, its samples into `out`; false when
// it is anything but a float series.
bool ParseSeries(std::string_view msg, std::vector<LabelView>& views, model::SeriesData* out) {
  WireReader r(msg);
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return false;
    std::string_view sub;
    switch (field) {
      case kSeriesLabels:
        if (wt != kLen || !r.Bytes(&sub) || !ParseLabel(sub, &views.emplace_back())) return false;
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
  return true;
}

// The request's series messages, or nullopt for what the fast path leaves to the full one
// (metadata, a malformed message).
std::optional<std::vector<std::string_view>> SplitSeries(std::string_view body) {
  std::vector<std::string_view> out;
  WireReader r(body);
  while (!r.done()) {
    uint32_t field, wt;
    if (!r.Tag(&field, &wt)) return std::nullopt;
    if (field != kRequestTimeseries) {
      // Metadata goes the full way; unknown fields are skipped.
      if (field == kRequestMetadata || !r.Skip(wt)) return std::nullopt;
      continue;
    }
    std::string_view& msg = out.emplace_back();
    if (wt != kLen || !r.Bytes(&msg)) return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<DecodedWrite> TryDecodeV1Fast(std::string_view body, tsdb::MetricsWriter* known) {
  std::optional<std::vector<std::string_view>> messages = SplitSeries(body);
  if (!messages.has_value()) return std::nullopt;
  DecodedWrite out;
  out.batch.series.resize(messages->size());
  // Every series' label views, back to back; series i's are [label_end[i - 1], label_end[i]).
  std::vector<LabelView> views;
  std::vector<size_t> label_end(messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    model::SeriesData& series = out.batch.series[i];
    if (!ParseSeries((*messages)[i], views, &series)) return std::nullopt;
    label_end[i] = views.size();
    out.samples += static_cast<int64_t>(series.samples.size());
  }
  auto labels_of = [&](size_t i) {
    size_t begin = i == 0 ? 0 : label_end[i - 1];
    return std::span<const LabelView>(views).subspan(begin, label_end[i] - begin);
  };
  // The sets the engine already holds are taken from it rather than built anew (as senders send
  // the same series every scrape, that is nearly all of them); being the engine's, they are
  // valid series (Labels are sorted with unique names, and the engine refuses sets without a
  // metric name), so only the others are checked. Sets with an empty value are not the views
  // as they are, so they are always built.
  std::vector<model::LabelViews> lookups;
  std::vector<size_t> looked_up;  // series index of each lookup
  if (known != nullptr) {
    lookups.reserve(messages->size());
    looked_up.reserve(messages->size());
    for (size_t i = 0; i < messages->size(); ++i) {
      std::span<const LabelView> labels = labels_of(i);
      if (HasEmptyValue(labels)) continue;
      lookups.push_back({labels, model::Labels::HashOf(labels)});
      looked_up.push_back(i);
    }
    std::vector<model::Labels> found(lookups.size());
    known->FindLabels(lookups, std::span<model::Labels>(found));
    for (size_t k = 0; k < looked_up.size(); ++k) {
      out.batch.series[looked_up[k]].labels = std::move(found[k]);
    }
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    model::SeriesData& series = out.batch.series[i];
    if (!series.labels.empty()) continue;
    if (!IsValidSortedSeries(labels_of(i))) return std::nullopt;
    series.labels = BuildLabels(labels_of(i));
  }
  return out;
}

}  // namespace oriel::ingest
