// Reading and building the OTLP attribute lists that spans come with and derived metrics go out
// with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "opentelemetry/proto/common/v1/common.pb.h"

namespace oriel::pipeline::spanmetrics {

using Attributes = google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>;

// The value of the first attribute `key` in `attrs`, or nullptr.
inline const opentelemetry::proto::common::v1::AnyValue* FindAttribute(const Attributes& attrs,
                                                                       std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

inline opentelemetry::proto::common::v1::AnyValue StringValue(std::string s) {
  opentelemetry::proto::common::v1::AnyValue v;
  v.set_string_value(std::move(s));
  return v;
}

// Appends `key` = `value` to `list`.
inline void PutAttribute(opentelemetry::proto::common::v1::KeyValueList& list, std::string key,
                         opentelemetry::proto::common::v1::AnyValue value) {
  auto* kv = list.add_values();
  kv->set_key(std::move(key));
  *kv->mutable_value() = std::move(value);
}

// Appends the bytes of `n` (fixed width: memos are compared, never read back).
inline void AppendFixedMemo(std::string& memo, uint64_t n) {
  memo.append(reinterpret_cast<const char*>(&n), sizeof n);
}

// Appends `part` length-prefixed, so that concatenated parts cannot be confused (memos name
// what a series key is built from; see SeriesKeyCache).
inline void AppendMemo(std::string& memo, std::string_view part) {
  AppendFixedMemo(memo, part.size());
  memo += part;
}

// Appends an attribute value (null: absent) to a memo, distinct for distinct values.
inline void AppendValueMemo(std::string& memo,
                            const opentelemetry::proto::common::v1::AnyValue* value) {
  if (value == nullptr) {
    memo += '-';
  } else if (value->value_case() == opentelemetry::proto::common::v1::AnyValue::kStringValue) {
    memo += 's';  // the common case, without serializing
    AppendMemo(memo, value->string_value());
  } else {
    memo += 'v';
    AppendMemo(memo, value->SerializeAsString());
  }
}

}  // namespace oriel::pipeline::spanmetrics
