// The application's logs as a Loki push request (logproto.PushRequest, snappy-compressed, as
// promtail sends it): one stream per service and level, logfmt lines, and the trace and span ids
// as structured metadata.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "loadgen/trace_generator.h"
#include "loki/push.pb.h"

namespace oriel::loadgen {

// Entries are in time order within each stream; streams are sorted by their labels.
logproto::PushRequest BuildLokiPush(const TraceGenerator& generator,
                                    std::span<const GeneratedTrace> traces);

int64_t CountLokiEntries(const logproto::PushRequest& request);

// Lowercase hex of bytes (trace and span ids).
std::string Hex(std::string_view bytes);

// The snappy-compressed body and its headers ("Name: value").
struct LokiBody {
  std::string body;
  std::vector<std::string> headers;
};
LokiBody EncodeLokiPush(const logproto::PushRequest& request);

}  // namespace oriel::loadgen
