#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/status.h"
#include "fmt/format.h"
#include "ingest/otlp/otlp_http.h"
#include "ingest/otlp/otlp_json.h"
#include "ingest/otlp/otlp_traces_grpc.h"
#include "ingest/otlp/otlp_traces_http.h"
#include "ingest/otlp/rpc_status.h"
#include "ingest/otlp/traces_ingester.h"
#include "net/router.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;
using opentelemetry::proto::trace::v1::ResourceSpans;
using ::testing::HasSubstr;

// Records every write; answers with a settable result, counting its spans as written.
class FakeTraceWriter : public tracestore::TraceWriter {
 public:
  absl::StatusOr<tracestore::TraceWriteResult> Write(
      std::vector<ResourceSpans> resource_spans) override {
    absl::MutexLock lock(&mu_);
    if (!next_.ok()) return next_.status();
    tracestore::TraceWriteResult result = *next_;
    int64_t spans = 0;
    for (const auto& rs : resource_spans) {
      for (const auto& ss : rs.scope_spans()) spans += ss.spans_size();
    }
    result.spans_written = spans - result.spans_rejected;
    writes_.push_back(resource_spans);
    return result;
  }
  // Records the batch's encodings, then writes a copy as the default does.
  absl::StatusOr<tracestore::TraceWriteResult> WriteBatch(tracestore::SpanBatch& batch) override {
    {
      absl::MutexLock lock(&mu_);
      // A batch read in place has its encodings there.
      std::vector<std::string> encodings(batch.encoded.begin(), batch.encoded.end());
      for (const auto& rs : batch.read) encodings.emplace_back(rs.bytes);
      encodings_.push_back(std::move(encodings));
    }
    return TraceWriter::WriteBatch(batch);
  }
  std::vector<std::vector<std::string>> encodings() const {
    absl::MutexLock lock(&mu_);
    return encodings_;
  }
  void SetResult(absl::StatusOr<tracestore::TraceWriteResult> result) {
    absl::MutexLock lock(&mu_);
    next_ = std::move(result);
  }
  std::vector<std::vector<ResourceSpans>> writes() const {
    absl::MutexLock lock(&mu_);
    return writes_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::StatusOr<tracestore::TraceWriteResult> next_ = tracestore::TraceWriteResult{};
  std::vector<std::vector<ResourceSpans>> writes_;
  std::vector<std::vector<std::string>> encodings_;
};

constexpr std::string_view kTraceJson = R"({"resourceSpans":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"scope":{"name":"lib"},
    "spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
    "parentSpanId":"EEE19B7EC3C1B173","name":"GET /cart","kind":2,
    "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
    "attributes":[{"key":"http.status_code","value":{"intValue":"200"}}]},
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"db"}]}]}]})";

collector::ExportTraceServiceRequest TraceRequest() {
  collector::ExportTraceServiceRequest req;
  EXPECT_TRUE(ParseOtlpJson(kTraceJson, OtlpSignal::kTraces, req).ok());
  return req;
}

class OtlpTracesHttpTest : public ::testing::Test {
 protected:
  OtlpTracesHttpTest() : ingester_(writer_, &registry_) {
    RegisterOtlpTracesHttpRoute(router_, ingester_);
  }

  net::HttpResponse Post(std::string content_type, std::string body,
                         std::string content_encoding = "") {
    net::HttpRequest req;
    req.method = "POST";
    req.target = req.path = "/v1/traces";
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    if (!content_encoding.empty()) req.headers.Add("Content-Encoding", content_encoding);
    req.body = std::move(body);
    net::HttpResponse resp;
    router_.Dispatch(req, resp);
    return resp;
  }
  std::string ContentType(const net::HttpResponse& resp) {
    return std::string(resp.headers.Get("Content-Type").value_or(""));
  }

  FakeTraceWriter writer_;
  metrics::Registry registry_;
  OtlpTracesIngester ingester_;
  net::Router router_;
};

TEST_F(OtlpTracesHttpTest, ProtobufRoundTrip) {
  collector::ExportTraceServiceRequest sent = TraceRequest();
  net::HttpResponse resp = Post("application/x-protobuf", sent.SerializeAsString());
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(ContentType(resp), "application/x-protobuf");
  collector::ExportTraceServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(resp.body));
  EXPECT_FALSE(parsed.has_partial_success());
  auto writes = writer_.writes();
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_EQ(writes[0].size(), 1u);
  EXPECT_EQ(writes[0][0].SerializeAsString(), sent.resource_spans(0).SerializeAsString());
  const auto& span = writes[0][0].scope_spans(0).spans(0);
  EXPECT_EQ(HexEncode(span.trace_id()), "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(HexEncode(span.parent_span_id()), "eee19b7ec3c1b173");
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000000u);
  EXPECT_THAT(registry_.Expose(), HasSubstr("oriel_otlp_spans_accepted_total 2\n"));
}

TEST_F(OtlpTracesHttpTest, ProtobufBodyGivesTheWriterEachResourceAsReceived) {
  collector::ExportTraceServiceRequest sent = TraceRequest();
  *sent.add_resource_spans() = sent.resource_spans(0);
  sent.mutable_resource_spans(1)->mutable_scope_spans(0)->mutable_spans(0)->set_name("other");
  net::HttpResponse resp = Post("application/x-protobuf", sent.SerializeAsString());
  EXPECT_EQ(resp.status, 200);
  auto encodings = writer_.encodings();
  ASSERT_EQ(encodings.size(), 1u);
  ASSERT_EQ(encodings[0].size(), 2u);
  EXPECT_EQ(encodings[0][0], sent.resource_spans(0).SerializeAsString());
  EXPECT_EQ(encodings[0][1], sent.resource_spans(1).SerializeAsString());
  // JSON has no protobuf bytes to keep.
  resp = Post("application/json", std::string(kTraceJson));
  EXPECT_EQ(resp.status, 200);
  encodings = writer_.encodings();
  ASSERT_EQ(encodings.size(), 2u);
  EXPECT_TRUE(encodings[1].empty());
}

TEST_F(OtlpTracesHttpTest, JsonRoundTripAnswersJson) {
  net::HttpResponse resp = Post("application/json; charset=utf-8", std::string(kTraceJson));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(ContentType(resp), "application/json");
  EXPECT_EQ(resp.body, "{}");
  auto writes = writer_.writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0][0].scope_spans(0).spans_size(), 2);
  EXPECT_EQ(writes[0][0].scope_spans(0).spans(0).name(), "GET /cart");
  EXPECT_EQ(writes[0][0].scope_spans(0).spans(0).attributes(0).value().int_value(), 200);
}

TEST_F(OtlpTracesHttpTest, StorageRejectionsArePartialSuccess) {
  writer_.SetResult(tracestore::TraceWriteResult{
      .spans_rejected = 1, .first_rejection = "span 1 of resource 0: span_id must be 8 bytes"});
  net::HttpResponse resp = Post("application/json", std::string(kTraceJson));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body,
            R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"span 1 of resource 0: )"
            R"(span_id must be 8 bytes"}})");

  resp = Post("application/x-protobuf", TraceRequest().SerializeAsString());
  collector::ExportTraceServiceResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(resp.body));
  EXPECT_EQ(parsed.partial_success().rejected_spans(), 1);
  EXPECT_EQ(parsed.partial_success().error_message(),
            "span 1 of resource 0: span_id must be 8 bytes");
  std::string exposition = registry_.Expose();
  EXPECT_THAT(exposition, HasSubstr("oriel_otlp_spans_accepted_total 2\n"));
  EXPECT_THAT(exposition, HasSubstr("oriel_otlp_spans_rejected_total 2\n"));
}

TEST_F(OtlpTracesHttpTest, EmptyRequestSkipsTheWriter) {
  net::HttpResponse resp = Post("application/json", "{}");
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "{}");
  EXPECT_TRUE(writer_.writes().empty());
}

TEST_F(OtlpTracesHttpTest, UnsupportedContentTypeOrEncodingIs415) {
  EXPECT_EQ(Post("text/plain", "x").status, 415);
  EXPECT_EQ(Post("", "x").status, 415);
  net::HttpResponse resp = Post("application/x-protobuf", "x", "br");
  EXPECT_EQ(resp.status, 415);
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_THAT(status.message, HasSubstr("br"));
  EXPECT_TRUE(writer_.writes().empty());
}

TEST_F(OtlpTracesHttpTest, MalformedBodiesAre400) {
  net::HttpResponse resp = Post("application/x-protobuf", "\xff\xff\xff garbage");
  EXPECT_EQ(resp.status, 400);
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_EQ(status.code, 3);
  EXPECT_THAT(status.message, HasSubstr("ExportTraceServiceRequest"));

  resp = Post("application/json", R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"abc","spanId":"eee19b7ec3c1b174"}]}]}]})");
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(ContentType(resp), "application/json");
  EXPECT_THAT(resp.body, HasSubstr("resourceSpans[0].scopeSpans[0].spans[0].traceId"));
  EXPECT_TRUE(writer_.writes().empty());
}

TEST_F(OtlpTracesHttpTest, WriterErrorsMapToRetryableStatuses) {
  writer_.SetResult(absl::ResourceExhaustedError("over the memory limit"));
  net::HttpResponse resp = Post("application/json", std::string(kTraceJson));
  EXPECT_EQ(resp.status, 429);
  EXPECT_TRUE(resp.headers.Has("Retry-After"));
  EXPECT_EQ(resp.body, R"({"code":8,"message":"over the memory limit"})");

  writer_.SetResult(absl::UnavailableError("disk full"));
  resp = Post("application/x-protobuf", TraceRequest().SerializeAsString());
  EXPECT_EQ(resp.status, 503);
  EXPECT_TRUE(resp.headers.Has("Retry-After"));
  RpcStatus status;
  ASSERT_TRUE(DecodeRpcStatusProto(resp.body, status).ok());
  EXPECT_EQ(status.code, 14);
  EXPECT_EQ(status.message, "disk full");
}

class OtlpTracesGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = NewOtlpTracesGrpcService(ingester_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    stub_ = collector::TraceService::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  grpc::Status Export(collector::ExportTraceServiceResponse* resp,
                      const collector::ExportTraceServiceRequest& request = TraceRequest(),
                      grpc_compression_algorithm compression = GRPC_COMPRESS_GZIP) {
    grpc::ClientContext ctx;
    ctx.set_compression_algorithm(compression);
    return stub_->Export(&ctx, request, resp);
  }

  FakeTraceWriter writer_;
  OtlpTracesIngester ingester_{writer_};
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<collector::TraceService::Stub> stub_;
};

TEST_F(OtlpTracesGrpcTest, ExportWritesAndReportsPartialSuccess) {
  collector::ExportTraceServiceResponse resp;
  grpc::Status st = Export(&resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(resp.has_partial_success());
  ASSERT_EQ(writer_.writes().size(), 1u);
  EXPECT_EQ(writer_.writes()[0][0].scope_spans(0).spans(1).name(), "db");

  writer_.SetResult(tracestore::TraceWriteResult{.spans_rejected = 2, .first_rejection = "empty"});
  st = Export(&resp);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(resp.partial_success().rejected_spans(), 2);
  EXPECT_EQ(resp.partial_success().error_message(), "empty");
}

TEST_F(OtlpTracesGrpcTest, ExportGivesTheWriterEachResourceAsReceived) {
  collector::ExportTraceServiceResponse resp;
  grpc::Status st = Export(&resp);  // gzip: the service sees the message inflated
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto encodings = writer_.encodings();
  ASSERT_EQ(encodings.size(), 1u);
  ASSERT_EQ(encodings[0].size(), 1u);
  EXPECT_EQ(encodings[0][0], TraceRequest().resource_spans(0).SerializeAsString());
}

TEST_F(OtlpTracesGrpcTest, LargeMessagesArriveWholeOneAfterAnother) {
  // Messages this large reach the service in many slices, which it joins in a buffer it reuses:
  // each call must see its own bytes, also after a larger one.
  auto request_of = [](int spans, const std::string& fill) {
    collector::ExportTraceServiceRequest req = TraceRequest();
    auto* scope = req.mutable_resource_spans(0)->mutable_scope_spans(0);
    const auto first = scope->spans(0);
    for (int i = 0; i < spans; ++i) {
      auto* span = scope->add_spans();
      *span = first;
      span->set_name(fmt::format("{}-{}", fill, i));
      auto* attr = span->add_attributes();
      attr->set_key("payload");
      attr->mutable_value()->set_string_value(std::string(200, fill[0]));
    }
    return req;
  };
  const collector::ExportTraceServiceRequest sent[] = {request_of(4000, "a"), request_of(1500, "b"),
                                                       request_of(3000, "c")};
  for (const auto& req : sent) {
    collector::ExportTraceServiceResponse resp;
    grpc::Status st = Export(&resp, req, GRPC_COMPRESS_NONE);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  auto encodings = writer_.encodings();
  ASSERT_EQ(encodings.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(encodings[i].size(), 1u);
    EXPECT_GT(encodings[i][0].size(), 300000u);
    EXPECT_TRUE(encodings[i][0] == sent[i].resource_spans(0).SerializeAsString()) << i;
  }
}

TEST_F(OtlpTracesGrpcTest, MalformedMessageIsInvalidArgument) {
  const std::string garbage = "\x0a\xff\xff\x01";  // resource_spans longer than the message
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  grpc::Status st = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(),
      grpc::internal::RpcMethod("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("malformed message of 4 bytes"));
  EXPECT_TRUE(writer_.writes().empty());
}

TEST_F(OtlpTracesGrpcTest, WriterErrorsBecomeGrpcCodes) {
  collector::ExportTraceServiceResponse resp;
  writer_.SetResult(absl::ResourceExhaustedError("over the memory limit"));
  grpc::Status st = Export(&resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(st.error_message(), "over the memory limit");
  writer_.SetResult(absl::UnavailableError("shutting down"));
  EXPECT_EQ(Export(&resp).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace oriel::ingest::otlp
