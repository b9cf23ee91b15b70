// Fuzzes the decoding of trace segment blocks (read back from disk, so untrusted): the sectioned
// frame and the block body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tracestore/segment.h"
#include "tracestore/segment_block.h"
#include "tracestore/span_match.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)oriel::tracestore::DecodeBlock(body);
  // A search's filter, which reads the attributes before a span is materialized.
  oriel::tracestore::TraceQuery query;
  query.service = "s";
  query.tags = {{"k", "v"}, {"error", "true"}};
  const oriel::tracestore::SpanFilter filter = [&](const oriel::tracestore::SpanColumns& c) {
    return oriel::tracestore::SpanColumnsMayMatchTags(query, c);
  };
  (void)oriel::tracestore::DecodeBlock(body, std::nullopt, &filter);
  // Lookups: of an id the input names, and of one after every id (the last trace group).
  if (size >= 16) (void)oriel::tracestore::DecodeBlock(body, body.substr(0, 16));
  (void)oriel::tracestore::DecodeBlock(body, std::string(16, '\xff'));
  auto decompressed = oriel::tracestore::DecompressBlock(body, 1 << 24);
  if (decompressed.ok()) {
    (void)oriel::tracestore::DecodeBlock(*decompressed);
    (void)oriel::tracestore::DecodeBlock(*decompressed, std::nullopt, &filter);
  }
  return 0;
}
