// The codec of one segment block: complete traces, sorted by trace id, laid out in columns (ids,
// parents, times, names/kinds/status, attribute key sets, one typed value column per attribute
// key, the rest of the span) with one dictionary for the strings a block repeats (span names,
// attribute keys, resources, scopes). The body is what a segment file stores zstd-compressed; the
// layout is in docs/formats/trace_segment.md. The encoder writes version 3; the decoder reads
// versions 1 to 3.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "tracestore/head_span.h"
#include "tracestore/span_wire.h"
#include "tracestore/stored_span.h"

namespace oriel::tracestore {

// Version 3: version 2 cut into trace groups that decode on their own, with a table of where
// each group starts in every column, so that a lookup by id decodes one group.
inline constexpr uint64_t kBlockVersion = 3;
// The oldest block version DecodeBlock reads.
inline constexpr uint64_t kOldestBlockVersion = 1;
// Body bytes after which the encoder starts a new trace group: a lookup by id walks at most
// this much of a block; each group costs its row in the group table and its first values coded
// without their predecessors.
inline constexpr size_t kDefaultTraceGroupBytes = 128 << 10;

// Builds one block body. Not thread-safe.
class BlockEncoder {
 public:
  explicit BlockEncoder(size_t group_bytes = kDefaultTraceGroupBytes) : group_bytes_(group_bytes) {}

  // Encodes the spans of one trace from their bytes, read in place (span_wire.h); bytes that do
  // not parse as a span (never the head's) leave it with the fields the HeadSpan holds decoded.
  // The resources and scopes are kept alive until Finish. REQUIRES: trace ids ascending across
  // calls; every span of `spans` has trace id `trace_id`.
  void AddTrace(std::string_view trace_id, std::span<const HeadSpan* const> spans);
  size_t traces() const { return traces_; }
  size_t spans() const { return spans_; }
  // Bytes of the body so far (columns and dictionary), to decide when to close a block.
  size_t ApproximateBytes() const;
  // The body; the encoder is reset for the next block. With `sections`, also the offsets in the
  // body where its parts (tables, each column, each stream of a value column) end: parts of
  // different statistics that are worth compressing apart.
  std::string Finish(std::vector<size_t>* sections = nullptr);
  // As Finish, into `out` (replacing its contents, reusing its capacity). The encoder keeps its
  // columns' capacity for the next block: growing them anew per block (and the kernel's zeroing
  // of the fresh pages) cost as much as copying the columns into the body.
  void FinishInto(std::string* out, std::vector<size_t>* sections);

 private:
  uint64_t Intern(std::string_view value);
  void AddTimes(std::span<const HeadSpan* const> spans);
  // The span's fields in wire_, valid until the next call.
  const WireSpan& ReadSpan(const HeadSpan& span);
  void AddAttributes(const WireSpan& span);
  // The value column of attribute `key`, made if new; `after` is the column of the span's
  // previous attribute (kNoColumn for its first).
  uint32_t ColumnOf(std::string_view key, uint32_t after);
  void AddRest(const WireSpan& span);
  // Starts a trace group: notes where every column stands and forgets the values later ones
  // are coded against.
  void StartGroup();
  // The bytes of every column so far: the span columns, then each value column's types,
  // values and numbers.
  std::vector<size_t> ColumnSizes() const;
  // Empties the encoder for the next block, keeping the capacity of its buffers.
  void Reset();

  size_t group_bytes_;
  struct Group {
    uint64_t traces = 0;
    uint64_t spans = 0;
    size_t approximate_start = 0;  // ApproximateBytes() when it started
    std::vector<size_t> starts;    // ColumnSizes() when it started
  };
  std::vector<Group> groups_;
  absl::flat_hash_map<std::string, uint64_t> dict_index_;
  std::vector<std::string> dict_;
  size_t dict_bytes_ = 0;
  // Block-local resource and scope numbers, by entry (fast) and by content (identical entries
  // from separate writes share one). The entries are kept alive while the block is built, so
  // that an address is never reused for another entry.
  absl::flat_hash_map<const void*, uint64_t> by_entry_;
  absl::flat_hash_map<std::string, uint64_t> resource_by_key_;
  absl::flat_hash_map<std::string, uint64_t> scope_by_key_;
  std::vector<uint64_t> resources_;  // dictionary index of each block resource
  std::vector<uint64_t> scopes_;
  std::vector<std::shared_ptr<const void>> keep_alive_;
  // Attribute values by key: column number of each key, its key's dictionary index, its value
  // types, its strings (and other length-prefixed values) and its numbers.
  struct ValueColumn {
    uint64_t key = 0;
    std::string types;
    std::string values;
    std::string numbers;
    std::string previous;  // the last string value
  };
  absl::flat_hash_map<std::string, uint64_t> column_of_key_;
  std::vector<ValueColumn> value_cols_;
  std::vector<ValueColumn> spare_cols_;  // emptied columns of earlier blocks, for their capacity
  // The column that followed each column (at [c]) or began a span (at [kNoColumn]) last time:
  // spans of a kind list their attributes in the same order, so checking this guess against the
  // key skips most hash lookups (they were a third of the flush's attribute work).
  static constexpr uint32_t kNoColumn = 0xffffffff;
  std::vector<uint32_t> next_column_;
  uint32_t first_column_ = kNoColumn;
  size_t value_bytes_ = 0;
  // Attribute key sets: the value columns of a span's attributes, in order, stored once per block.
  absl::flat_hash_map<std::string, uint64_t> key_set_index_;
  std::vector<std::string> key_sets_;
  size_t key_set_bytes_ = 0;
  std::string key_set_;
  WireSpan wire_;
  std::string canonical_;  // a re-encoded span that wire_ reads, see ReadSpan
  std::string scratch_;
  std::string status_;
  std::string traces_col_, ids_col_, parents_col_, times_col_, durations_col_, names_col_,
      meta_col_, attrs_col_, rest_col_;
  // Per span of the trace being added: its parent's position (or the trace's size) and the time
  // the next child's start is coded against.
  std::vector<size_t> parent_at_;
  std::vector<uint64_t> child_base_;
  uint64_t previous_trace_start_ = 0;
  size_t traces_ = 0;
  size_t spans_ = 0;
};

struct DecodedTrace {
  std::string trace_id;
  std::vector<StoredSpan> spans;
};

// A span attribute as its value column holds it, before the span is materialized.
struct ColumnAttribute {
  enum class Type : uint8_t {
    kNone,  // a key without a value, or an empty value
    kString,
    kBool,
    kInt,
    kDouble,
    kOther,  // bytes, arrays, key-value lists, values with unknown fields: known once parsed
  };
  std::string_view key;
  Type type = Type::kNone;
  std::string_view text;  // kString
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
};

// What the columns tell about a span before it is materialized. The views are valid during the
// filter call only.
struct SpanColumns {
  // The span's attributes, gathered from the value columns on the first call: most filters
  // decide on the other fields.
  std::span<const ColumnAttribute> attributes() const { return gather_attributes(gather_context); }

  size_t trace = 0;  // index of its trace in the decoded result
  std::string_view service;
  std::string_view name;
  int64_t kind = 0;
  int64_t status_code = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  // The span has fields the columns do not hold: events, links, a status message, trace state,
  // dropped counts or unknown fields.
  bool has_rest = false;
  const ResourceEntry* resource = nullptr;
  const ScopeEntry* scope = nullptr;
  std::span<const ColumnAttribute> (*gather_attributes)(void* context) = nullptr;
  void* gather_context = nullptr;
};
// Whether to materialize a span; spans it rejects cost only their column reads.
using SpanFilter = std::function<bool(const SpanColumns&)>;

// Decodes a block body; input is untrusted (it comes from disk). With `only` set, just that
// trace is materialized (or none): only the trace group that can hold it is decoded, and
// decoding stops after it (traces ascend by id); with
// `filter`, only the spans it accepts (a trace may come
// back with no spans). Errors are kDataLoss naming what is wrong, e.g.
// `dictionary reference of span 3 is out of range`.
[[nodiscard]] absl::StatusOr<std::vector<DecodedTrace>> DecodeBlock(
    std::string_view body, std::optional<std::string_view> only = std::nullopt,
    const SpanFilter* filter = nullptr);

}  // namespace oriel::tracestore
