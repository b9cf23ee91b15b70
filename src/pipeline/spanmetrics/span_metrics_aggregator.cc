#include "pipeline/spanmetrics/span_metrics_aggregator.h"

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "pipeline/spanmetrics/attributes.h"
#include "pipeline/spanmetrics/span_attributes.h"

namespace oriel::pipeline::spanmetrics {
namespace {

namespace trace = opentelemetry::proto::trace::v1;
namespace common = opentelemetry::proto::common::v1;

constexpr std::string_view kScopeName = "spanmetricsconnector";
// Resource attributes kept: those Prometheus makes `job` and `instance` of.
constexpr std::string_view kIdentifying[] = {"service.name", "service.namespace",
                                             "service.instance.id"};

std::string SpanKindString(int kind) {
  switch (kind) {
    case trace::Span::SPAN_KIND_UNSPECIFIED:
      return "SPAN_KIND_UNSPECIFIED";
    case trace::Span::SPAN_KIND_INTERNAL:
      return "SPAN_KIND_INTERNAL";
    case trace::Span::SPAN_KIND_SERVER:
      return "SPAN_KIND_SERVER";
    case trace::Span::SPAN_KIND_CLIENT:
      return "SPAN_KIND_CLIENT";
    case trace::Span::SPAN_KIND_PRODUCER:
      return "SPAN_KIND_PRODUCER";
    case trace::Span::SPAN_KIND_CONSUMER:
      return "SPAN_KIND_CONSUMER";
    default:
      return "";  // as traceutil.SpanKindStr: an unknown kind gives an empty (absent) label
  }
}

std::string StatusCodeString(int code) {
  switch (code) {
    case trace::Status::STATUS_CODE_UNSET:
      return "STATUS_CODE_UNSET";
    case trace::Status::STATUS_CODE_OK:
      return "STATUS_CODE_OK";
    case trace::Status::STATUS_CODE_ERROR:
      return "STATUS_CODE_ERROR";
    default:
      return "";
  }
}

}  // namespace

const std::vector<double>& DefaultSpanMetricsBucketsMs() {
  static const std::vector<double> kBuckets = {2,   4,   6,    8,    10,   50,   100,   200,
                                               400, 800, 1000, 1400, 2000, 5000, 10000, 15000};
  return kBuckets;
}

SpanMetricsAggregator::SpanMetricsAggregator(SpanMetricsOptions options)
    : options_(std::move(options)),
      calls_name_(options_.metrics_namespace.empty() ? "calls"
                                                     : options_.metrics_namespace + ".calls"),
      duration_name_(options_.metrics_namespace.empty() ? "duration"
                                                        : options_.metrics_namespace + ".duration"),
      table_(options_.max_series, options_.max_label_value_length),
      series_keys_(options_.max_series) {
  bounds_ = options_.buckets;
  if (bounds_.empty()) {
    bounds_ = DefaultSpanMetricsBucketsMs();
    if (options_.unit == DurationUnit::kSeconds) {
      for (double& b : bounds_) b /= 1000;
    }
  }
  table_.SetUnit(calls_name_, "");
  table_.SetUnit(duration_name_, options_.unit == DurationUnit::kSeconds ? "s" : "ms");
}

int64_t SpanMetricsAggregator::Consume(const std::vector<trace::ResourceSpans>& resource_spans,
                                       int64_t now_ns) {
  std::vector<const trace::ResourceSpans*> pointers;
  pointers.reserve(resource_spans.size());
  for (const trace::ResourceSpans& rs : resource_spans) pointers.push_back(&rs);
  return Consume(pointers, now_ns);
}

int64_t SpanMetricsAggregator::Consume(std::span<const trace::ResourceSpans* const> resource_spans,
                                       int64_t now_ns) {
  google::protobuf::Arena arena;
  return ConsumeInputs(InputsOf(resource_spans), now_ns, arena);
}

int64_t SpanMetricsAggregator::ConsumeEncoded(
    std::span<const tracestore::EncodedResourceSpans> read, int64_t now_ns) {
  google::protobuf::Arena arena;
  return ConsumeInputs(InputsOf(read, arena), now_ns, arena);
}

int64_t SpanMetricsAggregator::ConsumeInputs(std::span<const ResourceInput> inputs, int64_t now_ns,
                                             google::protobuf::Arena& arena) {
  const double divider = options_.unit == DurationUnit::kSeconds ? 1e9 : 1e6;
  table_.set_now(now_ns);
  int64_t dropped = 0;
  std::vector<std::string> dimension_keys;
  for (const Dimension& d : options_.dimensions) dimension_keys.push_back(d.name);
  SpanAttributes span_attributes(arena, std::move(dimension_keys));
  for (const ResourceInput& in : inputs) {
    const Attributes& resource_attrs = in.resource->attributes();
    const common::AnyValue* service = FindAttribute(resource_attrs, "service.name");
    if (service == nullptr) continue;
    common::KeyValueList resource;
    for (std::string_view key : kIdentifying) {
      if (const common::AnyValue* v = FindAttribute(resource_attrs, key))
        PutAttribute(resource, std::string(key), *v);
    }
    // What the series keys of this resource's spans are made of besides their memo.
    std::string cache_key;
    AppendMemo(cache_key, resource.SerializeAsString());
    const size_t cache_prefix = cache_key.size();
    // Spans of one resource with the same series are recorded together: building and
    // serializing a series key costs more than the rest of a span's work. `memo` identifies a
    // series by what its attributes are made of, in the order they are looked up, so that the
    // groups (and so the series created) come in the order of their first span.
    // The durations of a resource's spans go in one vector, by group once all are seen (one
    // vector per group cost several allocations each).
    struct Group {
      SeriesKey key;
      size_t spans = 0;
      size_t offset = 0;  // of its durations in `by_group`
    };
    std::vector<Group> groups;
    std::vector<std::pair<size_t, double>> durations;  // group, duration; in span order
    durations.reserve(in.spans.size());
    absl::flat_hash_map<std::string, size_t> group_of;
    std::string memo;
    std::vector<const common::AnyValue*> dims(options_.dimensions.size());
    for (const SpanInput& span : in.spans) {
      if (!span.valid) continue;
      span_attributes.Reset(span);
      memo.clear();
      AppendMemo(memo, span.name);
      // Both in one fixed-width part, as they are.
      AppendFixedMemo(memo, static_cast<uint64_t>(static_cast<uint32_t>(span.kind)) << 32 |
                                static_cast<uint32_t>(span.status_code));
      for (size_t i = 0; i < options_.dimensions.size(); ++i) {
        const Dimension& d = options_.dimensions[i];
        const common::AnyValue* v = span_attributes.Find(i);
        if (v == nullptr) v = FindAttribute(resource_attrs, d.name);
        dims[i] = v;
        AppendValueMemo(memo, v);
      }
      double duration = 0;
      if (span.end_time_unix_nano > span.start_time_unix_nano) {
        duration =
            static_cast<double>(span.end_time_unix_nano - span.start_time_unix_nano) / divider;
      }
      auto [it, inserted] = group_of.try_emplace(memo, groups.size());
      if (inserted) {
        // Series recur from request to request: their keys are built once.
        cache_key.resize(cache_prefix);
        cache_key += memo;
        if (const SeriesKey* cached = series_keys_.Find(cache_key)) {
          groups.push_back(Group{.key = *cached});
          ++groups.back().spans;
          durations.emplace_back(it->second, duration);
          continue;
        }
        common::KeyValueList attrs;
        PutAttribute(attrs, "service.name", *service);
        PutAttribute(attrs, "span.name", StringValue(std::string(span.name)));
        PutAttribute(attrs, "span.kind", StringValue(SpanKindString(span.kind)));
        PutAttribute(attrs, "status.code", StringValue(StatusCodeString(span.status_code)));
        for (size_t i = 0; i < options_.dimensions.size(); ++i) {
          const Dimension& d = options_.dimensions[i];
          if (dims[i] != nullptr) {
            PutAttribute(attrs, d.name, *dims[i]);
          } else if (d.default_value.has_value()) {
            PutAttribute(attrs, d.name, StringValue(*d.default_value));
          }
        }
        groups.push_back(Group{.key = SeriesKey(resource, attrs)});
        series_keys_.Insert(cache_key, groups.back().key);
      }
      ++groups[it->second].spans;
      durations.emplace_back(it->second, duration);
    }
    // Stable, so that each group's durations are summed in span order.
    size_t offset = 0;
    for (Group& g : groups) {
      g.offset = offset;
      offset += g.spans;
    }
    std::vector<double> by_group(durations.size());
    std::vector<size_t> next(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) next[i] = groups[i].offset;
    for (const auto& [group, duration] : durations) by_group[next[group]++] = duration;
    for (const Group& g : groups) {
      const auto spans = static_cast<int64_t>(g.spans);
      const std::span<const double> values(by_group.data() + g.offset, g.spans);
      // A span is counted in both metrics or in neither; every span of a group alike.
      if (!table_.Contains(calls_name_, g.key) && !table_.Fits(bounds_.size() + 4)) {
        dropped += spans;
        continue;
      }
      if (!table_.Observe(duration_name_, g.key, bounds_, values)) {
        dropped += spans;  // a value over the length limit
        continue;
      }
      table_.AddCounter(calls_name_, g.key, spans);
    }
  }
  return dropped;
}

void SpanMetricsAggregator::AppendTo(
    int64_t time_ns,
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& out) const {
  table_.AppendTo(time_ns, kScopeName, out);
}

}  // namespace oriel::pipeline::spanmetrics
