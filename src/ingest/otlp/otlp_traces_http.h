// OTLP/HTTP traces: `POST /v1/traces` (protobuf or JSON, answered in the request's encoding;
// 400 malformed, 415 unsupported content type or encoding, 429/503 retryable with Retry-After).
#pragma once

#include "net/http_message.h"

namespace oriel::net {
class Router;
}  // namespace oriel::net

namespace oriel::ingest::otlp {

class OtlpTracesIngester;

// Serves POST /v1/traces with `ingester`.
void HandleOtlpTraces(OtlpTracesIngester& ingester, net::HttpRequest& request,
                      net::HttpResponse& response);

// Registers POST /v1/traces on `router`. `ingester` must outlive the router.
void RegisterOtlpTracesHttpRoute(net::Router& router, OtlpTracesIngester& ingester);

}  // namespace oriel::ingest::otlp
