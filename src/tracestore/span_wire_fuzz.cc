// Fuzzes the in-place reading of serialized spans against protobuf's parser: a span that protobuf
// parses and the store accepts must come out of a segment block encoded from its bytes equal to
// what protobuf parsed, and reading never crashes on any input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "tracestore/head_span.h"
#include "tracestore/segment_block.h"
#include "tracestore/span_validation.h"
#include "tracestore/span_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace oriel::tracestore;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  WireSpan wire;
  (void)ReadWireSpan(bytes, &wire);
  opentelemetry::proto::trace::v1::Span span;
  if (!span.ParseFromString(bytes) || !ValidateSpan(span).empty()) return 0;
  const HeadSpan head =
      MakeHeadSpan(MakeResourceEntry({}, ""), MakeScopeEntry({}, ""), span, bytes);
  const HeadSpan* spans[] = {&head};
  BlockEncoder encoder;
  encoder.AddTrace(span.trace_id(), spans);
  auto decoded = DecodeBlock(encoder.Finish());
  // What the block format keeps by design: no unknown fields of a KeyValue or the status, and
  // no status that says nothing.
  for (auto& kv : *span.mutable_attributes())
    kv.GetReflection()->MutableUnknownFields(&kv)->Clear();
  auto* status = span.mutable_status();
  status->GetReflection()->MutableUnknownFields(status)->Clear();
  if (status->code() == 0 && status->message().empty()) span.clear_status();
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);  // a NaN attribute is stored as it came
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  if (!decoded.ok() || decoded->size() != 1 || (*decoded)[0].spans.size() != 1 ||
      !differencer.Compare((*decoded)[0].spans[0].span, span)) {
    std::fprintf(stderr, "want:\n%s\ngot:\n%s\n", span.DebugString().c_str(),
                 decoded.ok() && decoded->size() == 1 && (*decoded)[0].spans.size() == 1
                     ? (*decoded)[0].spans[0].span.DebugString().c_str()
                     : decoded.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
