// OTLP/HTTP (`POST /v1/<signal>` on 4318): request decoding and response encoding shared by the
// three signals, and the /v1/metrics route. The answer uses the request's encoding; errors are
// google.rpc.Status bodies (400 malformed, 415 unsupported content type or encoding, 429 and 503
// retryable, with Retry-After).
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "ingest/otlp/otlp_json.h"
#include "net/http_message.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace oriel::net {
class Router;
}  // namespace oriel::net

namespace oriel::ingest::otlp {

class OtlpMetricsIngester;

enum class OtlpEncoding { kProtobuf, kJson };

// The encoding named by the request's Content-Type (`application/x-protobuf` or
// `application/json`, parameters ignored), or nullopt when it is another or missing.
std::optional<OtlpEncoding> RequestEncoding(const net::HttpRequest& request);

// The HTTP status an OTLP/HTTP server answers for an error of `code`.
int HttpStatusFor(absl::StatusCode code);

// Decodes the request body into `message` (an Export*ServiceRequest of `signal`).
// Fails with kInvalidArgument on a malformed body.
[[nodiscard]] absl::Status DecodeOtlpRequest(const net::HttpRequest& request, OtlpEncoding encoding,
                                             OtlpSignal signal, google::protobuf::Message& message);

// 200 with `message` in `encoding`.
void WriteOtlpResponse(const google::protobuf::Message& message, OtlpEncoding encoding,
                       net::HttpResponse& response);

// HttpStatusFor(status.code()) with a google.rpc.Status body in `encoding`; 429 and 503 carry
// Retry-After. REQUIRES: !status.ok().
void WriteOtlpError(const absl::Status& status, OtlpEncoding encoding, net::HttpResponse& response);

// Checks what every OTLP/HTTP route checks before decoding: a supported Content-Type and no
// Content-Encoding left undone by the server (it inflates gzip and deflate). Answers 415 itself
// and returns nullopt when the request cannot be served.
std::optional<OtlpEncoding> AcceptOtlpRequest(const net::HttpRequest& request,
                                              net::HttpResponse& response);

// Serves POST /v1/metrics with `ingester`.
void HandleOtlpMetrics(OtlpMetricsIngester& ingester, net::HttpRequest& request,
                       net::HttpResponse& response);

// Registers POST /v1/metrics on `router`. `ingester` must outlive the router.
void RegisterOtlpMetricsHttpRoute(net::Router& router, OtlpMetricsIngester& ingester);

}  // namespace oriel::ingest::otlp
