#include "tracestore/segment_block.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "base/absl_view.h"
#include "fmt/format.h"
#include "tracestore/varint.h"

namespace oriel::tracestore {

using opentelemetry::proto::trace::v1::Span;

namespace {

// Parent column entries: none, the parent's bytes follow, or kParentAt + the parent's position
// in the trace's spans.
constexpr uint64_t kNoParent = 0;
constexpr uint64_t kParentBytes = 1;
constexpr uint64_t kParentAt = 2;

// Value types (version 2): one byte per attribute in its column's type stream. Booleans are
// the type alone; the other payloads go to the column's value stream.
enum ValueType : uint8_t {
  kNoValue = 0,     // a KeyValue without a value
  kEmptyValue = 1,  // an AnyValue with nothing set
  kString = 2,      // bytes
  kFalse = 3,
  kTrue = 4,
  kInt = 5,     // zigzag varint
  kDouble = 6,  // fixed64 of the IEEE 754 bits
  kOther = 7,   // bytes of the serialized AnyValue (arrays, maps, bytes, unknown fields)
  // Version 1: bytes of the serialized AnyValue in one stream, in a type of its own here.
  kSerialized = 8,
};

// Fields of the rest column's Span message (opentelemetry.proto.trace.v1.Span and Status).
constexpr uint64_t kRestTraceState = 3;
constexpr uint64_t kRestDroppedAttributes = 10;
constexpr uint64_t kRestEvents = 11;
constexpr uint64_t kRestDroppedEvents = 12;
constexpr uint64_t kRestLinks = 13;
constexpr uint64_t kRestDroppedLinks = 14;
constexpr uint64_t kRestStatus = 15;
constexpr uint64_t kRestStatusMessage = 2;

constexpr uint64_t WireTag(uint64_t field, uint32_t wire_type) { return field << 3 | wire_type; }

// The filter's view of a decoded attribute (see AttributeRef in DecodeBlock).
ColumnAttribute ColumnAttributeOf(uint8_t type, std::string_view key, std::string_view text,
                                  uint64_t bits) {
  ColumnAttribute a;
  a.key = key;
  switch (type) {
    case kString:
      a.type = ColumnAttribute::Type::kString;
      a.text = text;
      break;
    case kFalse:
    case kTrue:
      a.type = ColumnAttribute::Type::kBool;
      a.bool_value = type == kTrue;
      break;
    case kInt:
      a.type = ColumnAttribute::Type::kInt;
      a.int_value = UnZigZag(bits);
      break;
    case kDouble:
      a.type = ColumnAttribute::Type::kDouble;
      std::memcpy(&a.double_value, &bits, sizeof(bits));
      break;
    case kNoValue:
    case kEmptyValue:
      a.type = ColumnAttribute::Type::kNone;
      break;
    default:  // kOther, kSerialized
      a.type = ColumnAttribute::Type::kOther;
  }
  return a;
}

}  // namespace

uint64_t BlockEncoder::Intern(std::string_view value) {
  auto it = dict_index_.find(base::AbslView(value));
  if (it != dict_index_.end()) return it->second;
  dict_index_.emplace(std::string(value), dict_.size());
  dict_bytes_ += value.size() + 2;
  dict_.emplace_back(value);
  return dict_.size() - 1;
}

void BlockEncoder::AddTimes(std::span<const HeadSpan* const> spans) {
  // A span's start is coded against a time it is close to, that the decoder knows by then: the
  // end of its previous sibling, else its parent's start, when the parent comes earlier in the
  // trace; else the previous span's start (children after a parent in sequence, siblings one
  // after the other, as clients call). Wrapping arithmetic round-trips any values exactly.
  if (spans.empty()) return;
  child_base_.resize(spans.size());
  uint64_t previous = previous_trace_start_;
  for (size_t i = 0; i < spans.size(); ++i) {
    const auto start = static_cast<uint64_t>(spans[i]->start);
    const auto end = static_cast<uint64_t>(spans[i]->end);
    const size_t parent = parent_at_[i];
    uint64_t base = previous;
    if (parent < i) {
      base = child_base_[parent];
      child_base_[parent] = end;
    }
    child_base_[i] = start;
    PutVarint64(times_col_, ZigZag(static_cast<int64_t>(start - base)));
    PutVarint64(durations_col_, end - start);
    previous = start;
  }
  previous_trace_start_ = static_cast<uint64_t>(spans.front()->start);
}

const WireSpan& BlockEncoder::ReadSpan(const HeadSpan& span) {
  if (ReadWireSpan(span.bytes, &wire_)) return wire_;
  // Not protobuf's own encoding, which is all the head holds: protobuf's reading of the bytes is
  // the one that counts, and its re-encoding reads in place.
  Span parsed;
  if (parsed.ParseFromString(span.bytes)) {
    canonical_ = parsed.SerializeAsString();
    if (ReadWireSpan(canonical_, &wire_)) return wire_;
  }
  // Unreadable: the span keeps the fields the head decoded.
  (void)ReadWireSpan({}, &wire_);
  return wire_;
}

namespace {

// Length of the longest common prefix of `a` and `b`, compared a word at a time (ids and paths
// share long prefixes; a byte loop was a tenth of the flush's attribute work).
size_t SharedPrefixLength(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = 0;
    uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    static_assert(std::endian::native == std::endian::little,
                  "the lowest differing bit must be in the first differing byte");
    if (x != y) return i + static_cast<size_t>(__builtin_ctzll(x ^ y)) / 8;
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Asks for a span's bytes ahead of reading them: by flush time the head's span bytes are long
// out of the caches, and waiting for them was most of the cost of reading a span.
void PrefetchSpanBytes(std::string_view bytes) {
  constexpr size_t kMaxBytes = 2048;
  constexpr size_t kCacheLine = 64;
  const size_t n = std::min(bytes.size(), kMaxBytes);
  for (size_t offset = 0; offset < n; offset += kCacheLine) __builtin_prefetch(bytes.data() + offset);
}

}  // namespace

uint32_t BlockEncoder::ColumnOf(std::string_view key, uint32_t after) {
  uint32_t& guess = after == kNoColumn ? first_column_ : next_column_[after];
  if (guess != kNoColumn && dict_[value_cols_[guess].key] == key) return guess;
  auto [it, inserted] = column_of_key_.try_emplace(base::AbslView(key), value_cols_.size());
  if (inserted) {
    if (spare_cols_.empty()) {
      value_cols_.emplace_back();
    } else {
      value_cols_.push_back(std::move(spare_cols_.back()));
      spare_cols_.pop_back();
    }
    value_cols_.back().key = Intern(key);
  }
  const auto found = static_cast<uint32_t>(it->second);
  // Set before next_column_ grows, which would move `guess`.
  guess = found;
  if (inserted) next_column_.push_back(kNoColumn);
  return found;
}

void BlockEncoder::AddAttributes(const WireSpan& span) {
  // Attributes are shredded by key: the span names the set of value columns it has values in,
  // and each key's values sit together in their column, typed, where zstd finds their
  // repetitions.
  key_set_.clear();
  uint32_t column = kNoColumn;
  for (const WireAttribute& attribute : span.attributes) {
    column = ColumnOf(attribute.key, column);
    PutVarint64(key_set_, column);
    ValueColumn& col = value_cols_[column];
    const size_t before = col.values.size() + col.numbers.size();
    const WireValue& v = attribute.value;
    if (!attribute.has_value) {
      col.types.push_back(kNoValue);
    } else {
      switch (v.type) {
        case WireValue::Type::kEmpty:
          col.types.push_back(kEmptyValue);
          break;
        case WireValue::Type::kString: {
          // Coded against the column's previous string: ids and paths share their prefixes.
          col.types.push_back(kString);
          const std::string_view value = v.string;
          const size_t shared = SharedPrefixLength(value, col.previous);
          PutVarint64(col.values, shared);
          PutLengthPrefixed(col.values, value.substr(shared));
          col.previous.assign(value);
          break;
        }
        case WireValue::Type::kBool:
          col.types.push_back(v.number != 0 ? kTrue : kFalse);
          break;
        case WireValue::Type::kInt:
          col.types.push_back(kInt);
          PutVarint64(col.numbers, ZigZag(static_cast<int64_t>(v.number)));
          break;
        case WireValue::Type::kDouble:
          col.types.push_back(kDouble);
          PutFixed64(col.numbers, v.number);
          break;
        case WireValue::Type::kOther:
          col.types.push_back(kOther);
          PutLengthPrefixed(col.values, v.serialized);
          break;
      }
    }
    value_bytes_ += col.values.size() + col.numbers.size() - before + 1;
  }
  auto [set, new_set] = key_set_index_.try_emplace(key_set_, key_sets_.size());
  if (new_set) {
    key_sets_.push_back(key_set_);
    key_set_bytes_ += key_set_.size() + 2;
  }
  PutVarint64(attrs_col_, set->second);
}

void BlockEncoder::AddRest(const WireSpan& span) {
  // Whatever the columns do not hold: events, links, trace state, dropped counts, the status
  // message, and fields unknown to this version. Most spans have none of it.
  if (span.trace_state.empty() && span.dropped_attributes_count == 0 &&
      span.dropped_events_count == 0 && span.dropped_links_count == 0 && span.events.empty() &&
      span.links.empty() && span.status_message.empty() && span.unknown_fields.empty()) {
    PutVarint64(rest_col_, 0);
    return;
  }
  // Encoded as protobuf encodes a Span holding only these fields: by field number, the fields
  // it does not know last. The decoder parses it as such.
  scratch_.clear();
  auto put_count = [this](uint64_t field, uint32_t count) {
    if (count == 0) return;
    PutVarint64(scratch_, WireTag(field, kWireVarint));
    PutVarint64(scratch_, count);
  };
  auto put_bytes = [this](uint64_t field, std::string_view bytes) {
    PutVarint64(scratch_, WireTag(field, kWireLength));
    PutLengthPrefixed(scratch_, bytes);
  };
  if (!span.trace_state.empty()) put_bytes(kRestTraceState, span.trace_state);
  put_count(kRestDroppedAttributes, span.dropped_attributes_count);
  for (std::string_view event : span.events) put_bytes(kRestEvents, event);
  put_count(kRestDroppedEvents, span.dropped_events_count);
  for (std::string_view link : span.links) put_bytes(kRestLinks, link);
  put_count(kRestDroppedLinks, span.dropped_links_count);
  if (!span.status_message.empty()) {
    status_.clear();
    PutVarint64(status_, WireTag(kRestStatusMessage, kWireLength));
    PutLengthPrefixed(status_, span.status_message);
    put_bytes(kRestStatus, status_);
  }
  for (std::string_view field : span.unknown_fields) scratch_.append(field);
  PutLengthPrefixed(rest_col_, scratch_);
}

std::vector<size_t> BlockEncoder::ColumnSizes() const {
  std::vector<size_t> sizes = {traces_col_.size(), ids_col_.size(),       parents_col_.size(),
                               times_col_.size(),  durations_col_.size(), names_col_.size(),
                               meta_col_.size(),   attrs_col_.size(),     rest_col_.size()};
  for (const ValueColumn& col : value_cols_) {
    sizes.push_back(col.types.size());
    sizes.push_back(col.values.size());
    sizes.push_back(col.numbers.size());
  }
  return sizes;
}

void BlockEncoder::StartGroup() {
  Group& group = groups_.emplace_back();
  group.approximate_start = ApproximateBytes();
  group.starts = ColumnSizes();
  previous_trace_start_ = 0;
  for (ValueColumn& col : value_cols_) col.previous.clear();
}

void BlockEncoder::AddTrace(std::string_view trace_id, std::span<const HeadSpan* const> spans) {
  if (!spans.empty()) PrefetchSpanBytes(spans[0]->bytes);
  if (groups_.empty() || ApproximateBytes() - groups_.back().approximate_start >= group_bytes_) {
    StartGroup();
  }
  ++groups_.back().traces;
  groups_.back().spans += spans.size();
  traces_col_.append(trace_id);
  PutVarint64(traces_col_, spans.size());
  ++traces_;
  // Span ids first, so that a parent in the same trace is a small position, not 8 bytes.
  for (const HeadSpan* s : spans) ids_col_.append(s->span_id);
  // Large traces look parents up in a map rather than by a scan per span.
  absl::flat_hash_map<std::string_view, size_t> position_of;
  if (spans.size() > 16) {
    for (size_t i = 0; i < spans.size(); ++i) position_of.try_emplace(spans[i]->span_id, i);
  }
  parent_at_.assign(spans.size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    const std::string& parent = spans[i]->parent_span_id;
    if (parent.empty()) continue;
    if (!position_of.empty()) {
      auto it = position_of.find(parent);
      if (it != position_of.end()) parent_at_[i] = it->second;
    } else {
      for (size_t j = 0; j < spans.size(); ++j) {
        if (spans[j]->span_id == parent) {
          parent_at_[i] = j;
          break;
        }
      }
    }
  }
  AddTimes(spans);
  for (size_t i = 0; i < spans.size(); ++i) {
    const HeadSpan* s = spans[i];
    if (i + 1 < spans.size()) PrefetchSpanBytes(spans[i + 1]->bytes);
    ++spans_;
    if (s->parent_span_id.empty()) {
      PutVarint64(parents_col_, kNoParent);
    } else if (parent_at_[i] < spans.size()) {
      PutVarint64(parents_col_, kParentAt + parent_at_[i]);
    } else {
      PutVarint64(parents_col_, kParentBytes);
      PutLengthPrefixed(parents_col_, s->parent_span_id);
    }

    auto [r, new_resource] = by_entry_.try_emplace(s->resource.get(), 0);
    if (new_resource) {
      keep_alive_.push_back(s->resource);
      auto [k, new_key] = resource_by_key_.try_emplace(s->resource->key, resources_.size());
      if (new_key) {
        std::string bytes;
        PutLengthPrefixed(bytes, s->resource->resource.SerializeAsString());
        bytes += s->resource->schema_url;
        resources_.push_back(Intern(bytes));
      }
      r->second = k->second;
    }
    // Copied out: the insertion below may move the map's slots.
    const uint64_t resource_number = r->second;
    auto [c, new_scope] = by_entry_.try_emplace(s->scope.get(), 0);
    if (new_scope) {
      keep_alive_.push_back(s->scope);
      auto [k, new_key] = scope_by_key_.try_emplace(s->scope->key, scopes_.size());
      if (new_key) {
        std::string bytes;
        PutLengthPrefixed(bytes, s->scope->scope.SerializeAsString());
        bytes += s->scope->schema_url;
        scopes_.push_back(Intern(bytes));
      }
      c->second = k->second;
    }
    const WireSpan& span = ReadSpan(*s);
    PutVarint64(names_col_, Intern(s->name()));
    PutVarint64(meta_col_, ZigZag(s->kind));
    PutVarint64(meta_col_, ZigZag(span.status_code));
    PutVarint64(meta_col_, resource_number);
    PutVarint64(meta_col_, c->second);
    PutVarint64(meta_col_, span.flags);
    AddAttributes(span);
    AddRest(span);
  }
}

size_t BlockEncoder::ApproximateBytes() const {
  return dict_bytes_ + value_bytes_ + key_set_bytes_ + traces_col_.size() + ids_col_.size() +
         parents_col_.size() + times_col_.size() + durations_col_.size() + names_col_.size() +
         meta_col_.size() + attrs_col_.size() + rest_col_.size();
}

std::string BlockEncoder::Finish(std::vector<size_t>* sections) {
  std::string out;
  FinishInto(&out, sections);
  return out;
}

void BlockEncoder::Reset() {
  groups_.clear();
  dict_index_.clear();
  dict_.clear();
  dict_bytes_ = 0;
  by_entry_.clear();
  resource_by_key_.clear();
  scope_by_key_.clear();
  resources_.clear();
  scopes_.clear();
  keep_alive_.clear();
  column_of_key_.clear();
  next_column_.clear();
  first_column_ = kNoColumn;
  for (ValueColumn& col : value_cols_) {
    col.types.clear();
    col.values.clear();
    col.numbers.clear();
    col.previous.clear();
    spare_cols_.push_back(std::move(col));
  }
  value_cols_.clear();
  value_bytes_ = 0;
  key_set_index_.clear();
  key_sets_.clear();
  key_set_bytes_ = 0;
  for (std::string* col : {&traces_col_, &ids_col_, &parents_col_, &times_col_, &durations_col_,
                           &names_col_, &meta_col_, &attrs_col_, &rest_col_}) {
    col->clear();
  }
  previous_trace_start_ = 0;
  traces_ = 0;
  spans_ = 0;
}

void BlockEncoder::FinishInto(std::string* out_ptr, std::vector<size_t>* sections) {
  std::string& out = *out_ptr;
  out.clear();
  out.reserve(ApproximateBytes() + 64);
  std::vector<size_t> ends;
  PutVarint64(out, kBlockVersion);
  PutVarint64(out, traces_);
  PutVarint64(out, spans_);
  PutVarint64(out, dict_.size());
  for (const std::string& entry : dict_) PutLengthPrefixed(out, entry);
  PutVarint64(out, resources_.size());
  for (uint64_t i : resources_) PutVarint64(out, i);
  PutVarint64(out, scopes_.size());
  for (uint64_t i : scopes_) PutVarint64(out, i);
  ends.push_back(out.size());
  for (const std::string* col :
       {&traces_col_, &ids_col_, &parents_col_, &times_col_, &durations_col_, &names_col_,
        &meta_col_, &attrs_col_, &rest_col_}) {
    PutLengthPrefixed(out, *col);
    ends.push_back(out.size());
  }
  PutVarint64(out, value_cols_.size());
  for (const ValueColumn& col : value_cols_) {
    PutVarint64(out, col.key);
    PutLengthPrefixed(out, col.types);
    ends.push_back(out.size());
    PutLengthPrefixed(out, col.values);
    ends.push_back(out.size());
    PutLengthPrefixed(out, col.numbers);
    ends.push_back(out.size());
  }
  PutVarint64(out, key_sets_.size());
  for (const std::string& set : key_sets_) PutLengthPrefixed(out, set);
  // The group table: per group its traces, its spans and its bytes in every column (a column
  // that appeared later had none before).
  const std::vector<size_t> ends_of_columns = ColumnSizes();
  PutVarint64(out, groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    PutVarint64(out, groups_[g].traces);
    PutVarint64(out, groups_[g].spans);
    const std::vector<size_t>& starts = groups_[g].starts;
    const std::vector<size_t>& next =
        g + 1 < groups_.size() ? groups_[g + 1].starts : ends_of_columns;
    for (size_t c = 0; c < ends_of_columns.size(); ++c) {
      const size_t start = c < starts.size() ? starts[c] : 0;
      const size_t end = c < next.size() ? next[c] : 0;
      PutVarint64(out, end - start);
    }
  }
  ends.push_back(out.size());
  if (sections != nullptr) *sections = std::move(ends);
  Reset();
}

namespace {

absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(fmt::format("cannot decode trace block: {}", what));
}

}  // namespace

absl::StatusOr<std::vector<DecodedTrace>> DecodeBlock(std::string_view body,
                                                      std::optional<std::string_view> only,
                                                      const SpanFilter* filter) {
  ByteReader in(body);
  const uint64_t version = in.Varint();
  if (in.ok() && (version < kOldestBlockVersion || version > kBlockVersion)) {
    return Corrupt(fmt::format("unknown block version {} (this version reads {} to {})", version,
                               kOldestBlockVersion, kBlockVersion));
  }
  const bool v1 = version == 1;
  const uint64_t n_traces = in.Varint();
  const uint64_t n_spans = in.Varint();
  const uint64_t n_dict = in.Varint();
  // Each entry takes at least one byte: a count beyond the input is corrupt, not an allocation.
  if (!in.ok() || n_dict > in.remaining() || n_traces > body.size() || n_spans > body.size()) {
    return Corrupt("invalid block header");
  }
  std::vector<std::string_view> dict(n_dict);
  for (auto& entry : dict) entry = in.LengthPrefixed();
  auto table = [&](std::string_view what) -> absl::StatusOr<std::vector<std::string_view>> {
    const uint64_t n = in.Varint();
    if (!in.ok() || n > in.remaining()) return Corrupt(fmt::format("invalid {} table", what));
    std::vector<std::string_view> out(n);
    for (auto& entry : out) {
      const uint64_t i = in.Varint();
      if (!in.ok() || i >= n_dict) return Corrupt(fmt::format("invalid {} table", what));
      entry = dict[i];
    }
    return out;
  };
  auto resource_bytes = table("resource");
  if (!resource_bytes.ok()) return resource_bytes.status();
  auto scope_bytes = table("scope");
  if (!scope_bytes.ok()) return scope_bytes.status();
  ByteReader traces_col(in.LengthPrefixed());
  ByteReader ids_col(in.LengthPrefixed());
  ByteReader parents_col(in.LengthPrefixed());
  ByteReader times_col(in.LengthPrefixed());
  ByteReader durations_col(v1 ? std::string_view() : in.LengthPrefixed());
  // Version 1 has the durations in the times column, the names in the meta column.
  ByteReader& duration_source = v1 ? times_col : durations_col;
  ByteReader names_col(v1 ? std::string_view() : in.LengthPrefixed());
  ByteReader meta_col(in.LengthPrefixed());
  ByteReader& name_source = v1 ? meta_col : names_col;
  ByteReader attrs_col(in.LengthPrefixed());
  ByteReader rest_col(in.LengthPrefixed());
  const uint64_t n_value_cols = in.Varint();
  if (!in.ok() || n_value_cols > in.remaining()) return Corrupt("truncated columns");
  std::vector<std::string_view> value_keys(n_value_cols);
  // Per value column, its types, its values (in version 1 serialized AnyValues) and its numbers.
  std::vector<ByteReader> value_types;
  std::vector<ByteReader> value_cols;
  std::vector<ByteReader> value_numbers;
  value_types.reserve(n_value_cols);
  value_cols.reserve(n_value_cols);
  value_numbers.reserve(n_value_cols);
  for (uint64_t c = 0; c < n_value_cols; ++c) {
    const uint64_t key = in.Varint();
    value_types.emplace_back(v1 ? std::string_view() : in.LengthPrefixed());
    value_cols.emplace_back(in.LengthPrefixed());
    value_numbers.emplace_back(v1 ? std::string_view() : in.LengthPrefixed());
    if (!in.ok() || key >= n_dict) return Corrupt(fmt::format("invalid value column {}", c));
    value_keys[c] = dict[key];
  }
  // Every column in the order of the group table: the span columns, then each value column's
  // types, values and numbers.
  std::vector<ByteReader*> columns = {&traces_col, &ids_col,       &parents_col,
                                      &times_col,  &durations_col, &names_col,
                                      &meta_col,   &attrs_col,     &rest_col};
  for (uint64_t c = 0; c < n_value_cols; ++c) {
    columns.push_back(&value_types[c]);
    columns.push_back(&value_cols[c]);
    columns.push_back(&value_numbers[c]);
  }
  std::vector<std::string_view> column_bytes;
  column_bytes.reserve(columns.size());
  for (const ByteReader* column : columns) column_bytes.push_back(column->rest());
  // Version 2 and later: the attribute key sets, as [begin, end) ranges of `set_columns`.
  std::vector<std::pair<size_t, size_t>> key_sets;
  std::vector<uint32_t> set_columns;
  if (!v1) {
    const uint64_t n_sets = in.Varint();
    if (!in.ok() || n_sets > in.remaining()) return Corrupt("invalid attribute key set table");
    key_sets.resize(n_sets);
    for (uint64_t k = 0; k < n_sets; ++k) {
      ByteReader set(in.LengthPrefixed());
      key_sets[k].first = set_columns.size();
      while (set.ok() && !set.empty()) {
        const uint64_t column = set.Varint();
        if (!set.ok() || column >= n_value_cols) {
          return Corrupt(fmt::format("attribute key set {} names an unknown column", k));
        }
        set_columns.push_back(static_cast<uint32_t>(column));
      }
      key_sets[k].second = set_columns.size();
    }
  }
  // The trace groups, as where each starts: its first trace and span (one past the last group
  // too) and, from version 3, its offset in every column. Before version 3 the block is one
  // group.
  std::vector<uint64_t> group_trace = {0};
  std::vector<uint64_t> group_span = {0};
  std::vector<uint64_t> group_offsets;  // per group, per column
  const size_t n_columns = columns.size();
  if (version >= 3) {
    const uint64_t n_groups = in.Varint();
    // A row takes a byte per number at least: a count beyond the input is not an allocation.
    if (!in.ok() || n_groups > in.remaining() / (2 + n_columns)) {
      return Corrupt("invalid trace group table");
    }
    group_offsets.resize(n_groups * n_columns);
    std::vector<uint64_t> at(n_columns, 0);
    for (uint64_t g = 0; g < n_groups; ++g) {
      const uint64_t traces = in.Varint();
      const uint64_t spans = in.Varint();
      if (!in.ok() || traces == 0 || traces > n_traces - group_trace.back() ||
          spans > n_spans - group_span.back()) {
        return Corrupt(fmt::format("invalid trace group {}", g));
      }
      group_trace.push_back(group_trace.back() + traces);
      group_span.push_back(group_span.back() + spans);
      for (size_t c = 0; c < n_columns; ++c) {
        group_offsets[g * n_columns + c] = at[c];
        const uint64_t size = in.Varint();
        if (!in.ok() || size > column_bytes[c].size() - at[c]) {
          return Corrupt(fmt::format("trace group {} exceeds column {}", g, c));
        }
        at[c] += size;
      }
    }
    for (size_t c = 0; c < n_columns; ++c) {
      if (at[c] != column_bytes[c].size()) {
        return Corrupt(fmt::format("the trace groups do not cover column {}", c));
      }
    }
    if (group_trace.back() != n_traces || group_span.back() != n_spans) {
      return Corrupt("the trace groups do not cover the block");
    }
  } else {
    group_trace.push_back(n_traces);
    group_span.push_back(n_spans);
  }
  if (!in.ok() || !in.empty()) return Corrupt("truncated columns or trailing bytes");
  const size_t n_groups = group_trace.size() - 1;
  // A lookup decodes only the group that can hold its trace: the last one starting at or before
  // its id (traces ascend by id).
  size_t first_group = 0;
  size_t end_group = n_groups;
  if (only.has_value() && !group_offsets.empty()) {
    auto first_id = [&](size_t g) {
      return column_bytes[0].substr(group_offsets[g * n_columns], 16);
    };
    size_t after = 0;  // the first group starting after the id
    size_t count = n_groups;
    while (count > 0) {
      const size_t half = count / 2;
      if (first_id(after + half) <= *only) {
        after += half + 1;
        count -= half + 1;
      } else {
        count = half;
      }
    }
    if (after == 0) return std::vector<DecodedTrace>();
    first_group = after - 1;
    end_group = after;
  }

  // Resources and scopes are parsed once per block, when first needed.
  std::vector<std::shared_ptr<const ResourceEntry>> resources(resource_bytes->size());
  std::vector<std::shared_ptr<const ScopeEntry>> scopes(scope_bytes->size());
  std::vector<DecodedTrace> out;
  uint64_t previous_start = 0;        // version 1: of the previous span of the block
  uint64_t previous_trace_start = 0;  // version 2+: of the first span of the previous trace
  uint64_t span_number = 0;
  bool looked_up = false;  // stopped after the trace `only`
  struct AttributeRef {
    uint64_t column = 0;
    uint8_t type = kNoValue;
    std::string_view bytes;  // kOther, kSerialized
    std::string text;        // kString
    uint64_t bits = 0;       // kInt (zigzag), kDouble
  };
  std::vector<std::string> previous_string(v1 ? 0 : n_value_cols);
  // Shared prefixes let a small hostile body expand quadratically; real blocks stay far below.
  constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
  uint64_t string_bytes = 0;
  std::vector<AttributeRef> attrs;
  // What a filter sees of `attrs`, gathered when it asks.
  struct FilterAttributes {
    const std::vector<AttributeRef>* attrs = nullptr;
    const std::vector<std::string_view>* keys = nullptr;
    std::vector<ColumnAttribute> gathered;
    bool done = false;
  } filter_attrs;
  filter_attrs.attrs = &attrs;
  filter_attrs.keys = &value_keys;
  auto gather = [](void* context) -> std::span<const ColumnAttribute> {
    auto* f = static_cast<FilterAttributes*>(context);
    if (!f->done) {
      f->gathered.resize(f->attrs->size());
      for (size_t k = 0; k < f->attrs->size(); ++k) {
        const AttributeRef& a = (*f->attrs)[k];
        f->gathered[k] = ColumnAttributeOf(a.type, (*f->keys)[a.column], a.text, a.bits);
      }
      f->done = true;
    }
    return f->gathered;
  };
  std::vector<std::string_view> span_ids;
  std::vector<uint64_t> child_base;
  for (size_t g = first_group; g < end_group && !looked_up; ++g) {
    // A group is decoded as if it began the block, from its own bytes of every column.
    if (!group_offsets.empty()) {
      for (size_t c = 0; c < n_columns; ++c) {
        const uint64_t begin = group_offsets[g * n_columns + c];
        const uint64_t end =
            g + 1 < n_groups ? group_offsets[(g + 1) * n_columns + c] : column_bytes[c].size();
        *columns[c] = ByteReader(column_bytes[c].substr(begin, end - begin));
      }
      previous_trace_start = 0;
      for (std::string& previous : previous_string) previous.clear();
    }
    span_number = group_span[g];
    for (uint64_t t = group_trace[g]; t < group_trace[g + 1]; ++t) {
      std::string_view trace_id = traces_col.Bytes(16);
      const uint64_t count = traces_col.Varint();
      if (!traces_col.ok() || count > group_span[g + 1] - span_number) {
        return Corrupt(fmt::format("invalid entry of trace {}", t));
      }
      // Traces ascend by id: a lookup is done once it passes its id.
      if (only.has_value() && traces_col.ok() && trace_id > *only) {
        looked_up = true;
        break;
      }
      const bool wanted = !only.has_value() || *only == trace_id;
      DecodedTrace* trace = nullptr;
      if (wanted) {
        trace = &out.emplace_back();
        trace->trace_id = std::string(trace_id);
        trace->spans.reserve(count);
      }
      if (count > ids_col.remaining() / 8) {
        return Corrupt(fmt::format("span ids of trace {} are truncated", t));
      }
      span_ids.resize(count);
      for (auto& id : span_ids) id = ids_col.Bytes(8);
      child_base.resize(count);
      uint64_t previous_in_trace = previous_trace_start;
      for (uint64_t i = 0; i < count; ++i, ++span_number) {
        std::string_view span_id = span_ids[i];
        const uint64_t parent_kind = parents_col.Varint();
        std::string_view parent;
        uint64_t parent_at = count;
        if (parent_kind == kParentBytes) {
          parent = parents_col.LengthPrefixed();
        } else if (parent_kind >= kParentAt) {
          parent_at = parent_kind - kParentAt;
          if (parent_at >= count) {
            return Corrupt(fmt::format("parent of span {} is out of its trace", span_number));
          }
          parent = span_ids[parent_at];
        }
        const int64_t delta = UnZigZag(times_col.Varint());
        const uint64_t duration = duration_source.Varint();
        uint64_t start;
        if (v1) {
          start = previous_start + static_cast<uint64_t>(delta);
          previous_start = start;
        } else {
          const uint64_t base = parent_at < i ? child_base[parent_at] : previous_in_trace;
          start = base + static_cast<uint64_t>(delta);
          if (parent_at < i) child_base[parent_at] = start + duration;
          child_base[i] = start;
          previous_in_trace = start;
          if (i == 0) previous_trace_start = start;
        }
        const uint64_t name = name_source.Varint();
        const int64_t kind = UnZigZag(meta_col.Varint());
        const int64_t code = UnZigZag(meta_col.Varint());
        const uint64_t resource = meta_col.Varint();
        const uint64_t scope = meta_col.Varint();
        const uint64_t flags = meta_col.Varint();
        if (v1) {
          const uint64_t n_attrs = attrs_col.Varint();
          if (!attrs_col.ok() || n_attrs > attrs_col.remaining()) {
            return Corrupt(fmt::format("invalid attributes of span {}", span_number));
          }
          attrs.resize(n_attrs);
          for (AttributeRef& a : attrs) {
            a.column = attrs_col.Varint();
            if (a.column >= n_value_cols) {
              return Corrupt(
                  fmt::format("attribute column of span {} is out of range", span_number));
            }
            ByteReader& column = value_cols[a.column];
            const uint64_t size = column.Varint();
            a.type = size == 0 ? kNoValue : kSerialized;
            if (size != 0) a.bytes = column.Bytes(size - 1);
            if (!column.ok()) {
              return Corrupt(
                  fmt::format("value column {} is truncated at span {}", a.column, span_number));
            }
          }
        } else {
          const uint64_t set = attrs_col.Varint();
          if (!attrs_col.ok() || set >= key_sets.size()) {
            return Corrupt(
                fmt::format("attribute key set of span {} is out of range", span_number));
          }
          const auto [begin, end] = key_sets[set];
          attrs.resize(end - begin);
          for (size_t k = begin; k < end; ++k) {
            AttributeRef& a = attrs[k - begin];
            a.column = set_columns[k];
            std::string_view type = value_types[a.column].Bytes(1);
            ByteReader& values = value_cols[a.column];
            ByteReader& numbers = value_numbers[a.column];
            a.type = type.empty() ? uint8_t{kNoValue} : static_cast<uint8_t>(type[0]);
            switch (a.type) {
              case kNoValue:
              case kEmptyValue:
              case kFalse:
              case kTrue:
                break;
              case kString: {
                std::string& previous = previous_string[a.column];
                const uint64_t shared = values.Varint();
                const std::string_view suffix = values.LengthPrefixed();
                if (shared > previous.size()) {
                  return Corrupt(
                      fmt::format("string in column {} at span {} shares more than the "
                                  "previous one",
                                  a.column, span_number));
                }
                previous.resize(shared);
                previous.append(suffix);
                // Spans of other traces only move the column on.
                if (trace != nullptr) {
                  string_bytes += previous.size();
                  if (string_bytes > kMaxStringBytes) {
                    return Corrupt(fmt::format("strings expand beyond {} bytes at span {}",
                                               kMaxStringBytes, span_number));
                  }
                  a.text.assign(previous);
                }
                break;
              }
              case kOther:
                a.bytes = values.LengthPrefixed();
                break;
              case kInt:
                a.bits = numbers.Varint();
                break;
              case kDouble:
                a.bits = numbers.Fixed64();
                break;
              default:
                return Corrupt(fmt::format("unknown value type {} in column {} at span {}", a.type,
                                           a.column, span_number));
            }
            if (!value_types[a.column].ok() || !values.ok() || !numbers.ok()) {
              return Corrupt(
                  fmt::format("value column {} is truncated at span {}", a.column, span_number));
            }
          }
        }
        std::string_view rest = rest_col.LengthPrefixed();
        if (!ids_col.ok() || !parents_col.ok() || !times_col.ok() || !durations_col.ok() ||
            !names_col.ok() || !meta_col.ok() || !attrs_col.ok() || !rest_col.ok()) {
          return Corrupt(fmt::format("truncated column at span {}", span_number));
        }
        if (name >= n_dict || resource >= resources.size() || scope >= scopes.size()) {
          return Corrupt(
              fmt::format("dictionary reference of span {} is out of range", span_number));
        }
        if (trace == nullptr) continue;
        if (resources[resource] == nullptr) {
          ByteReader r((*resource_bytes)[resource]);
          std::string_view serialized = r.LengthPrefixed();
          opentelemetry::proto::resource::v1::Resource parsed;
          if (!r.ok() ||
              !parsed.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
            return Corrupt(fmt::format("invalid resource {}", resource));
          }
          resources[resource] =
              MakeResourceEntry(std::move(parsed), std::string(r.Bytes(r.remaining())));
        }
        if (scopes[scope] == nullptr) {
          ByteReader r((*scope_bytes)[scope]);
          std::string_view serialized = r.LengthPrefixed();
          opentelemetry::proto::common::v1::InstrumentationScope parsed;
          if (!r.ok() ||
              !parsed.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
            return Corrupt(fmt::format("invalid scope {}", scope));
          }
          scopes[scope] = MakeScopeEntry(std::move(parsed), std::string(r.Bytes(r.remaining())));
        }
        if (filter != nullptr) {
          filter_attrs.done = false;
          if (!(*filter)(SpanColumns{.trace = out.size() - 1,
                                     .service = resources[resource]->service,
                                     .name = dict[name],
                                     .kind = kind,
                                     .status_code = code,
                                     .start = start,
                                     .end = start + duration,
                                     .has_rest = !rest.empty(),
                                     .resource = resources[resource].get(),
                                     .scope = scopes[scope].get(),
                                     .gather_attributes = gather,
                                     .gather_context = &filter_attrs})) {
            continue;
          }
        }
        StoredSpan& s = trace->spans.emplace_back();
        Span& span = s.span;
        if (!rest.empty() && !span.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
          return Corrupt(fmt::format("invalid fields of span {}", span_number));
        }
        span.set_trace_id(std::string(trace_id));
        span.set_span_id(std::string(span_id));
        if (!parent.empty()) span.set_parent_span_id(std::string(parent));
        span.set_name(std::string(dict[name]));
        span.set_kind(static_cast<Span::SpanKind>(kind));
        if (code != 0) {
          span.mutable_status()->set_code(
              static_cast<opentelemetry::proto::trace::v1::Status::StatusCode>(code));
        }
        span.set_start_time_unix_nano(start);
        span.set_end_time_unix_nano(start + duration);
        span.set_flags(static_cast<uint32_t>(flags));
        span.mutable_attributes()->Reserve(static_cast<int>(attrs.size()));
        for (const AttributeRef& a : attrs) {
          auto* kv = span.add_attributes();
          kv->set_key(std::string(value_keys[a.column]));
          switch (a.type) {
            case kNoValue:
              break;
            case kEmptyValue:
              kv->mutable_value();
              break;
            case kString:
              kv->mutable_value()->set_string_value(a.text);
              break;
            case kFalse:
            case kTrue:
              kv->mutable_value()->set_bool_value(a.type == kTrue);
              break;
            case kInt:
              kv->mutable_value()->set_int_value(UnZigZag(a.bits));
              break;
            case kDouble: {
              double d;
              std::memcpy(&d, &a.bits, sizeof(d));
              kv->mutable_value()->set_double_value(d);
              break;
            }
            default:  // kOther, kSerialized
              if (!kv->mutable_value()->ParseFromArray(a.bytes.data(),
                                                       static_cast<int>(a.bytes.size()))) {
                return Corrupt(fmt::format("invalid attribute of span {}", span_number));
              }
          }
        }
        s.resource = resources[resource];
        s.scope = scopes[scope];
      }
    }
    if (looked_up) break;
    if (span_number != group_span[g + 1]) {
      return Corrupt(fmt::format("the traces of group {} hold {} spans, the header says {}", g,
                                 span_number - group_span[g], group_span[g + 1] - group_span[g]));
    }
    for (size_t c = 0; c < n_columns && !group_offsets.empty(); ++c) {
      if (!columns[c]->empty()) {
        return Corrupt(fmt::format("trace group {} leaves bytes of column {} unread", g, c));
      }
    }
  }
  return out;
}

}  // namespace oriel::tracestore
