#include "tsdb/histogram_chunk.h"

#include "base/status.h"

namespace oriel::tsdb {
namespace {

void AppendSpans(std::string& out, const std::vector<model::BucketSpan>& spans) {
  PutUvarint(out, spans.size());
  for (const auto& s : spans) {
    PutVarint(out, s.offset);
    PutUvarint(out, s.length);
  }
}

void AppendDoubles(std::string& out, const std::vector<double>& v) {
  PutUvarint(out, v.size());
  for (double d : v) PutDouble(out, d);
}

bool ReadSpans(ByteReader& in, std::vector<model::BucketSpan>* spans) {
  uint64_t n;
  // Each span takes at least two bytes: a count beyond that is corruption, not an allocation.
  if (!in.Uvarint(&n) || n > in.remaining() / 2) return false;
  spans->resize(n);
  for (auto& s : *spans) {
    int64_t offset;
    uint64_t length;
    if (!in.Varint(&offset) || !in.Uvarint(&length)) return false;
    if (offset < INT32_MIN || offset > INT32_MAX || length > UINT32_MAX) return false;
    s.offset = static_cast<int32_t>(offset);
    s.length = static_cast<uint32_t>(length);
  }
  return true;
}

bool ReadDoubles(ByteReader& in, std::vector<double>* v) {
  uint64_t n;
  if (!in.Uvarint(&n) || n > in.remaining() / 8) return false;
  v->resize(n);
  for (double& d : *v) {
    if (!in.Double(&d)) return false;
  }
  return true;
}

}  // namespace

void AppendHistogramFields(std::string& out, const model::HistogramSample& h) {
  out.push_back(static_cast<char>(h.counter_reset));
  PutVarint(out, h.schema);
  PutDouble(out, h.zero_threshold);
  PutDouble(out, h.zero_count);
  PutDouble(out, h.count);
  PutDouble(out, h.sum);
  AppendSpans(out, h.positive_spans);
  AppendDoubles(out, h.positive_buckets);
  AppendSpans(out, h.negative_spans);
  AppendDoubles(out, h.negative_buckets);
  AppendDoubles(out, h.custom_values);
}

bool ReadHistogramFields(ByteReader& in, model::HistogramSample* h) {
  uint8_t reset;
  int64_t schema;
  if (!in.Byte(&reset) || reset > static_cast<uint8_t>(model::HistogramSample::Reset::kGauge)) {
    return false;
  }
  h->counter_reset = static_cast<model::HistogramSample::Reset>(reset);
  if (!in.Varint(&schema) || schema < INT32_MIN || schema > INT32_MAX) return false;
  h->schema = static_cast<int32_t>(schema);
  return in.Double(&h->zero_threshold) && in.Double(&h->zero_count) && in.Double(&h->count) &&
         in.Double(&h->sum) && ReadSpans(in, &h->positive_spans) &&
         ReadDoubles(in, &h->positive_buckets) && ReadSpans(in, &h->negative_spans) &&
         ReadDoubles(in, &h->negative_buckets) && ReadDoubles(in, &h->custom_values);
}

void HistogramChunk::Append(const model::HistogramSample& h) {
  if (num_samples_ == 0) {
    PutVarint(bytes_, h.timestamp_ms);
    min_time_ = h.timestamp_ms;
  } else {
    PutVarint(bytes_, static_cast<int64_t>(static_cast<uint64_t>(h.timestamp_ms) -
                                           static_cast<uint64_t>(max_time_)));
  }
  AppendHistogramFields(bytes_, h);
  max_time_ = h.timestamp_ms;
  ++num_samples_;
}

bool HistogramIterator::Next() {
  if (!status_.ok() || read_ >= remaining_) {
    positioned_ = false;
    return false;
  }
  int64_t dt;
  if (!reader_.Varint(&dt) || !ReadHistogramFields(reader_, &h_)) {
    status_ = absl::DataLossError(fmt::format(
        "cannot decode histogram chunk: malformed sample {} at byte {}", read_, reader_.offset()));
    positioned_ = false;
    return false;
  }
  h_.timestamp_ms = read_ == 0 ? dt
                               : static_cast<int64_t>(static_cast<uint64_t>(h_.timestamp_ms) +
                                                      static_cast<uint64_t>(dt));
  ++read_;
  positioned_ = true;
  return true;
}

bool HistogramIterator::Seek(int64_t t) {
  if (positioned_ && h_.timestamp_ms >= t) return true;
  while (Next()) {
    if (h_.timestamp_ms >= t) return true;
  }
  return false;
}

}  // namespace oriel::tsdb
