// Reading and building the OTLP attribute lists that spans come with and derived metrics go out
// with.
#pragma once

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

}  // namespace oriel::pipeline::spanmetrics
