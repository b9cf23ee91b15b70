#include "ingest/otlp/metrics_ingester.h"

#include <utility>

#include "base/status.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace oriel::ingest::otlp {

namespace collector = opentelemetry::proto::collector::metrics::v1;

OtlpMetricsIngester::OtlpMetricsIngester(tsdb::MetricsWriter& writer, TranslatorOptions options,
                                         metrics::Registry* registry)
    : writer_(writer), translator_(std::move(options)) {
  if (registry == nullptr) return;
  accepted_ = &registry->AddCounter("oriel_otlp_metric_points_accepted_total",
                                    "OTLP metric data points translated and handed to storage.");
  rejected_ = &registry->AddCounter(
      "oriel_otlp_metric_points_rejected_total",
      "OTLP metric data points refused (invalid, out of order, or refused by storage).");
  registry->AddGaugeFunc("oriel_otlp_delta_series",
                         "Series whose delta-temporality totals are held in memory.",
                         [this] { return static_cast<double>(translator_.delta_series()); });
}

absl::Status OtlpMetricsIngester::Export(const collector::ExportMetricsServiceRequest& request,
                                         collector::ExportMetricsServiceResponse& response) {
  response.Clear();
  Translation t = translator_.Translate(request);
  int64_t rejected = t.rejected_data_points;
  std::string message = std::move(t.error_message);
  if (!t.batch.series.empty() || !t.batch.metadata.empty()) {
    ORIEL_ASSIGN_OR_RETURN(tsdb::WriteResult written, writer_.Write(std::move(t.batch)));
    if (written.samples_rejected > 0) {
      rejected += written.samples_rejected;
      std::string why = fmt::format("{} samples refused by storage, first: {}",
                                    written.samples_rejected, written.first_rejection);
      message = message.empty() ? why : fmt::format("{}; {}", message, why);
    }
  }
  if (accepted_ != nullptr) {
    accepted_->Inc(static_cast<double>(t.data_points));
    rejected_->Inc(static_cast<double>(rejected));
  }
  if (rejected > 0 || !message.empty()) {
    auto* partial = response.mutable_partial_success();
    partial->set_rejected_data_points(rejected);
    partial->set_error_message(message);
  }
  return absl::OkStatus();
}

}  // namespace oriel::ingest::otlp
