// The trace store's WAL record format: one record holds the stored spans of one resource
// (an opentelemetry.proto.trace.v1.ResourceSpans with only accepted spans: the encoding the
// receiver got when none of its spans was refused, otherwise a serialization).
//
//   'R' <serialized ResourceSpans>            uncompressed
//   'S' <snappy block (raw format) of the serialized ResourceSpans>
//   'Z' <zstd frame of the serialized ResourceSpans, with its content size>
//
// Writes append 'R' records; compaction's rewrites are 'S', or 'R' when under kMinCompressBytes
// or not shrunk by snappy. Earlier versions wrote 'S' on writes too, and 'Z' instead of 'S'; every
// type is still read.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace oriel::tracestore {

inline constexpr char kPlainRecord = 'R';
inline constexpr char kZstdRecord = 'Z';
inline constexpr char kSnappyRecord = 'S';
inline constexpr size_t kMinCompressBytes = 256;
// A decoded record larger than this is rejected as corrupt (a batch is far smaller).
inline constexpr size_t kMaxRecordBytes = 256 << 20;

// A compressed record ('S', or 'R' when compression does not pay), for rewrites off the write path.
std::string EncodeWalRecord(const opentelemetry::proto::trace::v1::ResourceSpans& rs);
// The same, of a ResourceSpans serialized already (the trace head keeps the span bytes).
std::string EncodeSerializedWalRecord(std::string_view serialized);
// The write path's record: 'R' and the serialized ResourceSpans as is.
std::string EncodePlainWalRecord(std::string_view serialized);
// The same record as its two parts, for storage::Wal::AppendParts (which writes a large
// serialization from where it is instead of copying it after the tag).
inline std::array<std::string_view, 2> PlainWalRecordParts(std::string_view serialized) {
  return {std::string_view(&kPlainRecord, 1), serialized};
}

// Decodes a record; input is untrusted (it comes from disk). Errors are kDataLoss naming the
// cause, e.g. `unknown record type 0x41`.
[[nodiscard]] absl::Status DecodeWalRecord(std::string_view record,
                                           opentelemetry::proto::trace::v1::ResourceSpans* rs);

}  // namespace oriel::tracestore
