// Fuzzes the PromQL parser: any bytes must give an expression or an error, never a crash, and a
// parsed expression's canonical text must parse back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "promql/parser/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto options = oriel::promql::ParseOptions::All();
  auto expr = oriel::promql::ParseExpr(input, options);
  if (expr.ok()) {
    std::string printed = (*expr)->String();
    auto again = oriel::promql::ParseExpr(printed, options);
    if (!again.ok() || (*again)->String() != printed) std::abort();
  }
  auto matchers = oriel::promql::ParseMetricSelector(input);
  (void)matchers;
  return 0;
}
