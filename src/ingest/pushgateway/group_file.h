// The Pushgateway's persistence file: every group, rewritten atomically after each change and
// read back at start.
//
// Format (all integers little-endian; varints as in protobuf):
//   "ORIELPG1"                                   8-byte magic, bumped on incompatible change
//   varint32 group_count, then per group:
//     varint32 label_count, then label_count x (varint32 len, name bytes, varint32 len, value)
//     fixed64 push_time, failure_time, push_time_changed, failure_time_changed (Unix ns)
//     byte    last_push_successful (0 or 1)
//     varint32 family_count, then per family:
//       fixed64 pushed (Unix ns); varint32 len; serialized io.prometheus.client.MetricFamily
// Nothing may follow the last group.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ingest/pushgateway/push_group.h"

namespace oriel::ingest {

std::string EncodeGroups(const PushGroups& groups);

// Fails with kDataLoss naming the byte offset on a bad magic, truncation or trailing bytes.
[[nodiscard]] absl::StatusOr<PushGroups> DecodeGroups(std::string_view data);

// Replaces `path` with `contents` so that a crash leaves either the old or the new file:
// writes `path`.tmp, fsyncs it, renames it over `path` and fsyncs the directory.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// The file's contents; kNotFound when it does not exist.
[[nodiscard]] absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace oriel::ingest
