// The PromQL function table: every function Prometheus 3 documents, with its argument and return
// types, for type checking in the parser and dispatch in the engine.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace oriel::promql {

enum class ValueType : uint8_t { kNone, kScalar, kVector, kMatrix, kString };

// Prometheus' internal names: "none", "scalar", "vector", "matrix", "string".
std::string_view ValueTypeName(ValueType t);
// The names used in error messages: "scalar", "instant vector", "range vector", "string".
std::string_view DocumentedType(ValueType t);

struct Function {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // 0: exactly arg_types.size() arguments. n > 0: the last argument type may repeat so that up to
  // n more arguments follow, and the last one may be omitted. -1: unlimited repetition.
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  // Needs ParseOptions::enable_experimental_functions.
  bool experimental = false;
};

// nullptr when no function has that (case-sensitive) name.
const Function* LookupFunction(std::string_view name);

// All functions, sorted by name.
const std::vector<Function>& AllFunctions();

}  // namespace oriel::promql
