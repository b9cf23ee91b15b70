// Parser for the Prometheus text exposition format 0.0.4, as pushed to the Pushgateway, into
// client_model MetricFamily messages.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "io/prometheus/client/metrics.pb.h"

namespace oriel::ingest {

// Parses `text` the way the Pushgateway's parser (Go expfmt.TextParser) does, so that the same
// bodies are accepted and rejected:
//   - every non-blank line must end in '\n'; blank lines and comments other than HELP/TYPE are
//     skipped; a HELP/TYPE line with nothing after the name is ignored;
//   - HELP text escapes `\\` and `\n`; label values also `\"`; anything else after a backslash
//     is an error, as is a raw newline in a label value;
//   - TYPE is one of counter, gauge, histogram, summary, untyped (any case), at most once per
//     family and before its samples; samples without TYPE are untyped;
//   - `x_sum`, `x_count` (and `x_bucket`) samples join a family `x` typed summary (histogram)
//     seen before them; its `quantile` (`le`) label selects the quantile (bucket) and samples
//     with the same other labels form one metric; a summary/histogram sample without that label
//     is dropped, as expfmt does;
//   - values are Go floats (NaN, +Inf, -Inf, Inf; no hex, no `_`); an optional integer
//     timestamp in ms is kept in Metric.timestamp_ms (the Pushgateway rejects it later);
//   - `__name__` as a label and repeated label names are errors;
//   - families left without metrics (HELP/TYPE only) are dropped.
// Families come out in order of first appearance. Errors are kInvalidArgument with
// "text format parsing error in line N: ...", the Pushgateway's wording.
[[nodiscard]] absl::StatusOr<std::vector<io::prometheus::client::MetricFamily>> ParseTextFormat(
    std::string_view text);

// Parses a sample value as Go's strconv.ParseFloat does for the text format (no hex floats, no
// underscores, "NaN"/"Inf"/"+Inf"/"-Inf"/"infinity" in any case).
bool ParseGoFloat(std::string_view s, double* out);

}  // namespace oriel::ingest
