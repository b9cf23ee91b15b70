#include "tsdb/wal_records.h"

#include <bit>

#include "base/status.h"
#include "tsdb/encoding.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/xor_chunk.h"

namespace oriel::tsdb {
namespace {

void PutLabels(std::string& out, const model::Labels& labels) {
  PutUvarint(out, labels.size());
  for (const model::LabelRef& l : labels) {
    PutString(out, l.name);
    PutString(out, l.value);
  }
}

bool ReadLabels(ByteReader& in, model::Labels* labels) {
  uint64_t n;
  if (!in.Uvarint(&n) || n > in.remaining() / 2) return false;
  std::vector<model::LabelRef> items;
  items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name, value;
    if (!in.String(&name) || !in.String(&value)) return false;
    if (name.empty() || value.empty()) return false;
    if (!items.empty() && items.back().name >= name) return false;
    items.push_back({name, value});
  }
  *labels = model::Labels::FromSortedViews(items);
  return true;
}

bool ReadRef(ByteReader& in, uint32_t* ref) {
  uint64_t v;
  if (!in.Uvarint(&v) || v > UINT32_MAX) return false;
  *ref = static_cast<uint32_t>(v);
  return true;
}

bool DecodeBody(WalRecordType type, ByteReader& in, WalRecord* rec) {
  switch (type) {
    case WalRecordType::kSeries:
      while (!in.done()) {
        WalSeries& s = rec->series.emplace_back();
        if (!ReadRef(in, &s.ref) || !ReadLabels(in, &s.labels) || s.labels.empty()) return false;
      }
      return true;
    case WalRecordType::kSamples:
    case WalRecordType::kOooSamples: {
      if (in.done()) return true;
      int64_t base;
      if (!in.Varint(&base)) return false;
      while (!in.done()) {
        WalSample& s = rec->samples.emplace_back();
        int64_t dt;
        if (!ReadRef(in, &s.ref) || !in.Varint(&dt) || !in.Double(&s.v)) return false;
        s.t = static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(dt));
      }
      return true;
    }
    case WalRecordType::kFloatChunks:
      while (!in.done()) {
        uint32_t ref;
        uint64_t n;
        std::string_view bytes;
        // Past the first two, a sample takes at least two bits: a larger count is corrupt.
        if (!ReadRef(in, &ref) || !in.Uvarint(&n) || !in.String(&bytes) || n == 0 ||
            n > 2 + uint64_t{bytes.size()} * 4 || n > INT32_MAX) {
          return false;
        }
        XorIterator it(bytes, static_cast<int>(n));
        while (it.Next()) rec->samples.push_back({ref, it.t(), it.v()});
        if (!it.status().ok()) return false;
      }
      return true;
    case WalRecordType::kHistograms:
      while (!in.done()) {
        WalHistogram& h = rec->histograms.emplace_back();
        if (!ReadRef(in, &h.ref) || !in.Varint(&h.h.timestamp_ms) ||
            !ReadHistogramFields(in, &h.h)) {
          return false;
        }
      }
      return true;
    case WalRecordType::kExemplars:
      while (!in.done()) {
        WalExemplar& e = rec->exemplars.emplace_back();
        if (!ReadRef(in, &e.ref) || !in.Varint(&e.e.timestamp_ms) || !in.Double(&e.e.value) ||
            !ReadLabels(in, &e.e.labels)) {
          return false;
        }
      }
      return true;
    case WalRecordType::kMetadata:
      while (!in.done()) {
        model::MetricMetadata& m = rec->metadata.emplace_back();
        std::string_view family, help, unit;
        uint8_t t;
        if (!in.String(&family) || !in.Byte(&t) || !in.String(&help) || !in.String(&unit)) {
          return false;
        }
        if (t > static_cast<uint8_t>(model::MetricType::kStateSet)) return false;
        m.metric_family = family;
        m.type = static_cast<model::MetricType>(t);
        m.help = help;
        m.unit = unit;
      }
      return true;
  }
  return false;
}

}  // namespace

void EncodeSeriesRecord(std::string& out, std::span<const WalSeries> series) {
  out.push_back(static_cast<char>(WalRecordType::kSeries));
  for (const WalSeries& s : series) {
    PutUvarint(out, s.ref);
    PutLabels(out, s.labels);
  }
}

namespace {

// Little-endian base-128, as PutUvarint; returns the end of what it wrote.
char* WriteUvarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

void EncodeFloats(std::string& out, WalRecordType type, std::span<const WalSample> samples) {
  out.push_back(static_cast<char>(type));
  if (samples.empty()) return;
  int64_t base = samples[0].t;
  PutVarint(out, base);
  // Sized for the longest encoding (ref, zig-zag time delta, value), written through a pointer
  // and cut to what was used: a write holds thousands of samples, byte-wise appends cost more.
  constexpr size_t kMaxPerSample = 5 + 10 + 8;
  size_t start = out.size();
  out.resize(start + samples.size() * kMaxPerSample);
  char* p = out.data() + start;
  for (const WalSample& s : samples) {
    p = WriteUvarint(p, s.ref);
    auto dt = static_cast<int64_t>(static_cast<uint64_t>(s.t) - static_cast<uint64_t>(base));
    p = WriteUvarint(p, (static_cast<uint64_t>(dt) << 1) ^ static_cast<uint64_t>(dt >> 63));
    uint64_t bits = std::bit_cast<uint64_t>(s.v);
    for (int i = 0; i < 8; ++i) *p++ = static_cast<char>(bits >> (8 * i));
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

}  // namespace

void EncodeSamplesRecord(std::string& out, std::span<const WalSample> samples) {
  EncodeFloats(out, WalRecordType::kSamples, samples);
}

void EncodeOooSamplesRecord(std::string& out, std::span<const WalSample> samples) {
  EncodeFloats(out, WalRecordType::kOooSamples, samples);
}

void EncodeFloatChunksRecord(std::string& out, std::span<const WalFloatChunk> chunks) {
  out.push_back(static_cast<char>(WalRecordType::kFloatChunks));
  for (const WalFloatChunk& c : chunks) {
    PutUvarint(out, c.ref);
    PutUvarint(out, static_cast<uint64_t>(c.num_samples));
    PutString(out, c.bytes);
  }
}

void EncodeHistogramsRecord(std::string& out, std::span<const WalHistogram> histograms) {
  out.push_back(static_cast<char>(WalRecordType::kHistograms));
  for (const WalHistogram& h : histograms) {
    PutUvarint(out, h.ref);
    PutVarint(out, h.h.timestamp_ms);
    AppendHistogramFields(out, h.h);
  }
}

void EncodeExemplarsRecord(std::string& out, std::span<const WalExemplar> exemplars) {
  out.push_back(static_cast<char>(WalRecordType::kExemplars));
  for (const WalExemplar& e : exemplars) {
    PutUvarint(out, e.ref);
    PutVarint(out, e.e.timestamp_ms);
    PutDouble(out, e.e.value);
    PutLabels(out, e.e.labels);
  }
}

void EncodeMetadataRecord(std::string& out, std::span<const model::MetricMetadata> metadata) {
  out.push_back(static_cast<char>(WalRecordType::kMetadata));
  for (const model::MetricMetadata& m : metadata) {
    PutString(out, m.metric_family);
    out.push_back(static_cast<char>(m.type));
    PutString(out, m.help);
    PutString(out, m.unit);
  }
}

absl::StatusOr<WalRecord> DecodeWalRecord(std::string_view record) {
  if (record.empty()) return absl::DataLossError("cannot decode WAL record: empty record");
  uint8_t type = static_cast<uint8_t>(record[0]);
  if (type < 1 || type > 7) {
    return absl::DataLossError(fmt::format("cannot decode WAL record: unknown type {}", type));
  }
  WalRecord rec;
  rec.type = static_cast<WalRecordType>(type);
  ByteReader in(record.substr(1));
  if (!DecodeBody(rec.type, in, &rec)) {
    return absl::DataLossError(
        fmt::format("cannot decode WAL record of type {}: malformed at byte {} of {}", type,
                    in.offset() + 1, record.size()));
  }
  return rec;
}

}  // namespace oriel::tsdb
