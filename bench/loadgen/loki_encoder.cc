#include "loadgen/loki_encoder.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "fmt/format.h"
#include "net/compression.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"

namespace oriel::loadgen {
namespace {

namespace otrace = opentelemetry::proto::trace::v1;

struct Entry {
  uint64_t time_ns;
  std::string line;
  std::string trace_id;
  std::string span_id;
};

}  // namespace

std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

logproto::PushRequest BuildLokiPush(const TraceGenerator& generator,
                                    std::span<const GeneratedTrace> traces) {
  // Keyed by the stream's label string, which sorts like its labels.
  std::map<std::string, std::vector<Entry>> streams;
  for (const GeneratedTrace& trace : traces) {
    for (size_t i = 0; i < trace.spans.size(); ++i) {
      const GeneratedSpan& g = trace.spans[i];
      const otrace::Span& span = g.span;
      const bool failed_here = static_cast<int>(i) == trace.error_span;
      const bool entry = span.kind() == otrace::Span::SPAN_KIND_SERVER ||
                         span.kind() == otrace::Span::SPAN_KIND_CONSUMER;
      if (!entry && !failed_here) continue;
      const bool error = span.status().code() == otrace::Status::STATUS_CODE_ERROR;
      const char* level = failed_here ? "error" : error ? "warn" : "info";
      const std::string labels =
          fmt::format("{{level=\"{}\", namespace=\"shop\", service_name=\"{}\"}}", level,
                      generator.ServiceOf(g.resource));
      const int64_t duration_ms =
          static_cast<int64_t>(span.end_time_unix_nano() - span.start_time_unix_nano()) / 1'000'000;
      std::string line;
      if (failed_here) {
        line = fmt::format("level=error msg=\"{} failed\" error=\"{}\" duration_ms={}", span.name(),
                           span.status().message(), duration_ms);
      } else {
        line = fmt::format("level={} msg=\"{} completed\" status={} duration_ms={}", level,
                           span.name(), error ? "error" : "ok", duration_ms);
      }
      streams[labels].push_back(
          {span.end_time_unix_nano(), std::move(line), span.trace_id(), span.span_id()});
    }
  }
  logproto::PushRequest request;
  for (auto& [labels, entries] : streams) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.time_ns < b.time_ns; });
    logproto::StreamAdapter* stream = request.add_streams();
    stream->set_labels(labels);
    for (const Entry& e : entries) {
      logproto::EntryAdapter* out = stream->add_entries();
      out->mutable_timestamp()->set_seconds(static_cast<int64_t>(e.time_ns / 1'000'000'000));
      out->mutable_timestamp()->set_nanos(static_cast<int32_t>(e.time_ns % 1'000'000'000));
      out->set_line(e.line);
      logproto::LabelPairAdapter* trace_id = out->add_structuredmetadata();
      trace_id->set_name("trace_id");
      trace_id->set_value(Hex(e.trace_id));
      logproto::LabelPairAdapter* span_id = out->add_structuredmetadata();
      span_id->set_name("span_id");
      span_id->set_value(Hex(e.span_id));
    }
  }
  return request;
}

int64_t CountLokiEntries(const logproto::PushRequest& request) {
  int64_t n = 0;
  for (const auto& s : request.streams()) n += s.entries_size();
  return n;
}

LokiBody EncodeLokiPush(const logproto::PushRequest& request) {
  // Loki snappy-decodes every protobuf push; promtail sends no Content-Encoding for it.
  return {net::SnappyEncode(request.SerializeAsString()),
          {"Content-Type: application/x-protobuf", "User-Agent: oriel-loadgen"}};
}

}  // namespace oriel::loadgen
