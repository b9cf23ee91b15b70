// The metrics engine's narrow write and read interfaces. Ingest paths write through
// MetricsWriter; PromQL and the HTTP APIs read through MetricsReader. server/ is the only code
// that names the concrete engine, so a second backend can slot in behind these.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/sample.h"

namespace oriel::tsdb {

// What a write stored, and what it refused sample by sample (the rest of the batch is stored).
struct WriteResult {
  int64_t samples_written = 0;
  int64_t histograms_written = 0;
  int64_t exemplars_written = 0;
  int64_t samples_rejected = 0;  // out of order, too old, duplicate timestamp with another value
  int64_t exemplars_rejected = 0;
  std::string
      first_rejection;  // e.g. `out of order sample for series up{job="a"} at 1700000000000`
};

class MetricsWriter {
 public:
  virtual ~MetricsWriter() = default;

  // Stores `batch`; returns only once everything it reports as written is durable (in the WAL
  // and fsync'd; concurrent writers share one fsync). Thread-safe.
  // Errors reject the whole batch and store nothing:
  //   kInvalidArgument   a series breaks a limit or is malformed (no/empty __name__, too many
  //                      labels, name or value too long): the sender must not retry (HTTP 400)
  //   kResourceExhausted over the active-series or memory limit: retry later (HTTP 429)
  //   kUnavailable       storage cannot write now (disk full, shutting down): retry (HTTP 503)
  [[nodiscard]] virtual absl::StatusOr<WriteResult> Write(model::MetricBatch batch) = 0;

  // For each label set of `sets` the engine holds a series for, sets `out[i]` to the engine's
  // own copy of it, leaving the others as they are: a decoder then hands the engine its very
  // set (found without a second lookup) instead of building an equal one for every sample of a
  // known series. The sets handed out are valid series (a non-empty __name__, as Write
  // requires). The default finds nothing. Thread-safe.
  // REQUIRES: out.size() == sets.size().
  virtual void FindLabels(std::span<const model::LabelViews> sets, std::span<model::Labels> out) {
    (void)sets;
    (void)out;
  }
};

// Iterates the samples of one series in time order. Float and histogram samples may alternate.
class SampleIterator {
 public:
  enum class ValueType : uint8_t { kNone, kFloat, kHistogram };
  virtual ~SampleIterator() = default;
  // Advances to the next sample; kNone at the end.
  virtual ValueType Next() = 0;
  // Advances to the first sample with timestamp >= t (staying put if already there).
  virtual ValueType Seek(int64_t t) = 0;
  virtual int64_t AtTime() const = 0;
  // REQUIRES: the current sample is a float.
  virtual double AtFloat() const = 0;
  // REQUIRES: the current sample is a histogram.
  virtual const model::HistogramSample& AtHistogram() const = 0;

  // The bulk read: appends to `out`, in time order, the float samples with timestamps in
  // [mint, maxt] that Seek(mint) and Next() would return, and, when `histogram_times` is not
  // null, appends there the timestamps of the histogram samples among them (else they are
  // skipped). Readers that want every float of a range call this instead of three virtual calls
  // per sample: the engine's iterators decode whole chunks straight into `out`. The default
  // implementation iterates with Seek and Next.
  // REQUIRES: a fresh iterator (neither Next nor Seek called yet). Afterwards the iterator is
  // spent: only its destruction is allowed.
  virtual void AppendFloats(int64_t mint, int64_t maxt, std::vector<model::Sample>* out,
                            std::vector<int64_t>* histogram_times);
};

inline void SampleIterator::AppendFloats(int64_t mint, int64_t maxt,
                                         std::vector<model::Sample>* out,
                                         std::vector<int64_t>* histogram_times) {
  for (ValueType vt = Seek(mint); vt != ValueType::kNone && AtTime() <= maxt; vt = Next()) {
    if (vt == ValueType::kFloat) {
      out->push_back({AtTime(), AtFloat()});
    } else if (histogram_times != nullptr) {
      histogram_times->push_back(AtTime());
    }
  }
}

// Series in label order, each with an iterator over its samples in the selected range.
class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  virtual bool Next() = 0;
  virtual const model::Labels& labels() const = 0;
  virtual std::unique_ptr<SampleIterator> Samples() const = 0;
  // Why iteration stopped early, if it did (e.g. a limit); OK otherwise.
  virtual absl::Status status() const { return absl::OkStatus(); }
};

// Optional facts about a select that let the engine read less.
struct SelectHints {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
  int64_t range_ms = 0;  // of the range vector, if any
  std::string func;      // the function around the selector, e.g. "rate"
};

struct ExemplarSeries {
  model::Labels series_labels;
  std::vector<model::Exemplar> exemplars;
};

class MetricsReader {
 public:
  virtual ~MetricsReader() = default;

  // Every series matching all `matchers` with samples in [mint_ms, maxt_ms] (inclusive).
  // REQUIRES: at least one matcher that does not match the empty string. Thread-safe.
  virtual std::unique_ptr<SeriesSet> Select(int64_t mint_ms, int64_t maxt_ms,
                                            std::span<const model::Matcher> matchers,
                                            const SelectHints* hints) = 0;

  // Label names (sorted) of series in the range matching `matchers` (all series if empty).
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      int64_t mint_ms, int64_t maxt_ms, std::span<const model::Matcher> matchers) = 0;

  // Values (sorted) of label `name` over matching series in the range.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name, int64_t mint_ms, int64_t maxt_ms,
      std::span<const model::Matcher> matchers) = 0;

  // Metadata by metric family name ("" for all), at most `limit` families (0: no limit).
  virtual std::vector<model::MetricMetadata> Metadata(std::string_view metric, size_t limit) = 0;

  // Exemplars of matching series in the range.
  virtual std::vector<ExemplarSeries> Exemplars(int64_t mint_ms, int64_t maxt_ms,
                                                std::span<const model::Matcher> matchers) = 0;
};

}  // namespace oriel::tsdb
