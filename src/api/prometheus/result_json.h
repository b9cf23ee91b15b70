// A PromQL query result as the "data" of a Prometheus /api/v1/query(_range) answer:
// {"resultType":...,"result":...}, written straight into the response body.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "promql/engine/engine.h"

namespace oriel::api {

// Appends the JSON of `result` to `out`. `limit` > 0 truncates vectors and matrices to that many
// series and adds "results truncated due to limit" to `warnings`, as Prometheus 3's limit
// parameter does (so `result` may be modified).
void AppendResultJson(std::string& out, promql::QueryResult& result, size_t limit,
                      std::vector<std::string>& warnings);

}  // namespace oriel::api
