#include "tracestore/segment_block.h"

#include <utility>

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

}  // namespace

uint64_t BlockEncoder::Intern(std::string value) {
  auto [it, inserted] = dict_index_.try_emplace(std::move(value), dict_.size());
  if (inserted) {
    dict_bytes_ += it->first.size() + 2;
    dict_.push_back(it->first);
  }
  return it->second;
}

void BlockEncoder::AddTrace(std::string_view trace_id, std::span<const StoredSpan* const> spans) {
  traces_col_.append(trace_id);
  PutVarint64(traces_col_, spans.size());
  ++traces_;
  // Span ids first, so that a parent in the same trace is a small position, not 8 bytes.
  for (const StoredSpan* s : spans) ids_col_.append(s->span.span_id());
  // Large traces look parents up in a map rather than by a scan per span.
  absl::flat_hash_map<std::string_view, size_t> position_of;
  if (spans.size() > 16) {
    for (size_t i = 0; i < spans.size(); ++i) position_of.try_emplace(spans[i]->span.span_id(), i);
  }
  for (const StoredSpan* s : spans) {
    const Span& span = s->span;
    ++spans_;
    const std::string& parent = span.parent_span_id();
    size_t position = spans.size();
    if (!parent.empty() && !position_of.empty()) {
      auto it = position_of.find(parent);
      if (it != position_of.end()) position = it->second;
    } else if (!parent.empty()) {
      for (size_t i = 0; i < spans.size(); ++i) {
        if (spans[i]->span.span_id() == parent) {
          position = i;
          break;
        }
      }
    }
    if (parent.empty()) {
      PutVarint64(parents_col_, kNoParent);
    } else if (position < spans.size()) {
      PutVarint64(parents_col_, kParentAt + position);
    } else {
      PutVarint64(parents_col_, kParentBytes);
      PutLengthPrefixed(parents_col_, parent);
    }
    const uint64_t start = span.start_time_unix_nano();
    // Wrapping arithmetic round-trips every pair of values exactly.
    PutVarint64(times_col_, ZigZag(static_cast<int64_t>(start - previous_start_)));
    PutVarint64(times_col_, span.end_time_unix_nano() - start);
    previous_start_ = start;

    auto [r, new_resource] = by_entry_.try_emplace(s->resource.get(), 0);
    if (new_resource) {
      keep_alive_.push_back(s->resource);
      auto [k, new_key] = resource_by_key_.try_emplace(s->resource->key, resources_.size());
      if (new_key) {
        std::string bytes;
        PutLengthPrefixed(bytes, s->resource->resource.SerializeAsString());
        bytes += s->resource->schema_url;
        resources_.push_back(Intern(std::move(bytes)));
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
        scopes_.push_back(Intern(std::move(bytes)));
      }
      c->second = k->second;
    }
    PutVarint64(meta_col_, Intern(span.name()));
    PutVarint64(meta_col_, ZigZag(span.kind()));
    PutVarint64(meta_col_, ZigZag(span.status().code()));
    PutVarint64(meta_col_, resource_number);
    PutVarint64(meta_col_, c->second);
    PutVarint64(meta_col_, span.flags());

    // Attributes are shredded by key: the span lists the value columns it has a value in, and
    // each key's values sit together in their column, where zstd finds their repetitions.
    PutVarint64(attrs_col_, static_cast<uint64_t>(span.attributes_size()));
    for (const auto& kv : span.attributes()) {
      auto [column, new_column] = column_of_key_.try_emplace(kv.key(), value_cols_.size());
      if (new_column) {
        value_col_keys_.push_back(Intern(kv.key()));
        value_cols_.emplace_back();
      }
      PutVarint64(attrs_col_, column->second);
      // Length + 1, and 0 for a KeyValue without a value (unlike an empty AnyValue).
      if (kv.has_value()) {
        kv.value().SerializeToString(&scratch_);
        PutVarint64(value_cols_[column->second], scratch_.size() + 1);
        value_cols_[column->second].append(scratch_);
      } else {
        scratch_.clear();
        PutVarint64(value_cols_[column->second], 0);
      }
      value_bytes_ += scratch_.size() + 1;
    }

    // Whatever the columns above do not hold: events, links, trace state, dropped counts, the
    // status message, and fields unknown to this version.
    Span rest;
    rest.set_trace_state(span.trace_state());
    rest.set_dropped_attributes_count(span.dropped_attributes_count());
    rest.set_dropped_events_count(span.dropped_events_count());
    rest.set_dropped_links_count(span.dropped_links_count());
    if (span.events_size() > 0) *rest.mutable_events() = span.events();
    if (span.links_size() > 0) *rest.mutable_links() = span.links();
    if (!span.status().message().empty())
      rest.mutable_status()->set_message(span.status().message());
    if (!span.GetReflection()->GetUnknownFields(span).empty()) {
      rest.GetReflection()->MutableUnknownFields(&rest)->MergeFrom(
          span.GetReflection()->GetUnknownFields(span));
    }
    rest.SerializeToString(&scratch_);
    PutLengthPrefixed(rest_col_, scratch_);
  }
}

size_t BlockEncoder::ApproximateBytes() const {
  return dict_bytes_ + value_bytes_ + traces_col_.size() + ids_col_.size() + parents_col_.size() +
         times_col_.size() + meta_col_.size() + attrs_col_.size() + rest_col_.size();
}

std::string BlockEncoder::Finish() {
  std::string out;
  out.reserve(ApproximateBytes() + 64);
  PutVarint64(out, kBlockVersion);
  PutVarint64(out, traces_);
  PutVarint64(out, spans_);
  PutVarint64(out, dict_.size());
  for (const std::string& entry : dict_) PutLengthPrefixed(out, entry);
  PutVarint64(out, resources_.size());
  for (uint64_t i : resources_) PutVarint64(out, i);
  PutVarint64(out, scopes_.size());
  for (uint64_t i : scopes_) PutVarint64(out, i);
  for (const std::string* col :
       {&traces_col_, &ids_col_, &parents_col_, &times_col_, &meta_col_, &attrs_col_, &rest_col_}) {
    PutLengthPrefixed(out, *col);
  }
  PutVarint64(out, value_cols_.size());
  for (size_t i = 0; i < value_cols_.size(); ++i) {
    PutVarint64(out, value_col_keys_[i]);
    PutLengthPrefixed(out, value_cols_[i]);
  }
  *this = BlockEncoder();
  return out;
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
  if (in.ok() && version != kBlockVersion) {
    return Corrupt(fmt::format("unknown block version {}", version));
  }
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
  ByteReader meta_col(in.LengthPrefixed());
  ByteReader attrs_col(in.LengthPrefixed());
  ByteReader rest_col(in.LengthPrefixed());
  const uint64_t n_value_cols = in.Varint();
  if (!in.ok() || n_value_cols > in.remaining()) return Corrupt("truncated columns");
  std::vector<std::string_view> value_keys(n_value_cols);
  std::vector<ByteReader> value_cols;
  value_cols.reserve(n_value_cols);
  for (uint64_t c = 0; c < n_value_cols; ++c) {
    const uint64_t key = in.Varint();
    value_cols.emplace_back(in.LengthPrefixed());
    if (!in.ok() || key >= n_dict) return Corrupt(fmt::format("invalid value column {}", c));
    value_keys[c] = dict[key];
  }
  if (!in.ok() || !in.empty()) return Corrupt("truncated columns or trailing bytes");

  // Resources and scopes are parsed once per block, when first needed.
  std::vector<std::shared_ptr<const ResourceEntry>> resources(resource_bytes->size());
  std::vector<std::shared_ptr<const ScopeEntry>> scopes(scope_bytes->size());
  std::vector<DecodedTrace> out;
  uint64_t previous_start = 0;
  uint64_t span_number = 0;
  struct AttributeRef {
    uint64_t column = 0;
    std::string_view value;
    bool present = false;
  };
  std::vector<AttributeRef> attrs;
  for (uint64_t t = 0; t < n_traces; ++t) {
    std::string_view trace_id = traces_col.Bytes(16);
    const uint64_t count = traces_col.Varint();
    if (!traces_col.ok() || count > n_spans - span_number) {
      return Corrupt(fmt::format("invalid entry of trace {}", t));
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
    std::vector<std::string_view> span_ids(count);
    for (auto& id : span_ids) id = ids_col.Bytes(8);
    for (uint64_t i = 0; i < count; ++i, ++span_number) {
      std::string_view span_id = span_ids[i];
      const uint64_t parent_kind = parents_col.Varint();
      std::string_view parent;
      if (parent_kind == kParentBytes) {
        parent = parents_col.LengthPrefixed();
      } else if (parent_kind >= kParentAt) {
        if (parent_kind - kParentAt >= count) {
          return Corrupt(fmt::format("parent of span {} is out of its trace", span_number));
        }
        parent = span_ids[parent_kind - kParentAt];
      }
      const int64_t delta = UnZigZag(times_col.Varint());
      const uint64_t start = previous_start + static_cast<uint64_t>(delta);
      const uint64_t duration = times_col.Varint();
      previous_start = start;
      const uint64_t name = meta_col.Varint();
      const int64_t kind = UnZigZag(meta_col.Varint());
      const int64_t code = UnZigZag(meta_col.Varint());
      const uint64_t resource = meta_col.Varint();
      const uint64_t scope = meta_col.Varint();
      const uint64_t flags = meta_col.Varint();
      const uint64_t n_attrs = attrs_col.Varint();
      if (!attrs_col.ok() || n_attrs > attrs_col.remaining()) {
        return Corrupt(fmt::format("invalid attributes of span {}", span_number));
      }
      attrs.resize(n_attrs);
      for (AttributeRef& a : attrs) {
        a.column = attrs_col.Varint();
        if (a.column >= n_value_cols) {
          return Corrupt(fmt::format("attribute column of span {} is out of range", span_number));
        }
        ByteReader& column = value_cols[a.column];
        const uint64_t size = column.Varint();
        a.present = size != 0;
        if (a.present) a.value = column.Bytes(size - 1);
        if (!column.ok()) {
          return Corrupt(
              fmt::format("value column {} is truncated at span {}", a.column, span_number));
        }
      }
      std::string_view rest = rest_col.LengthPrefixed();
      if (!ids_col.ok() || !parents_col.ok() || !times_col.ok() || !meta_col.ok() ||
          !attrs_col.ok() || !rest_col.ok()) {
        return Corrupt(fmt::format("truncated column at span {}", span_number));
      }
      if (name >= n_dict || resource >= resources.size() || scope >= scopes.size()) {
        return Corrupt(fmt::format("dictionary reference of span {} is out of range", span_number));
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
      if (filter != nullptr && !(*filter)(SpanColumns{.trace = out.size() - 1,
                                                      .service = resources[resource]->service,
                                                      .name = dict[name],
                                                      .kind = kind,
                                                      .start = start,
                                                      .end = start + duration})) {
        continue;
      }
      StoredSpan& s = trace->spans.emplace_back();
      Span& span = s.span;
      if (!span.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
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
      for (const AttributeRef& a : attrs) {
        auto* kv = span.add_attributes();
        kv->set_key(std::string(value_keys[a.column]));
        if (!a.present) continue;
        if (!kv->mutable_value()->ParseFromArray(a.value.data(),
                                                 static_cast<int>(a.value.size()))) {
          return Corrupt(fmt::format("invalid attribute of span {}", span_number));
        }
      }
      s.resource = resources[resource];
      s.scope = scopes[scope];
    }
  }
  if (span_number != n_spans) {
    return Corrupt(
        fmt::format("the traces hold {} spans, the header says {}", span_number, n_spans));
  }
  return out;
}

}  // namespace oriel::tracestore
