// Encodes a slice of a NodeSeriesSet at one timestamp as a Prometheus remote_write request,
// version 1.0 (prometheus.WriteRequest) or 2.0 (io.prometheus.write.v2.Request), and wraps it in
// the snappy block format with the headers the specification requires.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/prometheus/write/v2/types.pb.h"
#include "loadgen/node_series.h"
#include "prometheus/remote.pb.h"

namespace oriel::loadgen {

// Series [begin, end) of `set`, one sample each at `timestamp_ms`, labels sorted by name.
// REQUIRES: begin <= end <= set.size().
prometheus::WriteRequest BuildWriteRequestV1(const NodeSeriesSet& set, size_t begin, size_t end,
                                             int64_t timestamp_ms);

// The same in 2.0: a symbol table whose entry 0 is "" (as the spec requires), label refs in
// name/value pairs, and each series' metric type in its metadata.
io::prometheus::write::v2::Request BuildWriteRequestV2(const NodeSeriesSet& set, size_t begin,
                                                       size_t end, int64_t timestamp_ms);

// A body ready to POST: snappy-compressed serialized message and its headers ("Name: value").
struct RemoteWriteBody {
  std::string body;
  std::vector<std::string> headers;
};
RemoteWriteBody EncodeRemoteWrite(const prometheus::WriteRequest& request);
RemoteWriteBody EncodeRemoteWrite(const io::prometheus::write::v2::Request& request);

}  // namespace oriel::loadgen
