#include "loadgen/remote_write_encoder.h"

#include "absl/container/flat_hash_map.h"
#include "base/check.h"
#include "net/compression.h"

namespace oriel::loadgen {

namespace v2 = io::prometheus::write::v2;

prometheus::WriteRequest BuildWriteRequestV1(const NodeSeriesSet& set, size_t begin, size_t end,
                                             int64_t timestamp_ms) {
  ORIEL_CHECK(begin <= end && end <= set.size());
  prometheus::WriteRequest request;
  request.mutable_timeseries()->Reserve(static_cast<int>(end - begin));
  for (size_t i = begin; i < end; ++i) {
    prometheus::TimeSeries* ts = request.add_timeseries();
    for (const LabelRef& ref : set.Labels(i)) {
      prometheus::Label* label = ts->add_labels();
      label->set_name(set.Symbol(ref.name));
      label->set_value(set.Symbol(ref.value));
    }
    prometheus::Sample* sample = ts->add_samples();
    sample->set_value(set.Value(i));
    sample->set_timestamp(timestamp_ms);
  }
  return request;
}

v2::Request BuildWriteRequestV2(const NodeSeriesSet& set, size_t begin, size_t end,
                                int64_t timestamp_ms) {
  ORIEL_CHECK(begin <= end && end <= set.size());
  v2::Request request;
  request.add_symbols("");
  absl::flat_hash_map<uint32_t, uint32_t> refs;  // set's symbol id -> this request's ref
  auto ref_of = [&](uint32_t id) {
    auto [it, inserted] = refs.try_emplace(id, request.symbols_size());
    if (inserted) request.add_symbols(set.Symbol(id));
    return it->second;
  };
  for (size_t i = begin; i < end; ++i) {
    v2::TimeSeries* ts = request.add_timeseries();
    for (const LabelRef& ref : set.Labels(i)) {
      ts->add_labels_refs(ref_of(ref.name));
      ts->add_labels_refs(ref_of(ref.value));
    }
    v2::Sample* sample = ts->add_samples();
    sample->set_value(set.Value(i));
    sample->set_timestamp(timestamp_ms);
    v2::Metadata::MetricType type = v2::Metadata::METRIC_TYPE_GAUGE;
    switch (set.Kind(i)) {
      case SeriesKind::kCounter:
        type = v2::Metadata::METRIC_TYPE_COUNTER;
        break;
      case SeriesKind::kGauge:
        break;
      case SeriesKind::kHistogramBucket:
      case SeriesKind::kHistogramSum:
      case SeriesKind::kHistogramCount:
        type = v2::Metadata::METRIC_TYPE_HISTOGRAM;
        break;
    }
    ts->mutable_metadata()->set_type(type);
  }
  return request;
}

RemoteWriteBody EncodeRemoteWrite(const prometheus::WriteRequest& request) {
  return {net::SnappyEncode(request.SerializeAsString()),
          {"Content-Type: application/x-protobuf", "Content-Encoding: snappy",
           "X-Prometheus-Remote-Write-Version: 0.1.0", "User-Agent: oriel-loadgen"}};
}

RemoteWriteBody EncodeRemoteWrite(const v2::Request& request) {
  return {net::SnappyEncode(request.SerializeAsString()),
          {"Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request",
           "Content-Encoding: snappy", "X-Prometheus-Remote-Write-Version: 2.0.0",
           "User-Agent: oriel-loadgen"}};
}

}  // namespace oriel::loadgen
