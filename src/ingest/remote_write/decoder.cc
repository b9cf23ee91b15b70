#include "ingest/remote_write/decoder.h"

#include <cmath>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::ingest {
namespace {

namespace v2 = io::prometheus::write::v2;

// Checks the per-series label rules and builds the sorted label set from `raw`. Returns the
// reason a series is invalid (leaving `raw` as it was, for the message), or "" when it is fine
// (`raw` is then consumed).
std::string BuildSeriesLabels(std::vector<model::Label>& raw, model::Labels* out) {
  // Senders must sort by name, so the usual case is checked in one pass without a set: sorted
  // and strictly increasing means no empty (the empty name can only be first) or repeated name.
  bool sorted = true;
  for (size_t i = 1; i < raw.size() && sorted; ++i) sorted = raw[i - 1].name < raw[i].name;
  if (!sorted || (!raw.empty() && raw.front().name.empty())) {
    absl::flat_hash_set<std::string_view> seen;
    for (const model::Label& l : raw) {
      if (l.name.empty()) return "empty label name";
      if (!seen.insert(l.name).second) return fmt::format("repeated label name \"{}\"", l.name);
    }
  }
  bool has_name = false;
  for (const model::Label& l : raw) {
    if (l.name == model::kMetricName) has_name = !l.value.empty();
  }
  if (!has_name) return "missing or empty __name__";
  if (sorted) {
    std::erase_if(raw, [](const model::Label& l) { return l.value.empty(); });
    *out = model::Labels::FromSorted(std::move(raw));
  } else {
    *out = model::Labels::FromUnsorted(std::move(raw));
  }
  return "";
}

std::string DescribeRaw(const std::vector<model::Label>& raw) {
  std::string s = "{";
  for (size_t i = 0; i < raw.size(); ++i) {
    if (i > 0) s += ", ";
    s += fmt::format("{}=\"{}\"", raw[i].name, raw[i].value);
  }
  return s + "}";
}

model::HistogramSample::Reset ConvertReset(int hint) {
  // Both protocol versions number the hints UNKNOWN/UNSPECIFIED, YES, NO, GAUGE.
  switch (hint) {
    case 1:
      return model::HistogramSample::Reset::kYes;
    case 2:
      return model::HistogramSample::Reset::kNo;
    case 3:
      return model::HistogramSample::Reset::kGauge;
    default:
      return model::HistogramSample::Reset::kUnknown;
  }
}

// Converts spans and bucket counts of one side of a histogram. Integer histograms carry deltas
// (each bucket relative to the previous one on the same side), float histograms absolute counts.
template <typename SpanList, typename DeltaList, typename CountList>
absl::Status ConvertBuckets(bool is_float, const SpanList& spans, const DeltaList& deltas,
                            const CountList& counts, std::string_view side,
                            std::vector<model::BucketSpan>* out_spans,
                            std::vector<double>* out_buckets) {
  uint64_t total_length = 0;
  for (const auto& s : spans) {
    out_spans->push_back({s.offset(), s.length()});
    total_length += s.length();
  }
  if (is_float) {
    if (!deltas.empty()) {
      return absl::InvalidArgumentError(fmt::format("float histogram has integer {} deltas", side));
    }
    out_buckets->assign(counts.begin(), counts.end());
  } else {
    if (!counts.empty()) {
      return absl::InvalidArgumentError(fmt::format("integer histogram has float {} counts", side));
    }
    int64_t abs = 0;
    out_buckets->reserve(deltas.size());
    for (int64_t d : deltas) {
      // Wrapping arithmetic: a hostile delta must not be undefined behaviour.
      abs = static_cast<int64_t>(static_cast<uint64_t>(abs) + static_cast<uint64_t>(d));
      out_buckets->push_back(static_cast<double>(abs));
    }
  }
  if (total_length != out_buckets->size()) {
    return absl::InvalidArgumentError(fmt::format("{} spans cover {} buckets but {} are given",
                                                  side, total_length, out_buckets->size()));
  }
  return absl::OkStatus();
}

template <typename Hist>
absl::StatusOr<model::HistogramSample> ConvertHistogram(const Hist& h) {
  model::HistogramSample out;
  // A histogram is a float histogram when its count is the float variant (Prometheus'
  // IsFloatHistogram); an unset count means an integer histogram with count 0.
  bool is_float = h.count_case() == Hist::kCountFloat;
  out.timestamp_ms = h.timestamp();
  out.counter_reset = ConvertReset(static_cast<int>(h.reset_hint()));
  out.schema = h.schema();
  if (!((out.schema >= -4 && out.schema <= 8) || out.schema == -53)) {
    return absl::InvalidArgumentError(fmt::format("histogram schema {} out of range", out.schema));
  }
  out.zero_threshold = h.zero_threshold();
  out.count = is_float ? h.count_float() : static_cast<double>(h.count_int());
  out.zero_count = h.zero_count_case() == Hist::kZeroCountFloat
                       ? h.zero_count_float()
                       : static_cast<double>(h.zero_count_int());
  out.sum = h.sum();
  ORIEL_RETURN_IF_ERROR(ConvertBuckets(is_float, h.positive_spans(), h.positive_deltas(),
                                       h.positive_counts(), "positive", &out.positive_spans,
                                       &out.positive_buckets));
  ORIEL_RETURN_IF_ERROR(ConvertBuckets(is_float, h.negative_spans(), h.negative_deltas(),
                                       h.negative_counts(), "negative", &out.negative_spans,
                                       &out.negative_buckets));
  if (out.schema == -53) {
    out.custom_values.assign(h.custom_values().begin(), h.custom_values().end());
  } else if (!h.custom_values().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("histogram with schema {} has custom bucket bounds", out.schema));
  }
  return out;
}

model::MetricType ConvertType(int type) {
  // Both protocol versions number the metric types alike (UNKNOWN/UNSPECIFIED = 0).
  switch (type) {
    case 1:
      return model::MetricType::kCounter;
    case 2:
      return model::MetricType::kGauge;
    case 3:
      return model::MetricType::kHistogram;
    case 4:
      return model::MetricType::kGaugeHistogram;
    case 5:
      return model::MetricType::kSummary;
    case 6:
      return model::MetricType::kInfo;
    case 7:
      return model::MetricType::kStateSet;
    default:
      return model::MetricType::kUnknown;
  }
}

// Appends the float samples, histograms and exemplars common to both versions.
template <typename TimeSeries>
absl::Status ConvertData(const TimeSeries& ts, size_t index, model::SeriesData* out) {
  out->samples.reserve(ts.samples_size());
  for (const auto& s : ts.samples()) out->samples.push_back({s.timestamp(), s.value()});
  out->histograms.reserve(ts.histograms_size());
  for (int i = 0; i < ts.histograms_size(); ++i) {
    auto h = ConvertHistogram(ts.histograms(i));
    if (!h.ok()) {
      return absl::InvalidArgumentError(fmt::format("cannot decode histogram {} of series {}: {}",
                                                    i, index, h.status().message()));
    }
    out->histograms.push_back(*std::move(h));
  }
  return absl::OkStatus();
}

void CountInvalid(DecodedWrite& out, size_t index, const std::string& why,
                  const std::vector<model::Label>& raw, int64_t samples) {
  out.invalid_series.push_back(fmt::format("series {}: {} in {}", index, why, DescribeRaw(raw)));
  out.invalid_samples += samples;
}

}  // namespace

absl::StatusOr<DecodedWrite> DecodeV1(const prometheus::WriteRequest& request) {
  DecodedWrite out;
  out.batch.series.reserve(request.timeseries_size());
  for (int i = 0; i < request.timeseries_size(); ++i) {
    const prometheus::TimeSeries& ts = request.timeseries(i);
    out.samples += ts.samples_size();
    out.histograms += ts.histograms_size();
    out.exemplars += ts.exemplars_size();
    std::vector<model::Label> raw;
    raw.reserve(ts.labels_size());
    for (const auto& l : ts.labels()) raw.push_back({l.name(), l.value()});
    model::SeriesData series;
    std::string why = BuildSeriesLabels(raw, &series.labels);
    ORIEL_RETURN_IF_ERROR(ConvertData(ts, i, &series));
    if (!why.empty()) {
      CountInvalid(out, i, why, raw, ts.samples_size() + ts.histograms_size());
      continue;
    }
    for (const auto& e : ts.exemplars()) {
      std::vector<model::Label> el;
      for (const auto& l : e.labels()) el.push_back({l.name(), l.value()});
      series.exemplars.push_back(
          {model::Labels::FromUnsorted(std::move(el)), e.value(), e.timestamp()});
    }
    out.batch.series.push_back(std::move(series));
  }
  for (const auto& m : request.metadata()) {
    out.batch.metadata.push_back(
        {m.metric_family_name(), ConvertType(static_cast<int>(m.type())), m.help(), m.unit()});
  }
  return out;
}

absl::StatusOr<DecodedWrite> DecodeV2(const v2::Request& request) {
  DecodedWrite out;
  const auto& symbols = request.symbols();
  auto symbol = [&](uint32_t ref, size_t series,
                    std::string_view what) -> absl::StatusOr<std::string> {
    // Reference 0 is the empty string by the spec, even when a sender leaves the table empty.
    if (ref == 0 && symbols.empty()) return std::string();
    if (ref >= static_cast<uint32_t>(symbols.size())) {
      return absl::InvalidArgumentError(
          fmt::format("cannot resolve {} of series {}: symbol reference {} out of range (table has "
                      "{} symbols)",
                      what, series, ref, symbols.size()));
    }
    return symbols.Get(static_cast<int>(ref));
  };
  auto resolve_labels = [&](const google::protobuf::RepeatedField<uint32_t>& refs, size_t series,
                            std::string_view what) -> absl::StatusOr<std::vector<model::Label>> {
    if (refs.size() % 2 != 0) {
      return absl::InvalidArgumentError(
          fmt::format("cannot resolve {} of series {}: odd number ({}) of references", what, series,
                      refs.size()));
    }
    std::vector<model::Label> raw;
    raw.reserve(refs.size() / 2);
    for (int j = 0; j < refs.size(); j += 2) {
      ORIEL_ASSIGN_OR_RETURN(std::string name, symbol(refs[j], series, what));
      ORIEL_ASSIGN_OR_RETURN(std::string value, symbol(refs[j + 1], series, what));
      raw.push_back({std::move(name), std::move(value)});
    }
    return raw;
  };

  absl::flat_hash_map<std::string, size_t> metadata_index;
  out.batch.series.reserve(request.timeseries_size());
  for (int i = 0; i < request.timeseries_size(); ++i) {
    const v2::TimeSeries& ts = request.timeseries(i);
    out.samples += ts.samples_size();
    out.histograms += ts.histograms_size();
    out.exemplars += ts.exemplars_size();
    ORIEL_ASSIGN_OR_RETURN(std::vector<model::Label> raw,
                           resolve_labels(ts.labels_refs(), i, "labels"));
    model::SeriesData series;
    std::string why = BuildSeriesLabels(raw, &series.labels);
    ORIEL_RETURN_IF_ERROR(ConvertData(ts, i, &series));
    std::vector<model::Exemplar> exemplars;
    for (const auto& e : ts.exemplars()) {
      ORIEL_ASSIGN_OR_RETURN(std::vector<model::Label> el,
                             resolve_labels(e.labels_refs(), i, "exemplar labels"));
      exemplars.push_back({model::Labels::FromUnsorted(std::move(el)), e.value(), e.timestamp()});
    }
    model::MetricMetadata md;
    bool has_metadata = ts.has_metadata();
    if (has_metadata) {
      md.type = ConvertType(static_cast<int>(ts.metadata().type()));
      ORIEL_ASSIGN_OR_RETURN(md.help, symbol(ts.metadata().help_ref(), i, "help"));
      ORIEL_ASSIGN_OR_RETURN(md.unit, symbol(ts.metadata().unit_ref(), i, "unit"));
      has_metadata = md.type != model::MetricType::kUnknown || !md.help.empty() || !md.unit.empty();
    }
    if (!why.empty()) {
      CountInvalid(out, i, why, raw, ts.samples_size() + ts.histograms_size());
      continue;
    }
    series.exemplars = std::move(exemplars);
    if (has_metadata) {
      md.metric_family = std::string(series.labels.MetricName());
      auto [it, inserted] = metadata_index.try_emplace(md.metric_family, out.batch.metadata.size());
      if (inserted) {
        out.batch.metadata.push_back(std::move(md));
      } else {
        out.batch.metadata[it->second] = std::move(md);  // the last one of a request wins
      }
    }
    out.batch.series.push_back(std::move(series));
  }
  return out;
}

}  // namespace oriel::ingest
