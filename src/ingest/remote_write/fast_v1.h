// A fast path for the common remote_write 1.0 request: float samples of well-formed series and
// nothing else. It reads the protobuf wire format directly into the engine's batch, skipping the
// generated message (whose arena strings would be copied once more and then destroyed).
#pragma once

#include <optional>
#include <string_view>

#include "ingest/remote_write/decoder.h"
#include "tsdb/metrics_store.h"

namespace oriel::ingest {

// Decodes a serialized prometheus.WriteRequest when it holds only series whose labels are sorted
// by name with unique non-empty names and a non-empty __name__, each with float samples (unknown
// fields are skipped, as protobuf does). Returns exactly what parsing the message and DecodeV1
// would return for such a request, and nullopt for anything else: exemplars, histograms,
// metadata, an invalid series, invalid UTF-8, a wire type that does not match the schema, or a
// malformed message. The caller then takes the full path, which accepts or explains it.
// With `known` (may be null), the label sets that engine already holds are its own copies
// (MetricsWriter::FindLabels) instead of new ones: no allocation per known series, and the
// engine finds its series by the set without a lookup of its own.
[[nodiscard]] std::optional<DecodedWrite> TryDecodeV1Fast(std::string_view body,
                                                          tsdb::MetricsWriter* known = nullptr);

}  // namespace oriel::ingest
