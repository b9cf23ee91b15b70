#include "pipeline/spanmetrics/service_graph_aggregator.h"

#include <algorithm>
#include <span>

#include "pipeline/spanmetrics/attributes.h"
#include "pipeline/spanmetrics/span_attributes.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace trace = opentelemetry::proto::trace::v1;
namespace common = opentelemetry::proto::common::v1;

constexpr std::string_view kScopeName = "traces_service_graph";
constexpr std::string_view kRequestTotal = "traces_service_graph_request_total";
constexpr std::string_view kRequestFailedTotal = "traces_service_graph_request_failed_total";
constexpr std::string_view kServerSeconds = "traces_service_graph_request_server_seconds";
constexpr std::string_view kClientSeconds = "traces_service_graph_request_client_seconds";
constexpr std::string_view kUnpairedTotal = "traces_service_graph_unpaired_spans_total";
constexpr std::string_view kDroppedTotal = "traces_service_graph_dropped_spans_total";

// Whether a side's service is known (an empty name counts as not known).
bool Known(const common::AnyValue& v) {
  return v.value_case() != common::AnyValue::VALUE_NOT_SET &&
         !(v.value_case() == common::AnyValue::kStringValue && v.string_value().empty());
}

}  // namespace

const std::vector<double>& DefaultServiceGraphBucketsSeconds() {
  static const std::vector<double> kBuckets = {0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2,
                                               0.4,   0.8,   1,     1.4,   2,    5,    10,  15};
  return kBuckets;
}

ServiceGraphAggregator::ServiceGraphAggregator(ServiceGraphOptions options)
    : options_(std::move(options)),
      table_(options_.max_series, options_.max_label_value_length),
      series_keys_(options_.max_series) {
  bounds_ = options_.buckets.empty() ? DefaultServiceGraphBucketsSeconds() : options_.buckets;
}

ServiceGraphStats ServiceGraphAggregator::Consume(
    const std::vector<trace::ResourceSpans>& resource_spans, int64_t now_ns) {
  std::vector<const trace::ResourceSpans*> pointers;
  pointers.reserve(resource_spans.size());
  for (const trace::ResourceSpans& rs : resource_spans) pointers.push_back(&rs);
  return Consume(pointers, now_ns);
}

ServiceGraphStats ServiceGraphAggregator::Consume(
    std::span<const trace::ResourceSpans* const> resource_spans, int64_t now_ns) {
  google::protobuf::Arena arena;
  return ConsumeInputs(InputsOf(resource_spans), now_ns, arena);
}

ServiceGraphStats ServiceGraphAggregator::ConsumeEncoded(
    std::span<const tracestore::EncodedResourceSpans> read, int64_t now_ns) {
  google::protobuf::Arena arena;
  return ConsumeInputs(InputsOf(read, arena), now_ns, arena);
}

ServiceGraphStats ServiceGraphAggregator::ConsumeInputs(std::span<const ResourceInput> inputs,
                                                        int64_t now_ns,
                                                        google::protobuf::Arena& arena) {
  ServiceGraphStats stats = Expire(now_ns);
  // Every key a span is looked up for, in one list: a span's attributes are scanned once.
  std::vector<std::string> keys = options_.dimensions;
  const size_t peer_keys = keys.size();
  keys.insert(keys.end(), options_.virtual_node_peer_attributes.begin(),
              options_.virtual_node_peer_attributes.end());
  const size_t database_keys = keys.size();
  keys.insert(keys.end(), options_.database_name_attributes.begin(),
              options_.database_name_attributes.end());
  std::vector<const common::AnyValue*> in_resource(keys.size());
  SpanAttributes span_attributes(arena, keys);
  for (const ResourceInput& in : inputs) {
    const Attributes& resource_attrs = in.resource->attributes();
    const auto* service_value = FindAttribute(resource_attrs, "service.name");
    if (service_value == nullptr) continue;
    const common::AnyValue& service = *service_value;
    // Looked up in the resource once for all its spans.
    for (size_t i = 0; i < keys.size(); ++i)
      in_resource[i] = FindAttribute(resource_attrs, keys[i]);
    // The first of keys [begin, end) found in the resource, then the span, as the connector's
    // pdatautil.GetAttributeValue / getFirstMatchingValue look them up.
    auto first_match = [&](size_t begin, size_t end) -> const common::AnyValue* {
      for (size_t i = begin; i < end; ++i) {
        if (in_resource[i] != nullptr) return in_resource[i];
        if (const auto* v = span_attributes.Find(i)) return v;
      }
      return nullptr;
    };
    for (const SpanInput& span : in.spans) {
      bool client_side;
      std::string_view connection_type;
      switch (span.kind) {
        case trace::Span::SPAN_KIND_PRODUCER:
          connection_type = "messaging_system";
          [[fallthrough]];
        case trace::Span::SPAN_KIND_CLIENT:
          client_side = true;
          break;
        case trace::Span::SPAN_KIND_CONSUMER:
          connection_type = "messaging_system";
          [[fallthrough]];
        case trace::Span::SPAN_KIND_SERVER:
          client_side = false;
          break;
        default:
          continue;  // not part of an edge
      }
      if (!span.valid) continue;
      span_attributes.Reset(span);
      const std::string_view side_id = client_side ? span.span_id : span.parent_span_id;
      EdgeKey key;
      const size_t trace_size = std::min<size_t>(span.trace_id.size(), 16);
      std::copy_n(span.trace_id.data(), trace_size, key.bytes.data());
      std::copy_n(side_id.data(), std::min<size_t>(side_id.size(), 8), key.bytes.data() + 16);
      key.has_span_id = !side_id.empty();
      const double seconds =
          static_cast<double>(span.end_time_unix_nano - span.start_time_unix_nano) / 1e9;

      // The service names this span gives the edge, read in place: copied into the edge only
      // when it has to wait for its other side.
      const common::AnyValue* seen_client = nullptr;
      const common::AnyValue* seen_server = nullptr;
      auto update = [&](Edge& e) {
        e.connection_type = connection_type;
        e.failed = e.failed || span.status_code == trace::Status::STATUS_CODE_ERROR;
        const char* prefix = client_side ? "client_" : "server_";
        for (size_t i = 0; i < peer_keys; ++i) {
          if (const auto* v = first_match(i, i + 1)) e.dimensions[prefix + keys[i]] = *v;
        }
        if (!client_side) {
          seen_server = &service;
          e.server_seconds = seconds;
          return;
        }
        seen_client = &service;
        e.client_seconds = seconds;
        // Of the peer values of every client span seen for the edge, the one earliest in
        // virtual_node_peer_attributes wins (the latest value for the same attribute).
        const auto& peer_attrs = options_.virtual_node_peer_attributes;
        for (int i = 0; i < static_cast<int>(peer_attrs.size()); ++i) {
          if (const auto* v = span_attributes.Find(peer_keys + i)) {
            if (e.peer_index < 0 || i <= e.peer_index) {
              e.peer_index = i;
              e.peer = *v;
            }
            break;
          }
        }
        // A database call has no server span to wait for.
        if (const auto* db = first_match(database_keys, keys.size())) {
          e.connection_type = "database";
          seen_server = db;
          e.server_seconds = seconds;
        }
      };

      // The edge is built in place: one that completes at once or does not fit is erased.
      const size_t stored = edges_.size();
      auto [it, inserted] = edges_.try_emplace(key);
      Edge& e = it->second;
      if (inserted) e.expire_at_ns = now_ns + options_.wait_ns;
      update(e);
      const common::AnyValue& client = seen_client != nullptr ? *seen_client : e.client;
      const common::AnyValue& server = seen_server != nullptr ? *seen_server : e.server;
      if (Known(client) && Known(server)) {
        if (!Complete(e, client, server)) ++stats.series_dropped;
        edges_.erase(it);
        continue;
      }
      if (seen_client != nullptr) e.client = *seen_client;
      if (seen_server != nullptr) e.server = *seen_server;
      if (!inserted) continue;
      if (stored >= options_.max_items) {
        ++stats.dropped_spans;
        static const std::string dropped_total(kDroppedTotal);  // every span refused
        CountSide(dropped_total, e);
        edges_.erase(it);
        continue;
      }
      e.seq = next_seq_++;
      order_.push_back({key, e.seq});
    }
  }
  // Entries of completed edges leave order_ when they reach its front; if the front waits
  // long, drop them here so that order_ stays within a few times the store.
  if (order_.size() > 4 * (edges_.size() + 64)) {
    std::erase_if(order_, [&](const Pending& p) {
      auto it = edges_.find(p.key);
      return it == edges_.end() || it->second.seq != p.seq;
    });
  }
  return stats;
}

ServiceGraphStats ServiceGraphAggregator::Expire(int64_t now_ns) {
  ServiceGraphStats stats;
  table_.set_now(now_ns);
  while (!order_.empty()) {
    const Pending& p = order_.front();
    auto it = edges_.find(p.key);
    if (it == edges_.end() || it->second.seq != p.seq) {  // completed since
      order_.pop_front();
      continue;
    }
    if (it->second.expire_at_ns > now_ns) break;
    ExpireOne(it->second, stats, !p.key.has_span_id);
    edges_.erase(it);
    order_.pop_front();
  }
  constexpr int64_t kSweepIntervalNs = 60'000'000'000;
  if (options_.series_idle_ns > 0 && now_ns - last_idle_sweep_ns_ >= kSweepIntervalNs) {
    last_idle_sweep_ns_ = now_ns;
    stats.series_removed =
        static_cast<int64_t>(table_.RemoveIdle(now_ns - options_.series_idle_ns));
  }
  return stats;
}

void ServiceGraphAggregator::ExpireOne(Edge& e, ServiceGraphStats& stats, bool root) {
  ++stats.expired_edges;
  static const std::string unpaired_total(kUnpairedTotal);
  CountSide(unpaired_total, e);
  if (options_.virtual_node_peer_attributes.empty()) return;
  e.connection_type = "virtual_node";
  if (!Known(e.client) && root) {
    e.client = StringValue("user");
    if (!Complete(e, e.client, e.server)) ++stats.series_dropped;
  }
  if (!Known(e.server)) {
    e.server = e.peer_index >= 0 ? e.peer : StringValue("unknown");
    if (!Complete(e, e.client, e.server)) ++stats.series_dropped;
  }
}

void ServiceGraphAggregator::CountSide(const std::string& metric, const Edge& e) {
  // Only the side that was seen: Prometheus would drop an empty label anyway. Every span
  // refused while the store is full comes here: the key is built once, as in Complete().
  const bool client = Known(e.client);
  const bool server = Known(e.server);
  memo_.assign("side:");  // apart from Complete()'s memos
  AppendValueMemo(memo_, client ? &e.client : nullptr);
  AppendValueMemo(memo_, server ? &e.server : nullptr);
  AppendMemo(memo_, e.connection_type);
  const SeriesKey* key = series_keys_.Find(memo_);
  if (key == nullptr) {
    common::KeyValueList attrs;
    if (client) PutAttribute(attrs, "client", e.client);
    if (server) PutAttribute(attrs, "server", e.server);
    PutAttribute(attrs, "connection_type", StringValue(std::string(e.connection_type)));
    key = &series_keys_.Insert(memo_, SeriesKey({}, attrs));
  }
  // Refused only at the series bound, which Complete() already counts for edges; these
  // counters are diagnostics, so a refusal here is not counted again.
  (void)table_.AddCounter(metric, *key, 1);
}

bool ServiceGraphAggregator::Complete(const Edge& e, const common::AnyValue& client,
                                      const common::AnyValue& server) {
  // Edges recur: their series key is built once. The memo holds every part of the key.
  memo_.assign("edge:");
  AppendValueMemo(memo_, &client);
  AppendValueMemo(memo_, &server);
  AppendMemo(memo_, e.connection_type);
  memo_ += e.failed ? 'f' : 'o';
  for (const auto& [name, value] : e.dimensions) {
    AppendMemo(memo_, name);
    AppendValueMemo(memo_, &value);
  }
  const SeriesKey* cached = series_keys_.Find(memo_);
  if (cached == nullptr) {
    common::KeyValueList attrs;
    PutAttribute(attrs, "client", client);
    PutAttribute(attrs, "server", server);
    PutAttribute(attrs, "connection_type", StringValue(std::string(e.connection_type)));
    common::AnyValue failed;
    failed.set_bool_value(e.failed);
    PutAttribute(attrs, "failed", failed);
    for (const auto& [name, value] : e.dimensions) PutAttribute(attrs, name, value);
    cached = &series_keys_.Insert(memo_, SeriesKey({}, attrs));
  }
  const SeriesKey& key = *cached;
  // Built once: the names are longer than a string holds without allocating.
  static const std::string total(kRequestTotal);
  static const std::string failed_total(kRequestFailedTotal);
  static const std::string server_seconds(kServerSeconds);
  static const std::string client_seconds(kClientSeconds);
  // Two histograms and the two counters, reserved together so that an edge is recorded
  // everywhere or nowhere.
  if (!table_.Contains(total, key) && !table_.Fits(2 * (bounds_.size() + 3) + 2)) {
    return false;
  }
  if (!table_.AddCounter(total, key, 1)) return false;  // a value over the length limit
  if (e.failed) table_.AddCounter(failed_total, key, 1);
  table_.Observe(server_seconds, key, bounds_, e.server_seconds);
  table_.Observe(client_seconds, key, bounds_, e.client_seconds);
  return true;
}

void ServiceGraphAggregator::AppendTo(
    int64_t time_ns,
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const {
  table_.AppendTo(time_ns, kScopeName, out);
}

}  // namespace oriel::pipeline::spanmetrics
