#include "ingest/otlp/rpc_status.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/status.h"

namespace oriel::ingest::otlp {

using google::protobuf::internal::WireFormatLite;

constexpr int kCodeField = 1;
constexpr int kMessageField = 2;

std::string EncodeRpcStatusProto(int code, std::string_view message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    // proto3: fields at their default value are not written.
    if (code != 0) {
      coded.WriteTag(WireFormatLite::MakeTag(kCodeField, WireFormatLite::WIRETYPE_VARINT));
      // int32 is sign-extended to 64 bits on the wire.
      coded.WriteVarint64(static_cast<uint64_t>(static_cast<int64_t>(code)));
    }
    if (!message.empty()) {
      coded.WriteTag(
          WireFormatLite::MakeTag(kMessageField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
      coded.WriteVarint32(static_cast<uint32_t>(message.size()));
      coded.WriteRaw(message.data(), static_cast<int>(message.size()));
    }
  }
  return out;
}

std::string EncodeRpcStatusJson(int code, std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("code");
  writer.Int(code);
  writer.Key("message");
  writer.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::Status DecodeRpcStatusProto(std::string_view bytes, RpcStatus& out) {
  out = RpcStatus{};
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    int field = WireFormatLite::GetTagFieldNumber(tag);
    auto type = WireFormatLite::GetTagWireType(tag);
    if (field == kCodeField && type == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) break;
      out.code = static_cast<int>(static_cast<int64_t>(v));
    } else if (field == kMessageField && type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) || !in.ReadString(&out.message, static_cast<int>(size))) {
        return absl::InvalidArgumentError("cannot decode google.rpc.Status: truncated message");
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return absl::InvalidArgumentError(
          fmt::format("cannot decode google.rpc.Status: bad field {}", field));
    }
  }
  if (!in.ConsumedEntireMessage()) {
    return absl::InvalidArgumentError("cannot decode google.rpc.Status: malformed");
  }
  return absl::OkStatus();
}

}  // namespace oriel::ingest::otlp
