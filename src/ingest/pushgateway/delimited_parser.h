// Parser for a stream of varint-length-delimited client_model MetricFamily messages
// (Content-Type application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited), as Pushgateway clients push them.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "io/prometheus/client/metrics.pb.h"

namespace oriel::ingest {

// Parses every message of `body`. Like the Pushgateway, a later family with the same name
// replaces an earlier one. Fails with kInvalidArgument naming the byte offset of a truncated
// length, a length past the end, or an unparsable message.
[[nodiscard]] absl::StatusOr<std::vector<io::prometheus::client::MetricFamily>>
ParseDelimitedFamilies(std::string_view body);

// Whether a Content-Type selects the delimited protobuf format (else: text format 0.0.4).
bool IsDelimitedProtobuf(std::string_view content_type);

}  // namespace oriel::ingest
