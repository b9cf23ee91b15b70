// Looks up a fixed set of attribute keys in one span at a time, whether the span is decoded or
// read in place, for the span metrics and service graph aggregators.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/arena.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "pipeline/spanmetrics/span_input.h"

namespace oriel::pipeline::spanmetrics {

// The keys are given once: a span's attributes are then scanned once, at its first lookup, for
// all of them (a span read in place has each attribute's key compared, nothing parsed), and only
// the values looked up are parsed, each once, onto the arena. Not thread-safe.
class SpanAttributes {
 public:
  // `keys` are what Find(i) looks up (keys[i]); the same key may be given more than once.
  SpanAttributes(google::protobuf::Arena& arena, std::vector<std::string> keys);

  // Lookups are of `span` (which must outlive them) from now on.
  void Reset(const SpanInput& span) {
    span_ = &span;
    scanned_ = false;
  }
  // The value of the first attribute of the span whose key is keys[i], or nullptr.
  // REQUIRES: Reset was called; i < keys.size().
  const opentelemetry::proto::common::v1::AnyValue* Find(size_t i);

 private:
  // Where the first attribute with a wanted key is, once the span is scanned.
  struct Slot {
    bool found = false;
    bool parsed = false;
    const opentelemetry::proto::common::v1::AnyValue* value = nullptr;  // once parsed
    std::string_view attribute;    // in place: the serialized KeyValue
    std::string_view value_field;  // in place: its one value field's payload, if just one
    bool one_value = false;
  };

  void Scan();
  void ScanEncoded();
  // Whether `key` may be wanted: its length and first byte are those of some key. Most
  // attributes of a span are not wanted and are told apart by these alone.
  bool MayWant(std::string_view key) const {
    if ((lengths_ & (uint64_t{1} << std::min<size_t>(key.size(), 63))) == 0) return false;
    if (key.empty()) return true;
    const auto c = static_cast<unsigned char>(key[0]);
    return (firsts_[c >> 6] >> (c & 63) & 1) != 0;
  }
  // Marks the slot of `key` found if it is wanted and not found yet; false once every slot is.
  bool Match(std::string_view key, std::string_view attribute, std::string_view value_field,
             bool one_value, const opentelemetry::proto::common::v1::AnyValue* value);

  google::protobuf::Arena& arena_;
  std::vector<std::string> keys_;  // distinct
  std::vector<size_t> slot_of_;    // of Find(i)
  // Bit n set: some key is n bytes long (n < 63), or, bit 63, 63 or more.
  uint64_t lengths_ = 0;
  // Bit c set: some key starts with byte c.
  uint64_t firsts_[4] = {};
  const SpanInput* span_ = nullptr;
  bool scanned_ = false;
  size_t missing_ = 0;       // slots not found yet in the scan
  std::vector<Slot> slots_;  // one per key
};

// The value of the first attribute `key` of the span, or nullptr (one lookup of SpanAttributes).
const opentelemetry::proto::common::v1::AnyValue* SpanAttribute(const SpanInput& span,
                                                                std::string_view key,
                                                                google::protobuf::Arena& arena);

}  // namespace oriel::pipeline::spanmetrics
