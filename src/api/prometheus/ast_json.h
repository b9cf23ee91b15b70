// The JSON form of a PromQL syntax tree that /api/v1/parse_query returns: Prometheus'
// translateAST (web/api/v1/translate_ast.go), the tree view of its query UI.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "promql/parser/ast.h"

namespace oriel::api {

// `e` as translateAST renders it, object keys sorted as Go's encoding/json writes map keys:
// {"type":"vectorSelector","name":..,"matchers":[{"type":"=","name":..,"value":..}],
// "offset":<ms>,"timestamp":<ms>|null,"startOrEnd":"start"|"end"|null,...}. Durations are
// integer milliseconds, number literals strings (strconv 'f' format), absent children null and
// empty label lists []. Fails only on a non-finite fill() value, which Go cannot encode either.
[[nodiscard]] absl::StatusOr<std::string> AstJson(const promql::Expr& e);

}  // namespace oriel::api
