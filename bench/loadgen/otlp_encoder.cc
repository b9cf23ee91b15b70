#include "loadgen/otlp_encoder.h"

#include <map>

#include "fmt/format.h"

namespace oriel::loadgen {
namespace {

namespace ocoll_trace = opentelemetry::proto::collector::trace::v1;
namespace ocoll_logs = opentelemetry::proto::collector::logs::v1;
namespace otrace = opentelemetry::proto::trace::v1;
namespace ologs = opentelemetry::proto::logs::v1;
namespace ocommon = opentelemetry::proto::common::v1;

const char* ScopeOf(const otrace::Span& span) {
  switch (span.kind()) {
    case otrace::Span::SPAN_KIND_SERVER:
    case otrace::Span::SPAN_KIND_CLIENT:
      return "io.opentelemetry.grpc-1.6";
    case otrace::Span::SPAN_KIND_PRODUCER:
    case otrace::Span::SPAN_KIND_CONSUMER:
      return "io.opentelemetry.kafka-clients-2.6";
    default:
      return "shop.app";
  }
}

const ocommon::AnyValue* Attribute(const google::protobuf::RepeatedPtrField<ocommon::KeyValue>& kvs,
                                   std::string_view key) {
  for (const auto& kv : kvs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

}  // namespace

ocoll_trace::ExportTraceServiceRequest BuildTraceRequest(const TraceGenerator& generator,
                                                         std::span<const GeneratedTrace> traces) {
  ocoll_trace::ExportTraceServiceRequest request;
  std::map<int, otrace::ResourceSpans*> by_resource;
  std::map<std::pair<int, std::string>, otrace::ScopeSpans*> by_scope;
  for (const GeneratedTrace& trace : traces) {
    for (const GeneratedSpan& g : trace.spans) {
      otrace::ResourceSpans*& rs = by_resource[g.resource];
      if (rs == nullptr) {
        rs = request.add_resource_spans();
        *rs->mutable_resource() = generator.resources()[g.resource];
        rs->set_schema_url("https://opentelemetry.io/schemas/1.24.0");
      }
      const char* scope = ScopeOf(g.span);
      otrace::ScopeSpans*& ss = by_scope[{g.resource, scope}];
      if (ss == nullptr) {
        ss = rs->add_scope_spans();
        ss->mutable_scope()->set_name(scope);
        ss->mutable_scope()->set_version("1.32.0");
      }
      *ss->add_spans() = g.span;
    }
  }
  return request;
}

ocoll_logs::ExportLogsServiceRequest BuildLogsRequest(const TraceGenerator& generator,
                                                      std::span<const GeneratedTrace> traces) {
  ocoll_logs::ExportLogsServiceRequest request;
  std::map<int, ologs::ScopeLogs*> by_resource;
  for (const GeneratedTrace& trace : traces) {
    for (size_t i = 0; i < trace.spans.size(); ++i) {
      const GeneratedSpan& g = trace.spans[i];
      const otrace::Span& span = g.span;
      const bool failed_here = static_cast<int>(i) == trace.error_span;
      const bool entry = span.kind() == otrace::Span::SPAN_KIND_SERVER ||
                         span.kind() == otrace::Span::SPAN_KIND_CONSUMER;
      if (!entry && !failed_here) continue;
      ologs::ScopeLogs*& sl = by_resource[g.resource];
      if (sl == nullptr) {
        ologs::ResourceLogs* rl = request.add_resource_logs();
        *rl->mutable_resource() = generator.resources()[g.resource];
        sl = rl->add_scope_logs();
        sl->mutable_scope()->set_name("shop.logging");
      }
      ologs::LogRecord* record = sl->add_log_records();
      record->set_time_unix_nano(span.end_time_unix_nano());
      record->set_observed_time_unix_nano(span.end_time_unix_nano() + 1'000'000);
      record->set_trace_id(span.trace_id());
      record->set_span_id(span.span_id());
      record->set_flags(1);  // sampled
      const int64_t duration_ms =
          static_cast<int64_t>(span.end_time_unix_nano() - span.start_time_unix_nano()) / 1'000'000;
      auto add_string = [&](std::string_view key, std::string_view value) {
        ocommon::KeyValue* kv = record->add_attributes();
        kv->set_key(std::string(key));
        kv->mutable_value()->set_string_value(std::string(value));
      };
      if (failed_here) {
        record->set_severity_number(ologs::SEVERITY_NUMBER_ERROR);
        record->set_severity_text("ERROR");
        const auto& event = span.events(0);
        const ocommon::AnyValue* type = Attribute(event.attributes(), "exception.type");
        const ocommon::AnyValue* message = Attribute(event.attributes(), "exception.message");
        const ocommon::AnyValue* stack = Attribute(event.attributes(), "exception.stacktrace");
        record->mutable_body()->set_string_value(
            fmt::format("{} failed: {}", span.name(), message ? message->string_value() : ""));
        if (type) add_string("exception.type", type->string_value());
        if (message) add_string("exception.message", message->string_value());
        if (stack) add_string("exception.stacktrace", stack->string_value());
      } else {
        const bool error = span.status().code() == otrace::Status::STATUS_CODE_ERROR;
        record->set_severity_number(error ? ologs::SEVERITY_NUMBER_WARN
                                          : ologs::SEVERITY_NUMBER_INFO);
        record->set_severity_text(error ? "WARN" : "INFO");
        record->mutable_body()->set_string_value(
            fmt::format("{} completed status={} duration_ms={}", span.name(),
                        error ? "error" : "ok", duration_ms));
      }
      add_string("code.namespace", generator.ServiceOf(g.resource));
      ocommon::KeyValue* kv = record->add_attributes();
      kv->set_key("duration_ms");
      kv->mutable_value()->set_int_value(duration_ms);
    }
  }
  return request;
}

int64_t CountSpans(const ocoll_trace::ExportTraceServiceRequest& r) {
  int64_t n = 0;
  for (const auto& rs : r.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
  }
  return n;
}

int64_t CountLogRecords(const ocoll_logs::ExportLogsServiceRequest& r) {
  int64_t n = 0;
  for (const auto& rl : r.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) n += sl.log_records_size();
  }
  return n;
}

std::vector<std::string> OtlpProtobufHeaders() {
  return {"Content-Type: application/x-protobuf", "User-Agent: oriel-loadgen"};
}

}  // namespace oriel::loadgen
