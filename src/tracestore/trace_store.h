// The trace engine's narrow write and read interfaces. Spans are kept in the OTLP data model
// (opentelemetry.proto.trace.v1: resource, scope and span, nothing lost); ingest writes through
// TraceWriter, the Jaeger APIs and trace search read through TraceReader. server/ is the only
// code that names the concrete engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/encoded_spans.h"

namespace oriel::tracestore {

// One trace: its spans grouped by resource and scope as OTLP does (one ResourceSpans per
// resource, its ScopeSpans holding the spans).
struct Trace {
  std::string trace_id;  // 16 raw bytes
  std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans;
};

struct TraceWriteResult {
  int64_t spans_written = 0;
  int64_t spans_rejected = 0;   // e.g. invalid trace or span id, empty span
  std::string first_rejection;  // e.g. `span 3 of resource 0: trace_id must be 16 bytes`
};

// The spans of one export request as a receiver got them, in one of two forms:
// - decoded (`resource_spans`; on the request's arena, so that they are freed at once, or on the
//   heap), with the bytes each ResourceSpans was decoded from when the receiver has them, so that
//   the store can make its WAL record and head of those bytes instead of serializing the spans
//   again;
// - read in place (`read`, resource_spans null): the receiver only checked the encoding and read
//   the fields the pipeline needs (encoded_spans.h). A stage that needs the decoded form calls
//   Decode(), which parses the encodings once; stages that can read the spans in place skip that.
struct SpanBatch {
  google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>*
      resource_spans = nullptr;  // not owned
  // Empty, or one per element of resource_spans: the encoding that element was decoded from
  // ("" when unknown). A stage that changes an element must clear its encoding.
  std::vector<std::string_view> encoded;
  // The read form, one per resource (views into the request, which outlives the batch). The spans
  // the store refuses are those whose `valid` is false. Decode() leaves it as it is.
  std::vector<EncodedResourceSpans> read;
  // What Decode() parsed `read` into (shared only to keep the struct copyable).
  std::shared_ptr<
      google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>>
      decoded;

  // The decoded form: resource_spans, parsed from `read` on the first call (the encodings passed
  // ReadEncodedResourceSpans, so parsing them is not expected to fail; kInvalidArgument if it
  // does). Not thread-safe.
  absl::StatusOr<
      google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>*>
  Decode() {
    if (resource_spans != nullptr) return resource_spans;
    auto parsed = std::make_shared<
        google::protobuf::RepeatedPtrField<opentelemetry::proto::trace::v1::ResourceSpans>>();
    parsed->Reserve(static_cast<int>(read.size()));
    std::vector<std::string_view> encodings;
    for (size_t i = 0; i < read.size(); ++i) {
      const std::string_view bytes = read[i].bytes;
      if (!parsed->Add()->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return absl::InvalidArgumentError("cannot parse resource_spans " + std::to_string(i) +
                                          ": malformed ResourceSpans of " +
                                          std::to_string(bytes.size()) + " bytes");
      }
      encodings.push_back(bytes);
    }
    decoded = std::move(parsed);
    encoded = std::move(encodings);
    resource_spans = decoded.get();
    return resource_spans;
  }
};

class TraceWriter {
 public:
  virtual ~TraceWriter() = default;
  // Stores the valid spans of `resource_spans`; returns once they are durable (WAL, fsync'd,
  // group commit). Thread-safe. Errors reject everything: kResourceExhausted (retry later),
  // kUnavailable (storage cannot write now). Takes the spans by value so that each stage can
  // move them on instead of copying every attribute: pass an rvalue unless the caller still
  // needs them.
  [[nodiscard]] virtual absl::StatusOr<TraceWriteResult> Write(
      std::vector<opentelemetry::proto::trace::v1::ResourceSpans> resource_spans) = 0;

  // Stores the valid spans of `batch` as Write does. It may remove the refused spans from the
  // batch, and leaves every stored span in it unchanged, so that the caller can read them
  // afterwards. Thread-safe. This default copies the spans into Write; stages on the ingest path
  // pass the batch on instead.
  [[nodiscard]] virtual absl::StatusOr<TraceWriteResult> WriteBatch(SpanBatch& batch) {
    auto decoded = batch.Decode();
    if (!decoded.ok()) return decoded.status();
    return Write(std::vector<opentelemetry::proto::trace::v1::ResourceSpans>((*decoded)->begin(),
                                                                             (*decoded)->end()));
  }
};

// A search like Jaeger's /api/traces: every given condition must hold for one span of a trace
// (tags match span attributes, event attributes, resource attributes or scope attributes), and
// the whole trace is returned.
struct TraceQuery {
  std::string service;               // required
  std::string operation;             // "" for any
  std::optional<int32_t> span_kind;  // OTLP SpanKind value
  std::vector<std::pair<std::string, std::string>> tags;
  int64_t start_unix_nano = 0;  // span start time range; 0 = unbounded
  int64_t end_unix_nano = 0;
  int64_t min_duration_nano = 0;  // 0 = unbounded
  int64_t max_duration_nano = 0;
  size_t limit = 20;  // traces, most recent first
};

struct Operation {
  std::string name;
  int32_t span_kind = 0;  // OTLP SpanKind value
};

// A service dependency: `parent` called `child` `call_count` times.
struct DependencyLink {
  std::string parent;
  std::string child;
  int64_t call_count = 0;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // The trace with this 16-byte id, or nullopt. Thread-safe (as are all methods).
  virtual std::optional<Trace> GetTrace(std::string_view trace_id) = 0;
  // Service names (resource attribute service.name), sorted.
  virtual std::vector<std::string> Services() = 0;
  // Operations (span names) of `service`, sorted by name then kind; `span_kind` filters.
  virtual std::vector<Operation> Operations(std::string_view service,
                                            std::optional<int32_t> span_kind) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<Trace>> FindTraces(const TraceQuery& query) = 0;
  // Parent/child service calls with spans ending in (end - lookback, end].
  virtual std::vector<DependencyLink> Dependencies(int64_t end_unix_nano,
                                                   int64_t lookback_nano) = 0;
};

}  // namespace oriel::tracestore
