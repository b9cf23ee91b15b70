// The Pushgateway grouping key: job plus the label pairs of a push URL
// (/metrics/job/<job>{/<label>/<value>}), with the `@base64` form for values that contain `/`
// or are empty.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace oriel::ingest {

// Label name -> value, always including "job". Ordered, so that keys compare and print stably.
using GroupingKey = std::map<std::string, std::string>;

// Builds the key from the router's path parameters: `job` (already percent-decoded; base64 when
// `job_base64`, i.e. the path said `job@base64`) and `labels`, the rest of the path after the
// job, still percent-encoded (e.g. "instance/a" or "path@base64/L3Zhci90bXA=" or "").
// As in the Pushgateway, "" (a trailing slash after the job) means no labels and "name/" (an
// empty last value) an empty value. Fails with kInvalidArgument and the Pushgateway's messages: an
// odd number of components, an improper label name (not [a-zA-Z_][a-zA-Z0-9_]* or starting with
// "__"), bad base64, an empty job. A "job" label in `labels` is overridden by the job segment.
[[nodiscard]] absl::StatusOr<GroupingKey> ParseGroupingKey(bool job_base64, std::string_view job,
                                                           std::string_view labels);

// Decodes URL-safe base64 (RFC 4648 §5) with or without `=` padding; "=" alone is "".
[[nodiscard]] absl::StatusOr<std::string> DecodeBase64Url(std::string_view in);

// `{job="a", instance="b"}` in the key's order, for messages and logs.
std::string GroupingKeyString(const GroupingKey& key);

}  // namespace oriel::ingest
