#include "ingest/otlp/otlp_http.h"

#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "base/status.h"
#include "ingest/otlp/metrics_ingester.h"
#include "ingest/otlp/rpc_status.h"
#include "net/router.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::ingest::otlp {
namespace {

constexpr std::string_view kProtobufType = "application/x-protobuf";
constexpr std::string_view kJsonType = "application/json";
// Seconds a throttled client is asked to wait; OTLP exporters honour Retry-After on 429/503.
constexpr std::string_view kRetryAfterSeconds = "5";

std::string_view ContentType(OtlpEncoding encoding) {
  return encoding == OtlpEncoding::kJson ? kJsonType : kProtobufType;
}

std::string MediaType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  std::string out(media);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<OtlpEncoding> RequestEncoding(const net::HttpRequest& request) {
  auto content_type = request.headers.Get("Content-Type");
  if (!content_type) return std::nullopt;
  std::string media = MediaType(*content_type);
  if (media == kProtobufType) return OtlpEncoding::kProtobuf;
  if (media == kJsonType) return OtlpEncoding::kJson;
  return std::nullopt;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

absl::Status DecodeOtlpRequest(const net::HttpRequest& request, OtlpEncoding encoding,
                               OtlpSignal signal, google::protobuf::Message& message) {
  if (encoding == OtlpEncoding::kJson) return ParseOtlpJson(request.body, signal, message);
  if (request.body.size() > static_cast<size_t>(INT32_MAX) ||
      !message.ParseFromArray(request.body.data(), static_cast<int>(request.body.size()))) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse OTLP protobuf {}: malformed body of {} bytes",
                    message.GetDescriptor()->name(), request.body.size()));
  }
  return absl::OkStatus();
}

void WriteOtlpResponse(const google::protobuf::Message& message, OtlpEncoding encoding,
                       net::HttpResponse& response) {
  std::string body =
      encoding == OtlpEncoding::kJson ? ToOtlpJson(message) : message.SerializeAsString();
  response.SetBody(200, std::string(ContentType(encoding)), std::move(body));
}

void WriteOtlpError(const absl::Status& status, OtlpEncoding encoding,
                    net::HttpResponse& response) {
  int code = RpcCode(status.code());
  std::string_view message(status.message().data(), status.message().size());
  std::string body = encoding == OtlpEncoding::kJson ? EncodeRpcStatusJson(code, message)
                                                     : EncodeRpcStatusProto(code, message);
  int http_status = HttpStatusFor(status.code());
  response.SetBody(http_status, std::string(ContentType(encoding)), std::move(body));
  if (http_status == 429 || http_status == 503) {
    response.headers.Set("Retry-After", std::string(kRetryAfterSeconds));
  }
}

std::optional<OtlpEncoding> AcceptOtlpRequest(const net::HttpRequest& request,
                                              net::HttpResponse& response) {
  std::optional<OtlpEncoding> encoding = RequestEncoding(request);
  if (!encoding) {
    auto content_type = request.headers.Get("Content-Type");
    std::string msg = fmt::format(
        "unsupported Content-Type \"{}\": OTLP/HTTP accepts application/x-protobuf or "
        "application/json",
        content_type.value_or(""));
    response.SetBody(415, std::string(kJsonType),
                     EncodeRpcStatusJson(RpcCode(absl::StatusCode::kInvalidArgument), msg));
    return std::nullopt;
  }
  // The server has already undone gzip and deflate and removed the header; what is left is an
  // encoding OTLP does not define.
  if (auto coding = request.headers.Get("Content-Encoding")) {
    std::string msg = fmt::format(
        "unsupported Content-Encoding \"{}\": OTLP/HTTP accepts gzip or identity", *coding);
    WriteOtlpError(absl::InvalidArgumentError(msg), *encoding, response);
    response.status = 415;
    return std::nullopt;
  }
  return encoding;
}

void HandleOtlpMetrics(OtlpMetricsIngester& ingester, net::HttpRequest& request,
                       net::HttpResponse& response) {
  std::optional<OtlpEncoding> encoding = AcceptOtlpRequest(request, response);
  if (!encoding) return;
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest export_request;
  if (absl::Status st = DecodeOtlpRequest(request, *encoding, OtlpSignal::kMetrics, export_request);
      !st.ok()) {
    WriteOtlpError(st, *encoding, response);
    return;
  }
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse export_response;
  if (absl::Status st = ingester.Export(export_request, export_response); !st.ok()) {
    WriteOtlpError(st, *encoding, response);
    return;
  }
  WriteOtlpResponse(export_response, *encoding, response);
}

void RegisterOtlpMetricsHttpRoute(net::Router& router, OtlpMetricsIngester& ingester) {
  router.Handle("POST", "/v1/metrics", [&ingester](net::HttpRequest& req, net::HttpResponse& resp) {
    HandleOtlpMetrics(ingester, req, resp);
  });
}

}  // namespace oriel::ingest::otlp
