#include "ingest/remote_write/remote_write_handler.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "google/protobuf/arena.h"
#include "ingest/remote_write/decoder.h"
#include "ingest/remote_write/fast_v1.h"
#include "net/compression.h"

namespace oriel::ingest {
namespace {

constexpr std::string_view kProtobufMediaType = "application/x-protobuf";
constexpr std::string_view kV1Message = "prometheus.WriteRequest";
constexpr std::string_view kV2Message = "io.prometheus.write.v2.Request";
// At most this many problems are spelled out in a 400 body; the rest are counted.
constexpr size_t kMaxReportedProblems = 10;

enum class Version { kV1, kV2 };

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Picks the protocol version from Content-Type; the error is the 415 message.
absl::StatusOr<Version> ParseContentType(std::string_view content_type) {
  std::string_view rest = Trim(content_type);
  if (rest.empty()) return Version::kV1;  // old senders omit it; Prometheus assumes 1.0 too
  size_t semi = rest.find(';');
  if (!EqualsIgnoreCase(Trim(rest.substr(0, semi)), kProtobufMediaType)) {
    return absl::InvalidArgumentError(
        fmt::format("cannot accept content type \"{}\": expected {} as the media type",
                    content_type, kProtobufMediaType));
  }
  while (semi != std::string_view::npos) {
    rest.remove_prefix(semi + 1);
    semi = rest.find(';');
    std::string_view param = Trim(rest.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          fmt::format("cannot accept content type \"{}\": parameter \"{}\" is not key=value",
                      content_type, param));
    }
    if (!EqualsIgnoreCase(Trim(param.substr(0, eq)), "proto")) continue;
    std::string_view value = Trim(param.substr(eq + 1));
    if (value == kV1Message) return Version::kV1;
    if (value == kV2Message) return Version::kV2;
    return absl::InvalidArgumentError(
        fmt::format("cannot accept content type \"{}\": unknown remote write message \"{}\", "
                    "this server accepts {} and {}",
                    content_type, value, kV1Message, kV2Message));
  }
  return Version::kV1;
}

class RemoteWriteHandler {
 public:
  RemoteWriteHandler(tsdb::MetricsWriter& writer, metrics::Registry& registry,
                     RemoteWriteOptions options)
      : writer_(writer),
        options_(options),
        requests_(registry.AddCounterFamily("oriel_remote_write_requests_total",
                                            "Remote write requests by protocol version and "
                                            "HTTP status code.",
                                            {"version", "code"})),
        samples_received_(registry.AddCounter("oriel_remote_write_samples_received_total",
                                              "Float samples received by remote write.")),
        histograms_received_(
            registry.AddCounter("oriel_remote_write_histograms_received_total",
                                "Native histogram samples received by remote write.")),
        exemplars_received_(registry.AddCounter("oriel_remote_write_exemplars_received_total",
                                                "Exemplars received by remote write.")),
        samples_rejected_(registry.AddCounter(
            "oriel_remote_write_samples_rejected_total",
            "Float and histogram samples received by remote write but not stored (invalid "
            "series, out of order, too old, duplicate, or the whole request refused).")) {}

  void Serve(net::HttpRequest& req, net::HttpResponse& res) {
    std::string_view version_label = "unknown";
    Handle(req, res, &version_label);
    requests_.WithLabels({version_label, std::to_string(res.status)}).Inc();
  }

 private:
  void Handle(net::HttpRequest& req, net::HttpResponse& res, std::string_view* version_label) {
    auto version = ParseContentType(req.headers.Get("Content-Type").value_or(""));
    if (!version.ok()) {
      res.SetText(415, std::string(version.status().message()) + "\n");
      return;
    }
    bool v2 = *version == Version::kV2;
    *version_label = v2 ? "2.0" : "1.0";
    tsdb::WriteResult written;
    // Set on every answer after negotiation, as the 2.0 spec requires; filled in at the end.
    auto finish = [&](int status, std::string text) {
      if (v2) {
        res.headers.Set("X-Prometheus-Remote-Write-Samples-Written",
                        std::to_string(written.samples_written));
        res.headers.Set("X-Prometheus-Remote-Write-Histograms-Written",
                        std::to_string(written.histograms_written));
        res.headers.Set("X-Prometheus-Remote-Write-Exemplars-Written",
                        std::to_string(written.exemplars_written));
      }
      if (status == 204) {
        res.status = 204;
        res.body.clear();
      } else {
        res.SetText(status, std::move(text) + "\n");
      }
    };

    std::string_view encoding = Trim(req.headers.Get("Content-Encoding").value_or(""));
    if (!encoding.empty() && !EqualsIgnoreCase(encoding, "snappy")) {
      finish(415, fmt::format("cannot accept content encoding \"{}\": only snappy is accepted",
                              encoding));
      return;
    }
    auto body = net::SnappyDecode(req.body, options_.max_decoded_bytes);
    if (!body.ok()) {
      int status = absl::IsResourceExhausted(body.status()) ? 413 : 400;
      finish(status, fmt::format("cannot decompress snappy body: {}", body.status().message()));
      return;
    }

    // One arena for the whole message: thousands of label strings are freed at once.
    google::protobuf::Arena arena;
    absl::StatusOr<DecodedWrite> decoded;
    if (v2) {
      auto* msg =
          google::protobuf::Arena::CreateMessage<io::prometheus::write::v2::Request>(&arena);
      if (!msg->ParseFromString(*body)) {
        finish(400, fmt::format("cannot decode {} protobuf ({} bytes): malformed message",
                                kV2Message, body->size()));
        return;
      }
      decoded = DecodeV2(*msg);
    } else if (std::optional<DecodedWrite> fast = TryDecodeV1Fast(*body, &writer_);
               fast.has_value()) {
      decoded = *std::move(fast);
    } else {
      auto* msg = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
      if (!msg->ParseFromString(*body)) {
        finish(400, fmt::format("cannot decode {} protobuf ({} bytes): malformed message",
                                kV1Message, body->size()));
        return;
      }
      decoded = DecodeV1(*msg);
    }
    if (!decoded.ok()) {
      finish(400, std::string(decoded.status().message()));
      return;
    }
    samples_received_.Inc(static_cast<double>(decoded->samples));
    histograms_received_.Inc(static_cast<double>(decoded->histograms));
    exemplars_received_.Inc(static_cast<double>(decoded->exemplars));
    int64_t all_samples = decoded->samples + decoded->histograms;

    if (!decoded->batch.series.empty() || !decoded->batch.metadata.empty()) {
      auto result = writer_.Write(std::move(decoded->batch));
      if (!result.ok()) {
        samples_rejected_.Inc(static_cast<double>(all_samples));
        const absl::Status& st = result.status();
        std::string text = fmt::format("cannot write samples: {}", st.message());
        switch (st.code()) {
          case absl::StatusCode::kInvalidArgument:
            finish(400, std::move(text));
            break;
          case absl::StatusCode::kResourceExhausted:
            res.headers.Set("Retry-After", std::to_string(options_.retry_after_seconds));
            finish(429, std::move(text));
            break;
          case absl::StatusCode::kUnavailable:
            finish(503, std::move(text));
            break;
          default:
            log::Error("remote write failed", {{"err", std::string(st.message())}});
            finish(500, std::move(text));
        }
        return;
      }
      written = *std::move(result);
    }
    samples_rejected_.Inc(static_cast<double>(decoded->invalid_samples + written.samples_rejected));

    std::vector<std::string> problems;
    for (size_t i = 0; i < decoded->invalid_series.size() && i < kMaxReportedProblems; ++i) {
      problems.push_back(decoded->invalid_series[i]);
    }
    if (decoded->invalid_series.size() > kMaxReportedProblems) {
      problems.push_back(fmt::format("and {} more invalid series",
                                     decoded->invalid_series.size() - kMaxReportedProblems));
    }
    if (written.samples_rejected > 0) {
      problems.push_back(fmt::format("{} samples rejected, the first: {}", written.samples_rejected,
                                     written.first_rejection));
    }
    if (!problems.empty()) {
      std::string text = "cannot write every sample (the rest was written): ";
      for (size_t i = 0; i < problems.size(); ++i) {
        if (i > 0) text += "; ";
        text += problems[i];
      }
      finish(400, std::move(text));
      return;
    }
    finish(204, "");
  }

  tsdb::MetricsWriter& writer_;
  const RemoteWriteOptions options_;
  metrics::CounterFamily& requests_;
  metrics::Counter& samples_received_;
  metrics::Counter& histograms_received_;
  metrics::Counter& exemplars_received_;
  metrics::Counter& samples_rejected_;
};

}  // namespace

void RegisterRemoteWriteRoutes(net::Router& router, tsdb::MetricsWriter& writer,
                               metrics::Registry& registry, RemoteWriteOptions options) {
  // shared_ptr: the handler state is owned jointly by the route's std::function copies.
  auto handler = std::make_shared<RemoteWriteHandler>(writer, registry, options);
  router.Handle("POST", "/api/v1/write", [handler](net::HttpRequest& req, net::HttpResponse& res) {
    handler->Serve(req, res);
  });
}

}  // namespace oriel::ingest
