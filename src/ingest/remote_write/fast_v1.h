// A fast path for the common remote_write 1.0 request: float samples of well-formed series and
// nothing else. It reads the protobuf wire format directly into the engine's batch, skipping the
// generated message (whose arena strings would be copied once more and then destroyed).
#pragma once

#include <optional>
#include <string_view>

#include "ingest/remote_write/decoder.h"
#include "ingest/remote_write/series_labels_cache.h"

namespace oriel::ingest {

// Decodes a serialized prometheus.WriteRequest when it holds only series whose labels are sorted
// by name with unique non-empty names and a non-empty __name__, each with float samples (unknown
// fields are skipped, as protobuf does). Returns exactly what parsing the message and DecodeV1
// would return for such a request, and nullopt for anything else: exemplars, histograms,
// metadata, an invalid series, invalid UTF-8, a wire type that does not match the schema, or a
// malformed message. The caller then takes the full path, which accepts or explains it.
// With a `cache` (shared by requests; may be null), series found in it reuse its label sets
// instead of building them, and the others (and those found in its previous generation) are
// appended to `to_cache` for the caller to insert, e.g. once the engine shared its copies of
// them. REQUIRES: `to_cache` not null when `cache` is not.
[[nodiscard]] std::optional<DecodedWrite> TryDecodeV1Fast(
    std::string_view body, const SeriesLabelsCache* cache = nullptr,
    SeriesLabelsCache::Entries* to_cache = nullptr);

}  // namespace oriel::ingest
