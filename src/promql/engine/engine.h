// The PromQL engine: evaluates parsed PromQL (Prometheus 3 semantics, float samples only; native
// histograms are not evaluated yet) against a tsdb::MetricsReader, as instant or range queries.
//
// Errors are typed by absl status code so that the HTTP API can map them to Prometheus' error
// types:
//   kInvalidArgument    bad_data  (parse errors, a range query over a non-vector expression)
//   kDeadlineExceeded   timeout   (the query ran past its timeout)
//   kCancelled          canceled
//   kResourceExhausted  execution (too many samples loaded)
//   anything else       execution (e.g. "many-to-many matching not allowed: ...")
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/labels.h"
#include "promql/parser/parser.h"
#include "tsdb/metrics_store.h"

namespace oriel::promql {

class SlabRecycler;
class WorkerPool;

struct EngineOptions {
  // How far back an instant vector selector looks for a sample (window (t - delta, t]).
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // Upper bound on the samples a query may hold in memory at once (Prometheus'
  // --query.max-samples).
  int64_t max_samples = 50'000'000;
  absl::Duration timeout = absl::Minutes(2);
  // Resolution of a subquery written without a step (`x[5m:]`): Prometheus' evaluation interval.
  int64_t default_subquery_step_ms = 60 * 1000;
  // A range query that aggregates or returns a window function of a selector (sum(rate(x[5m])))
  // decodes the selector's series block by block, each block about this many bytes of samples,
  // rather than all of them at once: the memory (and page faults) of a wide range stay small.
  size_t range_block_bytes = size_t{8} << 20;
  ParseOptions parse_options;
};

// Per-query overrides; zero values take the engine's setting.
struct QueryOptions {
  int64_t lookback_delta_ms = 0;
  absl::Duration timeout = absl::ZeroDuration();
};

struct FloatPoint {
  int64_t t = 0;
  double f = 0;
};

struct Scalar {
  int64_t t = 0;
  double v = 0;
};

struct String {
  int64_t t = 0;
  std::string v;
};

struct Sample {
  model::Labels metric;
  int64_t t = 0;
  double f = 0;
};
using Vector = std::vector<Sample>;

struct Series {
  model::Labels metric;
  std::vector<FloatPoint> floats;
};
using Matrix = std::vector<Series>;

struct QueryResult {
  // Instant queries: any of the four; range queries: always a Matrix sorted by labels.
  std::variant<Scalar, String, Vector, Matrix> value;
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();

  // Evaluates `query` at `time_ms`. Thread-safe (the engine holds no per-query state).
  [[nodiscard]] absl::StatusOr<QueryResult> InstantQuery(tsdb::MetricsReader& reader,
                                                         std::string_view query, int64_t time_ms,
                                                         const QueryOptions& options = {}) const;

  // Evaluates `query` at start, start + step, ... <= end. REQUIRES: step_ms > 0, end >= start
  // (otherwise kInvalidArgument).
  [[nodiscard]] absl::StatusOr<QueryResult> RangeQuery(tsdb::MetricsReader& reader,
                                                       std::string_view query, int64_t start_ms,
                                                       int64_t end_ms, int64_t step_ms,
                                                       const QueryOptions& options = {}) const;

  // As above on an already parsed expression (the test runner rewrites expressions);
  // `query_text`, when given, locates annotations ("... (1:5)").
  [[nodiscard]] absl::StatusOr<QueryResult> Exec(tsdb::MetricsReader& reader, const Expr& expr,
                                                 int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                                 bool instant, const QueryOptions& options,
                                                 std::string_view query_text = {}) const;

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
  // Helper threads shared by the engine's queries (thread-safe).
  std::unique_ptr<WorkerPool> pool_;
  // Slabs of decoded samples freed by one query, kept for the next (thread-safe).
  std::unique_ptr<SlabRecycler> recycler_;
};

}  // namespace oriel::promql
