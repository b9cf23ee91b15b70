// Decodes Prometheus remote_write 1.0 (prometheus.WriteRequest) and 2.0
// (io.prometheus.write.v2.Request) messages into the metrics engine's MetricBatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "io/prometheus/write/v2/types.pb.h"
#include "model/sample.h"
#include "prometheus/remote.pb.h"

namespace oriel::ingest {

// A decoded request. Series that break a per-series rule (no or empty __name__, an empty or
// repeated label name) are left out of `batch` and described in `invalid_series`, so that the
// rest can still be written and the sender told with a 400, as Prometheus does for 2.0 partial
// writes.
struct DecodedWrite {
  model::MetricBatch batch;
  std::vector<std::string> invalid_series;  // e.g. `series 3: missing __name__ in {job="a"}`
  int64_t invalid_samples = 0;              // float and histogram samples of invalid series
  // Everything the request carried, valid or not (for self-metrics).
  int64_t samples = 0;
  int64_t histograms = 0;
  int64_t exemplars = 0;
};

// Converts a 1.0 request. Labels are sorted (senders must sort, but not all do); integer
// native histograms have their delta-encoded bucket counts turned into absolute counts.
// Fails with kInvalidArgument, storing nothing, on a malformed histogram (spans that do not
// cover the buckets, a schema out of range), naming the series index.
[[nodiscard]] absl::StatusOr<DecodedWrite> DecodeV1(const prometheus::WriteRequest& request);

// Converts a 2.0 request: label, exemplar-label, help and unit references are resolved
// through the symbol table. Fails with kInvalidArgument, storing nothing, on a reference out
// of the table, an odd number of label references, or a malformed histogram, naming the series
// index. Per-series metadata becomes MetricMetadata keyed by the series' metric name.
// created_timestamp (and the per-sample start_timestamp) are ignored: the engine has no
// created-timestamp support, so no synthetic zero sample is ingested (Prometheus does that
// only behind a feature flag).
[[nodiscard]] absl::StatusOr<DecodedWrite> DecodeV2(
    const io::prometheus::write::v2::Request& request);

}  // namespace oriel::ingest
