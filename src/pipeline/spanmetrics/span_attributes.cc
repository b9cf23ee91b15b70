#include "pipeline/spanmetrics/span_attributes.h"

#include <algorithm>
#include <utility>

#include "tracestore/span_wire.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace common = opentelemetry::proto::common::v1;

constexpr uint32_t kSpanAttributes = 9;
constexpr uint32_t kKeyValueKey = 1;
constexpr uint32_t kKeyValueValue = 2;
// Field 9, length-delimited.
constexpr unsigned char kSpanAttributesTag = kSpanAttributes << 3 | tracestore::kWireLength;

// The key as parsing reads it (its last occurrence), and the value if it comes once (more are
// merged: the whole attribute is parsed then).
struct KeyAndValue {
  std::string_view key;
  std::string_view value;
  int values = 0;
};

KeyAndValue ReadKeyValue(std::string_view kv) {
  KeyAndValue out;
  // As protobuf writes one: key, then value, each under 128 bytes.
  const auto* b = reinterpret_cast<const unsigned char*>(kv.data());
  if (kv.size() >= 4 && b[0] == 0x0a && b[1] < 0x80 && size_t{b[1]} + 4 <= kv.size() &&
      b[2 + b[1]] == 0x12 && b[3 + b[1]] < 0x80 && size_t{b[1]} + b[3 + b[1]] + 4 == kv.size()) {
    out.key = kv.substr(2, b[1]);
    out.value = kv.substr(4 + b[1]);
    out.values = 1;
    return out;
  }
  tracestore::ByteReader reader(kv);
  tracestore::WireField f;
  while (!reader.empty() && tracestore::ReadWireField(reader, &f)) {
    if (f.wire_type != tracestore::kWireLength) continue;
    if (f.number == kKeyValueKey) {
      out.key = f.bytes;
    } else if (f.number == kKeyValueValue) {
      out.value = f.bytes;
      ++out.values;
    }
  }
  return out;
}

}  // namespace

SpanAttributes::SpanAttributes(google::protobuf::Arena& arena, std::vector<std::string> keys)
    : arena_(arena) {
  for (std::string& key : keys) {
    auto it = std::find(keys_.begin(), keys_.end(), key);
    slot_of_.push_back(it - keys_.begin());
    if (it != keys_.end()) continue;
    lengths_ |= uint64_t{1} << std::min<size_t>(key.size(), 63);
    if (!key.empty()) {
      const auto c = static_cast<unsigned char>(key[0]);
      firsts_[c >> 6] |= uint64_t{1} << (c & 63);
    }
    keys_.push_back(std::move(key));
  }
  slots_.resize(keys_.size());
}

bool SpanAttributes::Match(std::string_view key, std::string_view attribute,
                           std::string_view value_field, bool one_value,
                           const common::AnyValue* value) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.found || keys_[i] != key) continue;
    slot.found = true;
    slot.parsed = value != nullptr;
    slot.value = value;
    slot.attribute = attribute;
    slot.value_field = value_field;
    slot.one_value = one_value;
    return --missing_ > 0;
  }
  return true;
}

void SpanAttributes::Scan() {
  scanned_ = true;
  for (Slot& slot : slots_) slot = Slot();
  missing_ = slots_.size();
  if (missing_ == 0) return;
  if (span_->decoded == nullptr) {
    ScanEncoded();
    return;
  }
  for (const common::KeyValue& kv : span_->decoded->attributes()) {
    if (!MayWant(kv.key())) continue;
    if (!Match(kv.key(), {}, {}, false, &kv.value())) return;
  }
}

void SpanAttributes::ScanEncoded() {
  std::string_view rest = span_->bytes;
  tracestore::WireField field;
  // The span was checked when it was read: a field that does not read ends the scan.
  while (!rest.empty()) {
    std::string_view attribute;
    const auto* b = reinterpret_cast<const unsigned char*>(rest.data());
    if (rest.size() >= 2 && b[0] == kSpanAttributesTag && b[1] < 0x80 &&
        size_t{b[1]} + 2 <= rest.size()) {
      // Most fields of a span are attributes: read without the general reader.
      attribute = rest.substr(2, b[1]);
      rest.remove_prefix(2 + b[1]);
    } else {
      tracestore::ByteReader reader(rest);
      if (!tracestore::ReadWireField(reader, &field)) return;
      rest = reader.rest();
      if (field.number != kSpanAttributes || field.wire_type != tracestore::kWireLength) continue;
      attribute = field.bytes;
    }
    const KeyAndValue kv = ReadKeyValue(attribute);
    if (!MayWant(kv.key)) continue;
    if (!Match(kv.key, attribute, kv.value, kv.values <= 1, nullptr)) return;
  }
}

const common::AnyValue* SpanAttributes::Find(size_t i) {
  if (!scanned_) Scan();
  Slot& slot = slots_[slot_of_[i]];
  if (!slot.found) return nullptr;
  if (slot.parsed) return slot.value;
  slot.parsed = true;
  // Parsed as the span would parse, so that the value is the same (merges included).
  if (slot.one_value) {
    auto* value = google::protobuf::Arena::CreateMessage<common::AnyValue>(&arena_);
    if (value->ParseFromArray(slot.value_field.data(), static_cast<int>(slot.value_field.size()))) {
      slot.value = value;
    }
  } else {
    auto* parsed = google::protobuf::Arena::CreateMessage<common::KeyValue>(&arena_);
    if (parsed->ParseFromArray(slot.attribute.data(), static_cast<int>(slot.attribute.size()))) {
      slot.value = &parsed->value();
    }
  }
  return slot.value;
}

const common::AnyValue* SpanAttribute(const SpanInput& span, std::string_view key,
                                      google::protobuf::Arena& arena) {
  SpanAttributes attributes(arena, {std::string(key)});
  attributes.Reset(span);
  return attributes.Find(0);
}

}  // namespace oriel::pipeline::spanmetrics
