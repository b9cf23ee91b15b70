#include "pipeline/sampling/sampling_options.h"

#include <cmath>
#include <string_view>

#include "base/status.h"
#include "fmt/format.h"

namespace oriel::pipeline::sampling {
namespace {

absl::Status Invalid(std::string_view which, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("cannot use {} sampling options: {}", which, why));
}

bool IsPercentage(double v) { return std::isfinite(v) && v >= 0 && v <= 100; }

}  // namespace

absl::Status ValidateHeadSamplingOptions(const HeadSamplingOptions& options) {
  if (!IsPercentage(options.sampling_percentage)) {
    return Invalid("head", fmt::format("sampling_percentage must be in [0, 100], got {}",
                                       options.sampling_percentage));
  }
  if (options.sampling_precision < 1 || options.sampling_precision > 14) {
    return Invalid("head", fmt::format("sampling_precision must be in [1, 14], got {}",
                                       options.sampling_precision));
  }
  return absl::OkStatus();
}

absl::Status ValidateTailSamplingOptions(const TailSamplingOptions& options) {
  if (options.decision_wait <= absl::ZeroDuration()) {
    return Invalid("tail", fmt::format("decision_wait must be positive, got {}",
                                       absl::FormatDuration(options.decision_wait)));
  }
  if (options.num_traces < 1) {
    return Invalid("tail",
                   fmt::format("num_traces must be at least 1, got {}", options.num_traces));
  }
  if (options.max_bytes < 1) {
    return Invalid("tail", fmt::format("max_bytes must be at least 1, got {}", options.max_bytes));
  }
  if (options.latency_threshold < absl::ZeroDuration()) {
    return Invalid("tail", fmt::format("latency_threshold must not be negative, got {}",
                                       absl::FormatDuration(options.latency_threshold)));
  }
  if (!IsPercentage(options.sampling_percentage)) {
    return Invalid("tail", fmt::format("sampling_percentage must be in [0, 100], got {}",
                                       options.sampling_percentage));
  }
  if (options.decision_cache_size < 0) {
    return Invalid("tail", fmt::format("decision_cache_size must not be negative, got {}",
                                       options.decision_cache_size));
  }
  if (options.tick_interval < absl::ZeroDuration()) {
    return Invalid("tail", fmt::format("tick_interval must not be negative, got {}",
                                       absl::FormatDuration(options.tick_interval)));
  }
  return absl::OkStatus();
}

absl::Status ValidateSamplingOptions(const SamplingOptions& options) {
  ORIEL_RETURN_IF_ERROR(ValidateHeadSamplingOptions(options.head));
  return ValidateTailSamplingOptions(options.tail);
}

}  // namespace oriel::pipeline::sampling
