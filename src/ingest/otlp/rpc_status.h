// google.rpc.Status bodies, which OTLP/HTTP servers answer errors with. No .proto is installed
// for it (it lives in googleapis), so the two fields used here, `int32 code = 1` and
// `string message = 2`, are written directly in the protobuf wire format; `details` is not sent.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace oriel::ingest::otlp {

// absl status codes have the numeric values of gRPC's (and so of google.rpc.Code).
inline int RpcCode(absl::StatusCode code) { return static_cast<int>(code); }

// The protobuf encoding of google.rpc.Status{code, message}.
std::string EncodeRpcStatusProto(int code, std::string_view message);
// Its proto3 JSON form: {"code":3,"message":"..."}.
std::string EncodeRpcStatusJson(int code, std::string_view message);

struct RpcStatus {
  int code = 0;
  std::string message;
};
// Decodes what EncodeRpcStatusProto writes (other fields skipped); for tests and clients.
[[nodiscard]] absl::Status DecodeRpcStatusProto(std::string_view bytes, RpcStatus& out);

}  // namespace oriel::ingest::otlp
