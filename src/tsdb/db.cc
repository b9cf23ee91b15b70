#include "tsdb/db.h"

#include <algorithm>
#include <bit>
#include <filesystem>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/log.h"
#include "base/status.h"
#include "tsdb/db_internal.h"
#include "tsdb/merge.h"
#include "tsdb/page_cache.h"
#include "tsdb/series_iterator.h"
#include "tsdb/wal_records.h"

namespace oriel::tsdb {
namespace {

// For error messages: long names and values are cut.
std::string Abbrev(std::string_view s) {
  return s.size() <= 64 ? std::string(s) : fmt::format("{}...", s.substr(0, 64));
}

absl::Status ValidateHistogram(const model::HistogramSample& h) {
  bool custom = h.schema == -53;
  if (!custom && (h.schema < -4 || h.schema > 8)) {
    return absl::InvalidArgumentError(fmt::format("schema {} is not in -4..8 or -53", h.schema));
  }
  if (!custom && !h.custom_values.empty()) {
    return absl::InvalidArgumentError("custom bucket bounds with an exponential schema");
  }
  auto check = [](const std::vector<model::BucketSpan>& spans, const std::vector<double>& buckets,
                  std::string_view side) -> absl::Status {
    uint64_t total = 0;
    for (const auto& s : spans) total += s.length;
    if (total != buckets.size()) {
      return absl::InvalidArgumentError(fmt::format(
          "{} spans cover {} buckets but there are {} bucket counts", side, total, buckets.size()));
    }
    for (double b : buckets) {
      if (b < 0) return absl::InvalidArgumentError(fmt::format("negative {} bucket count", side));
    }
    return absl::OkStatus();
  };
  ORIEL_RETURN_IF_ERROR(check(h.positive_spans, h.positive_buckets, "positive"));
  ORIEL_RETURN_IF_ERROR(check(h.negative_spans, h.negative_buckets, "negative"));
  if (h.count < 0 || h.zero_count < 0) {
    return absl::InvalidArgumentError("negative count");
  }
  return absl::OkStatus();
}

bool SameExemplar(const model::Exemplar& a, const model::Exemplar& b) {
  return a.timestamp_ms == b.timestamp_ms &&
         std::bit_cast<uint64_t>(a.value) == std::bit_cast<uint64_t>(b.value) &&
         a.labels == b.labels;
}

// Locks the append_mu of a set of series in ref order (so writers never deadlock) and unlocks
// them when it goes out of scope.
class SeriesLocks {
 public:
  explicit SeriesLocks(std::vector<MemSeries*> series) : series_(std::move(series)) {
    std::sort(series_.begin(), series_.end(),
              [](const MemSeries* a, const MemSeries* b) { return a->ref < b->ref; });
    series_.erase(std::unique(series_.begin(), series_.end()), series_.end());
    for (MemSeries* s : series_) s->append_mu.lock();
  }
  ~SeriesLocks() {
    for (auto it = series_.rbegin(); it != series_.rend(); ++it) (*it)->append_mu.unlock();
  }
  SeriesLocks(const SeriesLocks&) = delete;
  SeriesLocks& operator=(const SeriesLocks&) = delete;
  const std::vector<MemSeries*>& series() const { return series_; }

 private:
  std::vector<MemSeries*> series_;
};

}  // namespace

DB::DB(std::unique_ptr<storage::Wal> wal, DbOptions options, std::string dir)
    : options_(options),
      head_(std::make_unique<Head>(options.head)),
      wal_(std::move(wal)),
      dir_(std::move(dir)),
      page_cache_(options.page_cache_bytes > 0
                      ? std::make_shared<PageCache>(options.page_cache_bytes)
                      : nullptr) {
  metrics::Registry* registry = options_.registry;
  if (registry == nullptr) {
    own_registry_ = std::make_unique<metrics::Registry>();
    registry = own_registry_.get();
  }
  metrics_ = std::make_unique<SelfMetrics>(*registry);
}

DB::~DB() {
  {
    std::lock_guard lock(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
}

absl::StatusOr<std::unique_ptr<DB>> DB::Open(std::unique_ptr<storage::Wal> wal, DbOptions options) {
  return OpenImpl(std::move(wal), options, "");
}

absl::StatusOr<std::unique_ptr<DB>> DB::OpenImpl(std::unique_ptr<storage::Wal> wal,
                                                 DbOptions options, std::string dir) {
  if (options.head.samples_per_chunk <= 0 || options.head.out_of_order_time_window_ms < 0 ||
      options.block_range_ms <= 0 || options.retention_time_ms < 0 ||
      options.retention_size_bytes < 0 ||
      (options.compaction_factor > 1 &&
       options.block_range_ms > INT64_MAX / options.compaction_factor)) {
    return absl::InvalidArgumentError(
        "cannot open metrics engine: samples_per_chunk and block_range_ms must be positive and "
        "out_of_order_time_window_ms, retention_time_ms and retention_size_bytes not negative");
  }
  std::unique_ptr<DB> db(new DB(std::move(wal), options, std::move(dir)));
  if (!db->dir_.empty()) ORIEL_RETURN_IF_ERROR(db->LoadBlocks());
  ORIEL_RETURN_IF_ERROR(db->Replay());
  if (!db->dir_.empty() && options.background_maintenance) {
    db->bg_thread_ = std::thread([d = db.get()] { d->BackgroundLoop(); });
  }
  return db;
}

absl::Status DB::Replay() {
  int64_t records = 0, unknown_refs = 0, in_blocks = 0;
  ORIEL_ASSIGN_OR_RETURN(uint64_t first_segment, CheckpointSegment());
  // Samples the blocks already hold (a crash came between writing a block and truncating the
  // WAL) are skipped, so nothing is read twice.
  const int64_t min_valid = head_->MinValidTime();
  auto apply = [&](std::string_view bytes) -> absl::Status {
    ORIEL_ASSIGN_OR_RETURN(WalRecord rec, DecodeWalRecord(bytes));
    ++records;
    // The WAL only holds samples that were accepted, so they are applied without the checks.
    for (WalSeries& s : rec.series) {
      ORIEL_RETURN_IF_ERROR(head_->CreateWithRef(s.ref, s.labels));
      head_->Get(s.ref)->logged = true;
    }
    const bool late = rec.type == WalRecordType::kOooSamples;
    for (const WalSample& s : rec.samples) {
      if (late) {
        // Late samples are not in the blocks the head cut, though maybe in a block of their
        // own when a crash came before the WAL was truncated: a duplicate reads merge away.
        if (MemSeries* series = head_->Get(s.ref); series != nullptr) {
          head_->ApplyLateFloat(*series, s.t, s.v);
        } else {
          ++unknown_refs;
        }
        continue;
      }
      if (s.t < min_valid) {
        ++in_blocks;
        continue;
      }
      MemSeries* series = head_->Get(s.ref);
      if (series == nullptr) {
        ++unknown_refs;
        continue;
      }
      head_->ApplyFloat(*series, s.t, s.v);
    }
    for (const WalHistogram& h : rec.histograms) {
      if (h.h.timestamp_ms < min_valid) {
        ++in_blocks;
        continue;
      }
      MemSeries* series = head_->Get(h.ref);
      if (series == nullptr) {
        ++unknown_refs;
        continue;
      }
      head_->ApplyHistogram(*series, h.h);
    }
    for (const WalExemplar& e : rec.exemplars) {
      if (head_->Get(e.ref) == nullptr) {
        ++unknown_refs;
        continue;
      }
      head_->exemplars().Add(e.ref, e.e);
    }
    for (const model::MetricMetadata& m : rec.metadata) head_->SetMetadata(m);
    return absl::OkStatus();
  };
  absl::Status st;
  if (!dir_.empty()) {
    // The checkpoint holds the head as of the cut; the segments from it on, what came after.
    const std::string checkpoint = CheckpointDirPath(dir_, first_segment);
    std::error_code ec;
    if (first_segment > 0 && std::filesystem::is_directory(checkpoint, ec)) {
      absl::StatusOr<std::unique_ptr<storage::Wal>> cp = storage::Wal::Open(checkpoint);
      st = cp.ok() ? (*cp)->Replay(0, apply) : cp.status();
    }
    // Checkpoints a crash kept from being used or deleted.
    RemoveStaleCheckpoints(first_segment);
  }
  if (st.ok()) st = wal_->Replay(first_segment, apply);
  if (!st.ok()) {
    return absl::Status(st.code(), fmt::format("cannot replay the metrics WAL: {}", st.message()));
  }
  if (unknown_refs > 0) {
    log::Warn("metrics WAL refers to unknown series", {{"references", unknown_refs}});
  }
  if (in_blocks > 0) {
    // Series whose samples were all in blocks.
    head_->TruncateBefore(min_valid);
    head_->FreeRetired();
  }
  metrics_->late_samples.Set(static_cast<double>(head_->NumLate()));
  metrics_->head_series.Set(static_cast<double>(head_->NumSeries()));
  log::Info("replayed metrics WAL", {{"records", records},
                                     {"series", static_cast<int64_t>(head_->NumSeries())},
                                     {"skipped_in_blocks", in_blocks}});
  return absl::OkStatus();
}

absl::Status DB::Validate(const model::MetricBatch& batch) const {
  for (const model::SeriesData& sd : batch.series) {
    const model::Labels& labels = sd.labels;
    // Checked first: the lookups below rely on the order.
    for (size_t i = 0; i < labels.size(); ++i) {
      const model::LabelRef l = labels[i];
      if (l.name.empty() || l.value.empty() || (i > 0 && labels[i - 1].name >= l.name)) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot store series {}: labels must be sorted by name, with unique non-empty names "
            "and non-empty values",
            Abbrev(labels.ToString())));
      }
    }
    if (labels.MetricName().empty()) {
      return absl::InvalidArgumentError(
          fmt::format("cannot store series {}: the metric name (__name__) is missing or empty",
                      labels.ToString()));
    }
    if (options_.max_labels_per_series > 0 && labels.size() > options_.max_labels_per_series) {
      return absl::InvalidArgumentError(
          fmt::format("cannot store series {}: {} labels, more than the limit of {}",
                      Abbrev(labels.ToString()), labels.size(), options_.max_labels_per_series));
    }
    for (const model::LabelRef& l : labels) {
      if (options_.max_label_name_length > 0 && l.name.size() > options_.max_label_name_length) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot store series {}: label name \"{}\" is {} bytes long, more than the limit of {}",
            Abbrev(labels.ToString()), Abbrev(l.name), l.name.size(),
            options_.max_label_name_length));
      }
      if (options_.max_label_value_length > 0 && l.value.size() > options_.max_label_value_length) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot store series {}: the value of label \"{}\" is {} bytes long, more than the "
            "limit of {}",
            Abbrev(labels.ToString()), Abbrev(l.name), l.value.size(),
            options_.max_label_value_length));
      }
    }
    for (const model::HistogramSample& h : sd.histograms) {
      if (absl::Status st = ValidateHistogram(h); !st.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("cannot store histogram of series {} at {}: {}", Abbrev(labels.ToString()),
                        h.timestamp_ms, st.message()));
      }
    }
  }
  for (const model::MetricMetadata& m : batch.metadata) {
    if (m.metric_family.empty()) {
      return absl::InvalidArgumentError("cannot store metadata: the metric family name is empty");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> DB::Write(model::MetricBatch batch) {
  ORIEL_RETURN_IF_ERROR(Validate(batch));
  absl::StatusOr<WriteResult> result = WriteLocked(std::move(batch));
  if (bg_thread_.joinable() && HeadNeedsPersisting()) {
    std::lock_guard lock(bg_mu_);
    kick_ = true;
    bg_cv_.notify_all();
  }
  return result;
}

absl::StatusOr<WriteResult> DB::WriteLocked(model::MetricBatch batch) {
  // Keeps the head's valid range and its series fixed from the checks to applying.
  absl::ReaderMutexLock gc(&gc_mu_);
  std::vector<const model::Labels*> labels;
  labels.reserve(batch.series.size());
  for (const model::SeriesData& sd : batch.series) labels.push_back(&sd.labels);
  std::vector<bool> created;
  ORIEL_ASSIGN_OR_RETURN(std::vector<MemSeries*> series,
                         head_->GetOrCreate(labels, options_.max_active_series, &created));
  int64_t num_created = std::count(created.begin(), created.end(), true);
  if (num_created > 0) {
    metrics_->series_created.Inc(static_cast<double>(num_created));
    metrics_->head_series.Set(static_cast<double>(head_->NumSeries()));
  }

  SeriesLocks locks(series);

  // Check every sample against the head plus what this write accepted before it.
  struct SeriesState {
    Staged staged;
    bool exemplar_loaded = false;
    std::optional<model::Exemplar> last_exemplar;
  };
  // One state per distinct series. A batch usually names each series once (then the state of
  // batch entry i is states[i], no map needed); a series named twice must share its state.
  const bool distinct = locks.series().size() == batch.series.size();
  std::vector<SeriesState> states(distinct ? batch.series.size() : locks.series().size());
  absl::flat_hash_map<uint32_t, size_t> state_index;  // ref -> states index, when not distinct
  if (!distinct) {
    for (size_t k = 0; k < locks.series().size(); ++k) state_index[locks.series()[k]->ref] = k;
  }
  std::vector<bool> state_ready(states.size(), false);
  size_t num_floats = 0;
  for (const model::SeriesData& sd : batch.series) num_floats += sd.samples.size();
  std::vector<WalSample> floats;
  std::vector<MemSeries*> float_series;  // parallel to `floats`
  floats.reserve(num_floats);
  float_series.reserve(num_floats);
  // Accepted below the head's valid range (see Head::ApplyLateFloat); fixed meanwhile by gc_mu_.
  std::vector<WalSample> late_floats;
  std::vector<MemSeries*> late_series;  // parallel to `late_floats`
  const int64_t min_valid_time = head_->MinValidTime();
  std::vector<std::pair<MemSeries*, const model::HistogramSample*>> histograms;
  std::vector<std::pair<MemSeries*, const model::Exemplar*>> exemplars;
  WriteResult result;
  int64_t head_max = head_->MaxTime();
  int64_t ooo_accepted = 0;
  auto reject = [&](std::string_view type, Verdict v, const MemSeries& s, int64_t t) {
    ++result.samples_rejected;
    metrics_->Reject(type, v);
    if (result.first_rejection.empty()) {
      result.first_rejection =
          fmt::format("{} for series {} at {}", VerdictMessage(v), s.labels.ToString(), t);
    }
  };

  for (size_t i = 0; i < batch.series.size(); ++i) {
    const model::SeriesData& sd = batch.series[i];
    MemSeries& s = *series[i];
    size_t k = distinct ? i : state_index.find(s.ref)->second;
    SeriesState& state = states[k];
    if (!state_ready[k]) {
      state.staged = Staged::Of(s);
      state_ready[k] = true;
    }

    for (const model::Sample& sample : sd.samples) {
      Verdict v = head_->CheckFloat(s, state.staged, sample.timestamp_ms, sample.value, head_max);
      switch (v) {
        case Verdict::kAppendOutOfOrder:
          ++ooo_accepted;
          if (sample.timestamp_ms < min_valid_time) {
            Head::RecordFloat(state.staged, v, sample.timestamp_ms, sample.value);
            late_floats.push_back({s.ref, sample.timestamp_ms, sample.value});
            late_series.push_back(&s);
            ++result.samples_written;
            break;
          }
          [[fallthrough]];
        case Verdict::kAppend:
          Head::RecordFloat(state.staged, v, sample.timestamp_ms, sample.value);
          floats.push_back({s.ref, sample.timestamp_ms, sample.value});
          float_series.push_back(&s);
          head_max = std::max(head_max, sample.timestamp_ms);
          ++result.samples_written;
          break;
        case Verdict::kDuplicate:
          ++result.samples_written;
          break;
        default:
          reject("float", v, s, sample.timestamp_ms);
      }
    }
    for (const model::HistogramSample& h : sd.histograms) {
      Verdict v = head_->CheckHistogram(s, state.staged, h, head_max);
      switch (v) {
        case Verdict::kAppend:
          Head::RecordHistogram(state.staged, v, h);
          histograms.emplace_back(&s, &h);
          head_max = std::max(head_max, h.timestamp_ms);
          ++result.histograms_written;
          break;
        case Verdict::kDuplicate:
          ++result.histograms_written;
          break;
        default:
          reject("histogram", v, s, h.timestamp_ms);
      }
    }
    if (head_->exemplars().capacity() == 0) continue;  // exemplar storage disabled
    for (const model::Exemplar& e : sd.exemplars) {
      if (!state.exemplar_loaded) {
        state.last_exemplar = head_->exemplars().Newest(s.ref);
        state.exemplar_loaded = true;
      }
      std::string_view problem;
      if (ExemplarLabelChars(e.labels) > kMaxExemplarLabelChars) {
        problem = "exemplar label set too long";
      } else if (state.last_exemplar.has_value()) {
        if (SameExemplar(*state.last_exemplar, e)) {
          ++result.exemplars_written;  // already stored
          continue;
        }
        if (e.timestamp_ms <= state.last_exemplar->timestamp_ms) problem = "out of order exemplar";
      }
      if (!problem.empty()) {
        ++result.exemplars_rejected;
        metrics_->exemplars_rejected.Inc();
        if (result.first_rejection.empty()) {
          result.first_rejection =
              fmt::format("{} for series {} at {}", problem, s.labels.ToString(), e.timestamp_ms);
        }
        continue;
      }
      state.last_exemplar = e;
      exemplars.emplace_back(&s, &e);
      ++result.exemplars_written;
    }
  }

  // One WAL append for the whole write; series records first, for series not yet logged.
  bool anything = !floats.empty() || !late_floats.empty() || !histograms.empty() ||
                  !exemplars.empty() || !batch.metadata.empty();
  if (anything) {
    std::vector<WalSeries> new_series;
    for (MemSeries* s : locks.series()) {
      if (!s->logged) new_series.push_back({s->ref, s->labels});
    }
    std::vector<std::string> records;
    if (!new_series.empty()) EncodeSeriesRecord(records.emplace_back(), new_series);
    if (!floats.empty()) EncodeSamplesRecord(records.emplace_back(), floats);
    if (!late_floats.empty()) EncodeOooSamplesRecord(records.emplace_back(), late_floats);
    if (!histograms.empty()) {
      std::vector<WalHistogram> hs;
      hs.reserve(histograms.size());
      for (const auto& [s, h] : histograms) hs.push_back({s->ref, *h});
      EncodeHistogramsRecord(records.emplace_back(), hs);
    }
    if (!exemplars.empty()) {
      std::vector<WalExemplar> es;
      es.reserve(exemplars.size());
      for (const auto& [s, e] : exemplars) es.push_back({s->ref, *e});
      EncodeExemplarsRecord(records.emplace_back(), es);
    }
    if (!batch.metadata.empty()) EncodeMetadataRecord(records.emplace_back(), batch.metadata);
    std::vector<std::string_view> views(records.begin(), records.end());
    if (absl::Status st = wal_->Append(views); !st.ok()) {
      metrics_->wal_failures.Inc();
      log::Error("cannot write metrics to the WAL", {{"err", st}});
      return absl::UnavailableError(
          fmt::format("cannot write metrics to the WAL: {}", st.message()));
    }
    for (MemSeries* s : locks.series()) s->logged = true;
  }

  // Durable: now visible.
  for (size_t i = 0; i < floats.size(); ++i) {
    head_->ApplyFloat(*float_series[i], floats[i].t, floats[i].v);
  }
  for (size_t i = 0; i < late_floats.size(); ++i) {
    head_->ApplyLateFloat(*late_series[i], late_floats[i].t, late_floats[i].v);
  }
  for (const auto& [s, h] : histograms) head_->ApplyHistogram(*s, *h);
  for (const auto& [s, e] : exemplars) head_->exemplars().Add(s->ref, *e);
  for (const model::MetricMetadata& m : batch.metadata) head_->SetMetadata(m);

  metrics_->samples_appended.WithLabels({"float"}).Inc(
      static_cast<double>(floats.size() + late_floats.size()));
  metrics_->samples_appended.WithLabels({"histogram"}).Inc(static_cast<double>(histograms.size()));
  metrics_->ooo_appended.Inc(static_cast<double>(ooo_accepted));
  if (!late_floats.empty()) metrics_->late_samples.Set(static_cast<double>(head_->NumLate()));
  metrics_->exemplars_appended.Inc(static_cast<double>(exemplars.size()));
  return result;
}

std::vector<MemSeries*> DB::SeriesInRange(int64_t mint, int64_t maxt,
                                          std::span<const model::Matcher> matchers) const {
  std::vector<MemSeries*> out = head_->Select(matchers);
  std::erase_if(out, [&](MemSeries* s) { return !head_->Overlaps(*s, mint, maxt); });
  return out;
}

std::unique_ptr<SeriesSet> DB::Select(int64_t mint_ms, int64_t maxt_ms,
                                      std::span<const model::Matcher> matchers,
                                      const SelectHints* hints) {
  auto guard = std::make_unique<ReaderGuard>(*this);
  // Blocks first: where a block and the head hold the same timestamp, the block's sample wins.
  std::vector<std::unique_ptr<SeriesSet>> sets;
  for (const auto& b : Blocks()) {
    if (b->Overlaps(mint_ms, maxt_ms)) sets.push_back(b->Select(mint_ms, maxt_ms, matchers));
  }
  std::vector<MemSeries*> series = SeriesInRange(mint_ms, maxt_ms, matchers);
  head_->SortByLabels(series);
  sets.push_back(std::make_unique<HeadSeriesSet>(*head_, std::move(series), mint_ms, maxt_ms));
  std::unique_ptr<SeriesSet> set =
      sets.size() == 1 ? std::move(sets[0]) : std::make_unique<MergeSeriesSet>(std::move(sets));
  return std::make_unique<GuardedSeriesSet>(std::move(guard), std::move(set));
}

absl::StatusOr<std::vector<std::string>> DB::LabelNames(int64_t mint_ms, int64_t maxt_ms,
                                                        std::span<const model::Matcher> matchers) {
  ReaderGuard guard(*this);
  absl::flat_hash_set<std::string> names;
  // The index answers directly when the range covers all of the head (late samples lie outside
  // the head's MinTime/MaxTime).
  if (matchers.empty() && mint_ms <= head_->MinTime() && maxt_ms >= head_->MaxTime() &&
      head_->NumLate() == 0) {
    for (std::string& n : head_->LabelNames()) names.insert(std::move(n));
  } else {
    for (MemSeries* s : SeriesInRange(mint_ms, maxt_ms, matchers)) {
      for (const model::LabelRef& l : s->labels) names.emplace(l.name);
    }
  }
  for (const auto& b : Blocks()) {
    if (!b->Overlaps(mint_ms, maxt_ms)) continue;
    for (std::string& n : b->LabelNames(mint_ms, maxt_ms, matchers)) names.insert(std::move(n));
  }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<std::string>> DB::LabelValues(std::string_view name, int64_t mint_ms,
                                                         int64_t maxt_ms,
                                                         std::span<const model::Matcher> matchers) {
  ReaderGuard guard(*this);
  absl::flat_hash_set<std::string> values;
  if (matchers.empty() && mint_ms <= head_->MinTime() && maxt_ms >= head_->MaxTime() &&
      head_->NumLate() == 0) {
    for (std::string& v : head_->LabelValues(name)) values.insert(std::move(v));
  } else {
    for (MemSeries* s : SeriesInRange(mint_ms, maxt_ms, matchers)) {
      std::string_view v = s->labels.Get(name);
      if (!v.empty()) values.insert(std::string(v));
    }
  }
  for (const auto& b : Blocks()) {
    if (!b->Overlaps(mint_ms, maxt_ms)) continue;
    for (std::string& v : b->LabelValues(name, mint_ms, maxt_ms, matchers)) {
      values.insert(std::move(v));
    }
  }
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<model::MetricMetadata> DB::Metadata(std::string_view metric, size_t limit) {
  return head_->Metadata(metric, limit);
}

std::vector<ExemplarSeries> DB::Exemplars(int64_t mint_ms, int64_t maxt_ms,
                                          std::span<const model::Matcher> matchers) {
  ReaderGuard guard(*this);
  std::vector<ExemplarSeries> out;
  for (MemSeries* s : head_->Select(matchers)) {
    std::vector<model::Exemplar> es = head_->exemplars().Get(s->ref, mint_ms, maxt_ms);
    if (!es.empty()) out.push_back({s->labels, std::move(es)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.series_labels < b.series_labels; });
  return out;
}

}  // namespace oriel::tsdb
