// OTLP metrics of the simulated application, as each service's SDK would export them every
// interval: request-duration histograms per route or RPC method (OpenTelemetry semantic
// conventions, cumulative temporality), process CPU time (monotonic sum) and memory (gauge).
// Same seed, same values.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "loadgen/rng.h"
#include "loadgen/trace_generator.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::loadgen {

class OtlpMetricsGenerator {
 public:
  // `traces` supplies the resources and operations and must outlive this object.
  OtlpMetricsGenerator(const TraceGenerator& traces, uint64_t seed, int64_t start_ns);

  // The next export, one interval after the previous, stamped `time_ns`. Not thread-safe.
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest Next(int64_t time_ns);

  // Data points in `request`.
  static int64_t CountPoints(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request);

 private:
  struct HistogramState {
    std::vector<uint64_t> buckets;  // per bucket, not cumulative (as OTLP sends them)
    uint64_t count = 0;
    double sum = 0;
  };
  const TraceGenerator& traces_;
  const int64_t start_ns_;
  Rng rng_;
  // Per resource: one histogram per (operation, outcome), then the CPU time per state.
  std::vector<std::vector<HistogramState>> histograms_;
  std::vector<std::array<double, 2>> cpu_seconds_;
};

// Bucket bounds of http.server.request.duration recommended by the semantic conventions.
std::span<const double> OtelDurationBounds();

}  // namespace oriel::loadgen
