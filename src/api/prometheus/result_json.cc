#include "api/prometheus/result_json.h"

#include <variant>

#include "api/prometheus/api_response.h"

namespace oriel::api {
namespace {

// A point: [<seconds>,"<value>"].
void AppendPoint(std::string& out, int64_t t, double v) {
  out.push_back('[');
  AppendTimestamp(out, t);
  out += ",\"";
  AppendValue(out, v);
  out += "\"]";
}

// Bytes of a point's text in a typical answer ([1700000000.123,"12345.678901234567"]): enough to
// reserve the body once in most answers rather than grow it by copies.
constexpr size_t kPointBytesEstimate = 40;
constexpr size_t kLabelsBytesEstimate = 160;

template <typename Items>
void Truncate(Items& items, size_t limit, std::vector<std::string>& warnings) {
  if (limit > 0 && items.size() > limit) {
    items.resize(limit);
    warnings.push_back("results truncated due to limit");
  }
}

}  // namespace

void AppendResultJson(std::string& out, promql::QueryResult& result, size_t limit,
                      std::vector<std::string>& warnings) {
  if (auto* scalar = std::get_if<promql::Scalar>(&result.value)) {
    out += "{\"resultType\":\"scalar\",\"result\":";
    AppendPoint(out, scalar->t, scalar->v);
    out.push_back('}');
    return;
  }
  if (auto* str = std::get_if<promql::String>(&result.value)) {
    out += "{\"resultType\":\"string\",\"result\":[";
    AppendTimestamp(out, str->t);
    out.push_back(',');
    AppendJsonString(out, str->v);
    out += "]}";
    return;
  }
  if (auto* vec = std::get_if<promql::Vector>(&result.value)) {
    Truncate(*vec, limit, warnings);
    out.reserve(out.size() + vec->size() * (kLabelsBytesEstimate + kPointBytesEstimate));
    out += "{\"resultType\":\"vector\",\"result\":[";
    for (size_t i = 0; i < vec->size(); ++i) {
      const promql::Sample& s = (*vec)[i];
      if (i > 0) out.push_back(',');
      out += "{\"metric\":";
      AppendLabelsJson(out, s.metric);
      out += ",\"value\":";
      AppendPoint(out, s.t, s.f);
      out.push_back('}');
    }
    out += "]}";
    return;
  }
  auto& matrix = std::get<promql::Matrix>(result.value);
  Truncate(matrix, limit, warnings);
  size_t points = 0;
  for (const promql::Series& s : matrix) points += s.floats.size();
  out.reserve(out.size() + matrix.size() * kLabelsBytesEstimate + points * kPointBytesEstimate);
  out += "{\"resultType\":\"matrix\",\"result\":[";
  for (size_t i = 0; i < matrix.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += "{\"metric\":";
    AppendLabelsJson(out, matrix[i].metric);
    out += ",\"values\":[";
    const std::vector<promql::FloatPoint>& floats = matrix[i].floats;
    for (size_t j = 0; j < floats.size(); ++j) {
      if (j > 0) out.push_back(',');
      AppendPoint(out, floats[j].t, floats[j].f);
    }
    out += "]}";
  }
  out += "]}";
}

}  // namespace oriel::api
