// Checks the wire contract of the hand-written .proto files: field numbers and types against the
// upstream specifications, exact serialized bytes computed by hand, gRPC method paths, and that
// the upstream OTLP/JSON examples parse into our request messages.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>

#include "io/prometheus/client/metrics.pb.h"
#include "io/prometheus/write/v2/types.pb.h"
#include "loki/push.pb.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "prometheus/remote.pb.h"

namespace {

namespace pb = google::protobuf;
namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_trace = opentelemetry::proto::trace::v1;
namespace otlp_metrics = opentelemetry::proto::metrics::v1;
namespace otlp_logs = opentelemetry::proto::logs::v1;
namespace otlp_resource = opentelemetry::proto::resource::v1;
namespace coll_trace = opentelemetry::proto::collector::trace::v1;
namespace coll_metrics = opentelemetry::proto::collector::metrics::v1;
namespace coll_logs = opentelemetry::proto::collector::logs::v1;
namespace writev2 = io::prometheus::write::v2;
namespace client = io::prometheus::client;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string Hex(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Asserts that `message` has field `name` with the given number and type.
void ExpectField(const pb::Descriptor* message, const std::string& name, int number,
                 pb::FieldDescriptor::Type type) {
  ASSERT_NE(message, nullptr);
  const pb::FieldDescriptor* field = message->FindFieldByName(name);
  ASSERT_NE(field, nullptr) << message->full_name() << "." << name << " is missing";
  EXPECT_EQ(field->number(), number) << message->full_name() << "." << name;
  EXPECT_EQ(field->type(), type) << message->full_name() << "." << name << " is "
                                 << field->type_name();
}

using T = pb::FieldDescriptor;

TEST(ProtoDescriptors, OtlpTrace) {
  const pb::Descriptor* span = otlp_trace::Span::descriptor();
  EXPECT_EQ(span->full_name(), "opentelemetry.proto.trace.v1.Span");
  ExpectField(span, "trace_id", 1, T::TYPE_BYTES);
  ExpectField(span, "span_id", 2, T::TYPE_BYTES);
  ExpectField(span, "parent_span_id", 4, T::TYPE_BYTES);
  ExpectField(span, "kind", 6, T::TYPE_ENUM);
  ExpectField(span, "start_time_unix_nano", 7, T::TYPE_FIXED64);
  ExpectField(span, "end_time_unix_nano", 8, T::TYPE_FIXED64);
  ExpectField(span, "status", 15, T::TYPE_MESSAGE);
  ExpectField(span, "flags", 16, T::TYPE_FIXED32);
  ExpectField(otlp_trace::Span::Link::descriptor(), "flags", 6, T::TYPE_FIXED32);
  ExpectField(otlp_trace::Span::Event::descriptor(), "time_unix_nano", 1, T::TYPE_FIXED64);
  ExpectField(otlp_trace::Status::descriptor(), "code", 3, T::TYPE_ENUM);
  EXPECT_EQ(otlp_trace::Span::SPAN_KIND_CONSUMER, 5);
  EXPECT_EQ(otlp_trace::SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK, 0x200);
  ExpectField(otlp_resource::Resource::descriptor(), "entity_refs", 3, T::TYPE_MESSAGE);
  ExpectField(otlp_common::AnyValue::descriptor(), "bytes_value", 7, T::TYPE_BYTES);
  ExpectField(otlp_common::InstrumentationScope::descriptor(), "dropped_attributes_count", 4,
              T::TYPE_UINT32);
}

TEST(ProtoDescriptors, OtlpLogs) {
  const pb::Descriptor* record = otlp_logs::LogRecord::descriptor();
  ExpectField(record, "time_unix_nano", 1, T::TYPE_FIXED64);
  ExpectField(record, "observed_time_unix_nano", 11, T::TYPE_FIXED64);
  ExpectField(record, "severity_number", 2, T::TYPE_ENUM);
  ExpectField(record, "body", 5, T::TYPE_MESSAGE);
  ExpectField(record, "flags", 8, T::TYPE_FIXED32);
  ExpectField(record, "trace_id", 9, T::TYPE_BYTES);
  ExpectField(record, "span_id", 10, T::TYPE_BYTES);
  ExpectField(record, "event_name", 12, T::TYPE_STRING);
  EXPECT_EQ(record->FindFieldByNumber(4), nullptr);  // reserved upstream
  EXPECT_EQ(otlp_logs::SEVERITY_NUMBER_FATAL4, 24);
}

TEST(ProtoDescriptors, OtlpMetrics) {
  const pb::Descriptor* metric = otlp_metrics::Metric::descriptor();
  ExpectField(metric, "gauge", 5, T::TYPE_MESSAGE);
  ExpectField(metric, "sum", 7, T::TYPE_MESSAGE);
  ExpectField(metric, "histogram", 9, T::TYPE_MESSAGE);
  ExpectField(metric, "exponential_histogram", 10, T::TYPE_MESSAGE);
  ExpectField(metric, "summary", 11, T::TYPE_MESSAGE);
  ExpectField(metric, "metadata", 12, T::TYPE_MESSAGE);
  const pb::Descriptor* number = otlp_metrics::NumberDataPoint::descriptor();
  ExpectField(number, "as_double", 4, T::TYPE_DOUBLE);
  ExpectField(number, "as_int", 6, T::TYPE_SFIXED64);
  ExpectField(number, "attributes", 7, T::TYPE_MESSAGE);
  ExpectField(number, "flags", 8, T::TYPE_UINT32);
  const pb::Descriptor* hist = otlp_metrics::HistogramDataPoint::descriptor();
  ExpectField(hist, "count", 4, T::TYPE_FIXED64);
  ExpectField(hist, "bucket_counts", 6, T::TYPE_FIXED64);
  ExpectField(hist, "attributes", 9, T::TYPE_MESSAGE);
  ExpectField(hist, "max", 12, T::TYPE_DOUBLE);
  EXPECT_TRUE(hist->FindFieldByName("sum")->has_presence());
  const pb::Descriptor* exp = otlp_metrics::ExponentialHistogramDataPoint::descriptor();
  ExpectField(exp, "scale", 6, T::TYPE_SINT32);
  ExpectField(exp, "zero_count", 7, T::TYPE_FIXED64);
  ExpectField(exp, "zero_threshold", 14, T::TYPE_DOUBLE);
  ExpectField(otlp_metrics::ExponentialHistogramDataPoint::Buckets::descriptor(), "offset", 1,
              T::TYPE_SINT32);
  ExpectField(otlp_metrics::ExponentialHistogramDataPoint::Buckets::descriptor(), "bucket_counts",
              2, T::TYPE_UINT64);
  ExpectField(otlp_metrics::SummaryDataPoint::descriptor(), "quantile_values", 6, T::TYPE_MESSAGE);
  ExpectField(otlp_metrics::Exemplar::descriptor(), "filtered_attributes", 7, T::TYPE_MESSAGE);
  ExpectField(otlp_metrics::Exemplar::descriptor(), "trace_id", 5, T::TYPE_BYTES);
}

TEST(ProtoDescriptors, PrometheusRemoteWrite2) {
  ExpectField(writev2::Request::descriptor(), "symbols", 4, T::TYPE_STRING);
  ExpectField(writev2::Request::descriptor(), "timeseries", 5, T::TYPE_MESSAGE);
  const pb::Descriptor* series = writev2::TimeSeries::descriptor();
  ExpectField(series, "labels_refs", 1, T::TYPE_UINT32);
  EXPECT_TRUE(series->FindFieldByName("labels_refs")->is_packed());
  ExpectField(series, "histograms", 3, T::TYPE_MESSAGE);
  ExpectField(series, "metadata", 5, T::TYPE_MESSAGE);
  ExpectField(series, "created_timestamp", 6, T::TYPE_INT64);
  ExpectField(writev2::Sample::descriptor(), "start_timestamp", 3, T::TYPE_INT64);
  ExpectField(writev2::Metadata::descriptor(), "help_ref", 3, T::TYPE_UINT32);
  ExpectField(writev2::Metadata::descriptor(), "unit_ref", 4, T::TYPE_UINT32);
  const pb::Descriptor* hist = writev2::Histogram::descriptor();
  ExpectField(hist, "count_int", 1, T::TYPE_UINT64);
  ExpectField(hist, "count_float", 2, T::TYPE_DOUBLE);
  ExpectField(hist, "schema", 4, T::TYPE_SINT32);
  ExpectField(hist, "zero_count_float", 7, T::TYPE_DOUBLE);
  ExpectField(hist, "negative_spans", 8, T::TYPE_MESSAGE);
  ExpectField(hist, "positive_deltas", 12, T::TYPE_SINT64);
  ExpectField(hist, "positive_counts", 13, T::TYPE_DOUBLE);
  ExpectField(hist, "reset_hint", 14, T::TYPE_ENUM);
  ExpectField(hist, "timestamp", 15, T::TYPE_INT64);
  ExpectField(hist, "custom_values", 16, T::TYPE_DOUBLE);
  ExpectField(hist, "start_timestamp", 17, T::TYPE_INT64);
  ExpectField(writev2::BucketSpan::descriptor(), "offset", 1, T::TYPE_SINT32);
  EXPECT_EQ(writev2::Metadata::METRIC_TYPE_STATESET, 7);
  EXPECT_EQ(writev2::Histogram::RESET_HINT_GAUGE, 3);
}

TEST(ProtoDescriptors, PrometheusRemoteWrite1AndRead) {
  ExpectField(prometheus::WriteRequest::descriptor(), "metadata", 3, T::TYPE_MESSAGE);
  ExpectField(prometheus::TimeSeries::descriptor(), "exemplars", 3, T::TYPE_MESSAGE);
  ExpectField(prometheus::TimeSeries::descriptor(), "histograms", 4, T::TYPE_MESSAGE);
  ExpectField(prometheus::MetricMetadata::descriptor(), "help", 4, T::TYPE_STRING);
  ExpectField(prometheus::MetricMetadata::descriptor(), "unit", 5, T::TYPE_STRING);
  ExpectField(prometheus::Histogram::descriptor(), "custom_values", 16, T::TYPE_DOUBLE);
  ExpectField(prometheus::ReadHints::descriptor(), "range_ms", 7, T::TYPE_INT64);
  ExpectField(prometheus::ReadRequest::descriptor(), "accepted_response_types", 2, T::TYPE_ENUM);
  ExpectField(prometheus::ChunkedReadResponse::descriptor(), "query_index", 2, T::TYPE_INT64);
  EXPECT_EQ(prometheus::Chunk::FLOAT_HISTOGRAM, 3);
  EXPECT_EQ(prometheus::ReadRequest::STREAMED_XOR_CHUNKS, 1);
  EXPECT_EQ(prometheus::MetricMetadata::GAUGEHISTOGRAM, 4);
}

TEST(ProtoDescriptors, LokiPush) {
  const pb::Descriptor* entry = logproto::EntryAdapter::descriptor();
  EXPECT_EQ(entry->full_name(), "logproto.EntryAdapter");
  ExpectField(entry, "timestamp", 1, T::TYPE_MESSAGE);
  EXPECT_EQ(entry->FindFieldByName("timestamp")->message_type()->full_name(),
            "google.protobuf.Timestamp");
  ExpectField(entry, "line", 2, T::TYPE_STRING);
  ExpectField(entry, "structuredMetadata", 3, T::TYPE_MESSAGE);
  EXPECT_EQ(entry->FindFieldByName("structuredMetadata")->json_name(), "structuredMetadata");
  ExpectField(logproto::StreamAdapter::descriptor(), "labels", 1, T::TYPE_STRING);
  ExpectField(logproto::StreamAdapter::descriptor(), "entries", 2, T::TYPE_MESSAGE);
  ExpectField(logproto::StreamAdapter::descriptor(), "hash", 3, T::TYPE_UINT64);
  ExpectField(logproto::PushRequest::descriptor(), "streams", 1, T::TYPE_MESSAGE);
}

TEST(ProtoDescriptors, ClientModel) {
  const pb::FileDescriptor* file = client::MetricFamily::descriptor()->file();
  EXPECT_EQ(file->syntax(), pb::FileDescriptor::SYNTAX_PROTO2);
  ExpectField(client::MetricFamily::descriptor(), "unit", 5, T::TYPE_STRING);
  ExpectField(client::Metric::descriptor(), "histogram", 7, T::TYPE_MESSAGE);
  ExpectField(client::Metric::descriptor(), "timestamp_ms", 6, T::TYPE_INT64);
  ExpectField(client::Counter::descriptor(), "created_timestamp", 3, T::TYPE_MESSAGE);
  ExpectField(client::Summary::descriptor(), "created_timestamp", 4, T::TYPE_MESSAGE);
  const pb::Descriptor* hist = client::Histogram::descriptor();
  ExpectField(hist, "sample_count_float", 4, T::TYPE_DOUBLE);
  ExpectField(hist, "schema", 5, T::TYPE_SINT32);
  ExpectField(hist, "negative_span", 9, T::TYPE_MESSAGE);
  ExpectField(hist, "positive_delta", 13, T::TYPE_SINT64);
  ExpectField(hist, "created_timestamp", 15, T::TYPE_MESSAGE);
  ExpectField(hist, "exemplars", 16, T::TYPE_MESSAGE);
  ExpectField(client::Bucket::descriptor(), "cumulative_count_float", 4, T::TYPE_DOUBLE);
  EXPECT_EQ(client::GAUGE_HISTOGRAM, 5);
}

// The gRPC path is "/" + service full name + "/" + method name; clients hard-code it.
TEST(ProtoServices, ExportMethodPaths) {
  struct Case {
    const pb::ServiceDescriptor* service;
    const char* path;
    const char* request;
    const char* response;
  };
  const Case cases[] = {
      {coll_trace::ExportTraceServiceRequest::descriptor()->file()->service(0),
       "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
       "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
       "opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse"},
      {coll_metrics::ExportMetricsServiceRequest::descriptor()->file()->service(0),
       "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
       "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
       "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse"},
      {coll_logs::ExportLogsServiceRequest::descriptor()->file()->service(0),
       "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
       "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
       "opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse"},
  };
  for (const Case& c : cases) {
    ASSERT_NE(c.service, nullptr);
    ASSERT_EQ(c.service->method_count(), 1);
    const pb::MethodDescriptor* method = c.service->method(0);
    EXPECT_EQ("/" + c.service->full_name() + "/" + method->name(), c.path);
    EXPECT_EQ(method->input_type()->full_name(), c.request);
    EXPECT_EQ(method->output_type()->full_name(), c.response);
    EXPECT_FALSE(method->client_streaming());
    EXPECT_FALSE(method->server_streaming());
    // The same lookup through the pool that gRPC reflection and JSON transcoding use.
    EXPECT_EQ(pb::DescriptorPool::generated_pool()->FindMethodByName(method->full_name()), method);
  }
  ExpectField(coll_trace::ExportTracePartialSuccess::descriptor(), "rejected_spans", 1,
              T::TYPE_INT64);
  ExpectField(coll_metrics::ExportMetricsPartialSuccess::descriptor(), "rejected_data_points", 1,
              T::TYPE_INT64);
  ExpectField(coll_logs::ExportLogsPartialSuccess::descriptor(), "rejected_log_records", 1,
              T::TYPE_INT64);
  ExpectField(coll_logs::ExportLogsPartialSuccess::descriptor(), "error_message", 2,
              T::TYPE_STRING);
}

class TraceSink final : public coll_trace::TraceService::Service {
  grpc::Status Export(grpc::ServerContext*, const coll_trace::ExportTraceServiceRequest* request,
                      coll_trace::ExportTraceServiceResponse* response) override {
    response->mutable_partial_success()->set_rejected_spans(request->resource_spans_size());
    return grpc::Status::OK;
  }
};

class MetricsSink final : public coll_metrics::MetricsService::Service {
  grpc::Status Export(grpc::ServerContext*,
                      const coll_metrics::ExportMetricsServiceRequest* request,
                      coll_metrics::ExportMetricsServiceResponse* response) override {
    response->mutable_partial_success()->set_rejected_data_points(request->resource_metrics_size());
    return grpc::Status::OK;
  }
};

class LogsSink final : public coll_logs::LogsService::Service {
  grpc::Status Export(grpc::ServerContext*, const coll_logs::ExportLogsServiceRequest* request,
                      coll_logs::ExportLogsServiceResponse* response) override {
    response->mutable_partial_success()->set_rejected_log_records(request->resource_logs_size());
    return grpc::Status::OK;
  }
};

// Calls `path` through a generic stub, so the literal path (not the generated client) reaches
// the server's generated method table.
template <typename Request, typename Response>
grpc::Status CallByPath(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                        const Request& request, Response* response) {
  grpc::TemplatedGenericStub<Request, Response> stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, path, grpc::StubOptions(), &request, response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST(ProtoServices, GeneratedServicesAnswerTheUpstreamPaths) {
  TraceSink traces;
  MetricsSink metrics;
  LogsSink logs;
  grpc::ServerBuilder builder;
  builder.RegisterService(&traces);
  builder.RegisterService(&metrics);
  builder.RegisterService(&logs);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel = server->InProcessChannel(grpc::ChannelArguments());

  coll_trace::ExportTraceServiceRequest trace_request;
  trace_request.add_resource_spans();
  trace_request.add_resource_spans();
  coll_trace::ExportTraceServiceResponse trace_response;
  grpc::Status status =
      CallByPath(channel, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                 trace_request, &trace_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trace_response.partial_success().rejected_spans(), 2);

  coll_metrics::ExportMetricsServiceRequest metrics_request;
  metrics_request.add_resource_metrics();
  coll_metrics::ExportMetricsServiceResponse metrics_response;
  status = CallByPath(channel, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                      metrics_request, &metrics_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(metrics_response.partial_success().rejected_data_points(), 1);

  coll_logs::ExportLogsServiceRequest logs_request;
  logs_request.add_resource_logs();
  logs_request.add_resource_logs();
  logs_request.add_resource_logs();
  coll_logs::ExportLogsServiceResponse logs_response;
  status = CallByPath(channel, "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                      logs_request, &logs_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(logs_response.partial_success().rejected_log_records(), 3);

  // A misspelt path is not routed to any of them.
  coll_logs::ExportLogsServiceResponse unused;
  status = CallByPath(channel, "/opentelemetry.proto.collector.logs.v1.LogService/Export",
                      logs_request, &unused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);

  server->Shutdown();
}

TEST(ProtoWire, RemoteWrite1RequestBytes) {
  prometheus::WriteRequest request;
  prometheus::TimeSeries* series = request.add_timeseries();
  prometheus::Label* name = series->add_labels();
  name->set_name("__name__");
  name->set_value("up");
  prometheus::Label* job = series->add_labels();
  job->set_name("job");
  job->set_value("api");
  prometheus::Sample* sample = series->add_samples();
  sample->set_value(1.0);
  sample->set_timestamp(1000);

  std::string expected;
  // WriteRequest.timeseries (1, length-delimited), 42 bytes.
  expected += Bytes({0x0A, 0x2A});
  //   TimeSeries.labels (1): Label{name (1) "__name__", value (2) "up"}, 14 bytes.
  expected += Bytes({0x0A, 0x0E, 0x0A, 0x08}) + "__name__" + Bytes({0x12, 0x02}) + "up";
  //   TimeSeries.labels (1): Label{"job", "api"}, 10 bytes.
  expected += Bytes({0x0A, 0x0A, 0x0A, 0x03}) + "job" + Bytes({0x12, 0x03}) + "api";
  //   TimeSeries.samples (2): Sample{value (1, fixed64) 1.0, timestamp (2, varint) 1000}.
  expected += Bytes({0x12, 0x0C, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F});
  expected += Bytes({0x10, 0xE8, 0x07});
  ASSERT_EQ(expected.size(), 44u);

  std::string actual;
  ASSERT_TRUE(request.SerializeToString(&actual));
  EXPECT_EQ(Hex(actual), Hex(expected));

  prometheus::WriteRequest decoded;
  ASSERT_TRUE(decoded.ParseFromString(expected));
  EXPECT_EQ(decoded.timeseries(0).labels(1).value(), "api");
  EXPECT_EQ(decoded.timeseries(0).samples(0).timestamp(), 1000);
}

TEST(ProtoWire, RemoteWrite2RequestBytes) {
  writev2::Request request;
  request.add_symbols("");
  request.add_symbols("__name__");
  request.add_symbols("up");
  writev2::TimeSeries* series = request.add_timeseries();
  series->add_labels_refs(1);
  series->add_labels_refs(2);
  writev2::Sample* sample = series->add_samples();
  sample->set_value(1.0);
  sample->set_timestamp(1000);

  std::string expected;
  // Request.symbols (4, length-delimited): "", "__name__", "up".
  expected += Bytes({0x22, 0x00, 0x22, 0x08}) + "__name__" + Bytes({0x22, 0x02}) + "up";
  // Request.timeseries (5), 18 bytes: labels_refs (1) packed [1, 2], samples (2) as in 1.0.
  expected += Bytes({0x2A, 0x12, 0x0A, 0x02, 0x01, 0x02});
  expected += Bytes({0x12, 0x0C, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F});
  expected += Bytes({0x10, 0xE8, 0x07});

  std::string actual;
  ASSERT_TRUE(request.SerializeToString(&actual));
  EXPECT_EQ(Hex(actual), Hex(expected));

  // A 1.0 body read with the 2.0 schema finds nothing: its fields 1-3 are reserved there.
  prometheus::WriteRequest v1;
  v1.add_timeseries()->add_labels()->set_name("x");
  writev2::Request misread;
  ASSERT_TRUE(misread.ParseFromString(v1.SerializeAsString()));
  EXPECT_EQ(misread.symbols_size(), 0);
  EXPECT_EQ(misread.timeseries_size(), 0);
}

TEST(ProtoWire, NativeHistogramSignedFields) {
  writev2::Histogram histogram;
  histogram.set_schema(-1);           // sint32 zigzag: 1
  histogram.add_positive_deltas(-2);  // sint64 zigzag: 3, packed
  // schema (4, varint), then positive_deltas (12, length-delimited).
  EXPECT_EQ(Hex(histogram.SerializeAsString()), Hex(Bytes({0x20, 0x01, 0x62, 0x01, 0x03})));
}

TEST(ProtoWire, OtlpPartialSuccessBytes) {
  coll_logs::ExportLogsServiceResponse response;
  response.mutable_partial_success()->set_rejected_log_records(2);
  response.mutable_partial_success()->set_error_message("bad");
  EXPECT_EQ(Hex(response.SerializeAsString()),
            Hex(Bytes({0x0A, 0x07, 0x08, 0x02, 0x12, 0x03}) + "bad"));
}

TEST(ProtoWire, OtlpFixedWidthFields) {
  otlp_trace::Span span;
  span.set_flags(0x301);
  span.set_start_time_unix_nano(1);
  // start_time_unix_nano (7, fixed64) precedes flags (16, fixed32) in field-number order.
  EXPECT_EQ(Hex(span.SerializeAsString()),
            Hex(Bytes({0x39, 1, 0, 0, 0, 0, 0, 0, 0, 0x85, 0x01, 0x01, 0x03, 0x00, 0x00})));
}

TEST(ProtoWire, ClientModelKeepsProto2Presence) {
  client::Counter counter;
  counter.set_value(0.0);  // set-but-zero must still be written in proto2
  EXPECT_EQ(Hex(counter.SerializeAsString()), Hex(Bytes({0x09, 0, 0, 0, 0, 0, 0, 0, 0})));
  client::Metric metric;
  EXPECT_FALSE(metric.has_timestamp_ms());
  metric.set_timestamp_ms(0);
  EXPECT_TRUE(metric.has_timestamp_ms());
}

TEST(ProtoWire, LokiEntryBytes) {
  logproto::EntryAdapter entry;
  entry.mutable_timestamp()->set_seconds(1);
  entry.set_line("hi");
  logproto::LabelPairAdapter* pair = entry.add_structuredmetadata();
  pair->set_name("a");
  pair->set_value("b");
  std::string expected = Bytes({0x0A, 0x02, 0x08, 0x01});  // timestamp {seconds: 1}
  expected += Bytes({0x12, 0x02}) + "hi";
  expected += Bytes({0x1A, 0x06, 0x0A, 0x01}) + "a" + Bytes({0x12, 0x01}) + "b";
  EXPECT_EQ(Hex(entry.SerializeAsString()), Hex(expected));
}

// OTLP/JSON encodes trace and span ids as hex, while the protobuf JSON mapping expects base64
// for bytes fields; rewrite them before parsing with the stock parser.
std::string Base64(const std::string& raw) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(raw[i]) << 16) |
                 (static_cast<unsigned char>(raw[i + 1]) << 8) |
                 static_cast<unsigned char>(raw[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == raw.size()) {
    uint32_t v = static_cast<unsigned char>(raw[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == raw.size()) {
    uint32_t v =
        (static_cast<unsigned char>(raw[i]) << 16) | (static_cast<unsigned char>(raw[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string HexIdsToBase64(const std::string& json) {
  static const std::regex kId(R"re("(traceId|spanId|parentSpanId)"(\s*):(\s*)"([0-9A-Fa-f]*)")re");
  std::string out;
  auto last = json.cbegin();
  for (std::sregex_iterator it(json.begin(), json.end(), kId), end; it != end; ++it) {
    const std::smatch& m = *it;
    out.append(last, m[0].first);
    std::string hex = m[4].str();
    std::string raw;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    out += "\"" + m[1].str() + "\"" + m[2].str() + ":" + m[3].str() + "\"" + Base64(raw) + "\"";
    last = m[0].second;
  }
  out.append(last, json.cend());
  return out;
}

class OtlpJsonExamples : public ::testing::Test {
 protected:
  // Reads $ORIEL_SHARED_DIR/peer-tests/otlp/<name>, with ids rewritten; empty when unavailable
  // (the caller skips).
  static std::string Load(const std::string& name, std::string* skip_reason) {
    const char* shared = std::getenv("ORIEL_SHARED_DIR");
    if (shared == nullptr || *shared == '\0') {
      *skip_reason = "ORIEL_SHARED_DIR is not set (ctest sets it)";
      return "";
    }
    std::filesystem::path path = std::filesystem::path(shared) / "peer-tests" / "otlp" / name;
    std::ifstream in(path);
    if (!in) {
      *skip_reason = "cannot open " + path.string();
      return "";
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    return HexIdsToBase64(buffer.str());
  }

  template <typename Message>
  static void Parse(const std::string& json, Message* message) {
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    auto status = pb::util::JsonStringToMessage(json, message, options);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
};

TEST_F(OtlpJsonExamples, Trace) {
  std::string skip;
  std::string json = Load("trace.json", &skip);
  if (json.empty()) GTEST_SKIP() << skip;
  coll_trace::ExportTraceServiceRequest request;
  ASSERT_NO_FATAL_FAILURE(Parse(json, &request));
  ASSERT_EQ(request.resource_spans_size(), 1);
  const auto& scope_spans = request.resource_spans(0).scope_spans(0);
  EXPECT_EQ(scope_spans.scope().name(), "my.library");
  ASSERT_EQ(scope_spans.spans_size(), 1);
  const otlp_trace::Span& span = scope_spans.spans(0);
  EXPECT_EQ(Hex(span.trace_id()), "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(Hex(span.span_id()), "eee19b7ec3c1b174");
  EXPECT_EQ(Hex(span.parent_span_id()), "eee19b7ec3c1b173");
  EXPECT_EQ(span.kind(), otlp_trace::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000000ull);
  EXPECT_EQ(span.end_time_unix_nano(), 1544712661000000000ull);
  EXPECT_EQ(span.attributes(0).value().string_value(), "some value");
}

TEST_F(OtlpJsonExamples, Logs) {
  std::string skip;
  std::string json = Load("logs.json", &skip);
  if (json.empty()) GTEST_SKIP() << skip;
  coll_logs::ExportLogsServiceRequest request;
  ASSERT_NO_FATAL_FAILURE(Parse(json, &request));
  const otlp_logs::LogRecord& record = request.resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.observed_time_unix_nano(), 1544712660300000000ull);
  EXPECT_EQ(record.severity_number(), otlp_logs::SEVERITY_NUMBER_INFO2);
  EXPECT_EQ(record.body().string_value(), "Example log record");
  EXPECT_EQ(Hex(record.trace_id()), "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(Hex(record.span_id()), "eee19b7ec3c1b174");
  ASSERT_EQ(record.attributes_size(), 6);
  EXPECT_EQ(record.attributes(2).value().int_value(), 10);
  EXPECT_EQ(record.attributes(4).value().array_value().values(1).string_value(), "values");
  EXPECT_EQ(record.attributes(5).value().kvlist_value().values(0).key(), "some.map.key");
}

TEST_F(OtlpJsonExamples, Events) {
  std::string skip;
  std::string json = Load("events.json", &skip);
  if (json.empty()) GTEST_SKIP() << skip;
  coll_logs::ExportLogsServiceRequest request;
  ASSERT_NO_FATAL_FAILURE(Parse(json, &request));
  const otlp_logs::LogRecord& record = request.resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.event_name(), "browser.page_view");
  EXPECT_EQ(record.body().kvlist_value().values_size(), 4);
}

TEST_F(OtlpJsonExamples, Metrics) {
  std::string skip;
  std::string json = Load("metrics.json", &skip);
  if (json.empty()) GTEST_SKIP() << skip;
  coll_metrics::ExportMetricsServiceRequest request;
  ASSERT_NO_FATAL_FAILURE(Parse(json, &request));
  const auto& metrics = request.resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(metrics.size(), 4);
  EXPECT_EQ(metrics[0].sum().aggregation_temporality(),
            otlp_metrics::AGGREGATION_TEMPORALITY_DELTA);
  EXPECT_TRUE(metrics[0].sum().is_monotonic());
  EXPECT_EQ(metrics[1].gauge().data_points(0).as_double(), 10.0);
  const otlp_metrics::HistogramDataPoint& hist = metrics[2].histogram().data_points(0);
  EXPECT_EQ(hist.count(), 2u);
  ASSERT_EQ(hist.bucket_counts_size(), 2);
  EXPECT_EQ(hist.explicit_bounds(0), 1.0);
  EXPECT_TRUE(hist.has_min());
  EXPECT_EQ(hist.max(), 2.0);
  const otlp_metrics::ExponentialHistogramDataPoint& exp =
      metrics[3].exponential_histogram().data_points(0);
  EXPECT_EQ(exp.zero_count(), 1u);
  EXPECT_EQ(exp.positive().offset(), 1);
  ASSERT_EQ(exp.positive().bucket_counts_size(), 2);
  EXPECT_EQ(exp.positive().bucket_counts(1), 2u);
}

}  // namespace
