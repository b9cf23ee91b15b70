#include "ingest/pushgateway/pushgateway_store.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"
#include "ingest/pushgateway/family_convert.h"
#include "ingest/pushgateway/group_file.h"

namespace oriel::ingest {
namespace {

namespace pb = io::prometheus::client;

constexpr std::string_view kPushTime = "push_time_seconds";
constexpr std::string_view kPushFailureTime = "push_failure_time_seconds";
constexpr std::string_view kInconsistent =
    "pushed metrics are invalid or inconsistent with existing metrics: ";

bool IsComposite(pb::MetricType t) {
  return t == pb::SUMMARY || t == pb::HISTOGRAM || t == pb::GAUGE_HISTOGRAM;
}

// The sample names a composite family `name` also occupies.
std::vector<std::string> DerivedNames(const pb::MetricFamily& mf) {
  if (!IsComposite(mf.type())) return {};
  std::vector<std::string> out = {mf.name() + "_sum", mf.name() + "_count"};
  if (mf.type() != pb::SUMMARY) out.push_back(mf.name() + "_bucket");
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PushgatewayStore>> PushgatewayStore::Open(
    std::string file_path, tsdb::MetricsWriter& writer) {
  PushGroups groups;
  if (!file_path.empty()) {
    std::error_code ec;
    auto dir = std::filesystem::path(file_path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
    }
    auto data = ReadWholeFile(file_path);
    if (data.ok()) {
      auto decoded = DecodeGroups(*data);
      if (!decoded.ok()) {
        return absl::DataLossError(
            fmt::format("cannot load {}: {}", file_path, decoded.status().message()));
      }
      groups = *std::move(decoded);
    } else if (!absl::IsNotFound(data.status())) {
      return data.status();
    }
  }
  return std::unique_ptr<PushgatewayStore>(
      new PushgatewayStore(std::move(file_path), writer, std::move(groups)));
}

absl::Status PushgatewayStore::PersistLocked() {
  if (file_path_.empty()) return absl::OkStatus();
  return WriteFileAtomically(file_path_, EncodeGroups(groups_));
}

absl::Status PushgatewayStore::CheckLocked(const GroupingKey& key, const PushGroup& candidate,
                                           const std::vector<std::string>& pushed_names) const {
  for (const std::string& name : pushed_names) {
    auto fit = candidate.families.find(name);
    if (fit == candidate.families.end()) continue;
    const pb::MetricFamily& mf = fit->second.family;
    std::set<std::string> seen;
    for (const pb::Metric& m : mf.metric()) {
      std::string labels = MetricLabelsString(m);
      if (!seen.insert(labels).second) {
        return absl::InvalidArgumentError(fmt::format(
            "collected metric \"{}\" {} was collected before with the same name and label values",
            name, labels));
      }
    }
    std::vector<std::string> derived = DerivedNames(mf);
    for (const auto& [other_key, other] : groups_) {
      // The candidate replaces this group's stored state, so only other groups count, plus the
      // candidate itself for name collisions below.
      if (other_key == key) continue;
      auto oit = other.families.find(name);
      if (oit != other.families.end() && oit->second.family.type() != mf.type()) {
        return absl::InvalidArgumentError(fmt::format(
            "metric family \"{}\" is {} in this push but {} in group {}", name, TypeName(mf.type()),
            TypeName(oit->second.family.type()), GroupingKeyString(other_key)));
      }
    }
    // A summary/histogram `x` and a family named like its samples (`x_sum`, ...) cannot both
    // be exposed, in any group.
    auto collides = [&](const std::string& d) -> absl::Status {
      return absl::InvalidArgumentError(
          fmt::format("metric family \"{}\" collides with the samples of {} family \"{}\"", d,
                      TypeName(mf.type()), name));
    };
    for (const auto& [other_key, other] : groups_) {
      const PushGroup& g = other_key == key ? candidate : other;
      for (const std::string& d : derived) {
        if (g.families.count(d)) return collides(d);
      }
      for (std::string_view suffix : {"_sum", "_count", "_bucket"}) {
        if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
        auto bit = g.families.find(name.substr(0, name.size() - suffix.size()));
        if (bit != g.families.end()) {
          std::vector<std::string> bd = DerivedNames(bit->second.family);
          if (std::find(bd.begin(), bd.end(), name) != bd.end()) {
            return absl::InvalidArgumentError(
                fmt::format("metric family \"{}\" collides with the samples of {} family \"{}\"",
                            name, TypeName(bit->second.family.type()), bit->first));
          }
        }
      }
    }
    if (!groups_.count(key)) {
      for (const std::string& d : derived) {
        if (candidate.families.count(d)) return collides(d);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status PushgatewayStore::Push(const GroupingKey& key, std::vector<pb::MetricFamily> families,
                                    PushMode mode, absl::Time now) {
  std::string failure;
  std::vector<std::string> names;
  std::vector<pb::MetricFamily> kept;
  for (pb::MetricFamily& mf : families) {
    if (failure.empty() && HasTimestamps(mf)) failure = "pushed metrics must not have timestamps";
    if (failure.empty()) {
      absl::Status st = ValidateFamily(mf);
      if (!st.ok()) failure = std::string(st.message());
    }
    if (mf.name() == kPushTime || mf.name() == kPushFailureTime) continue;
    ApplyGroupingLabels(key, &mf);
    names.push_back(mf.name());
    kept.push_back(std::move(mf));
  }

  absl::MutexLock lock(&mu_);
  auto it = groups_.find(key);
  PushGroup candidate;
  if (it != groups_.end()) {
    candidate = it->second;
  } else {
    candidate.key = key;
    candidate.push_time_changed = now;
    candidate.failure_time_changed = now;
  }
  if (failure.empty()) {
    if (mode == PushMode::kReplaceGroup) candidate.families.clear();
    for (pb::MetricFamily& mf : kept) {
      std::string name = mf.name();
      candidate.families[name] = PushedFamily{std::move(mf), now};
    }
    absl::Status st = CheckLocked(key, candidate, names);
    if (!st.ok()) failure = std::string(st.message());
  }

  std::optional<PushGroup> previous;
  if (it != groups_.end()) previous = it->second;
  if (!failure.empty()) {
    PushGroup& g = groups_[key];
    if (!previous) {
      g.key = key;
      g.push_time_changed = now;
    }
    g.failure_time = now;
    g.failure_time_changed = now;
    g.last_push_successful = false;
  } else {
    candidate.push_time = now;
    candidate.push_time_changed = now;
    candidate.last_push_successful = true;
    groups_[key] = std::move(candidate);
  }
  absl::Status persisted = PersistLocked();
  if (!persisted.ok()) {
    if (previous) {
      groups_[key] = *std::move(previous);
    } else {
      groups_.erase(key);
    }
    log::Error("cannot persist pushgateway groups", {{"err", persisted}});
    return absl::InternalError(
        fmt::format("cannot persist pushed metrics: {}", persisted.message()));
  }
  if (!failure.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}{}", kInconsistent, failure));
  }
  return absl::OkStatus();
}

absl::Status PushgatewayStore::Delete(const GroupingKey& key) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(key);
  if (it == groups_.end()) return absl::OkStatus();
  PushGroup previous = std::move(it->second);
  groups_.erase(it);
  absl::Status st = PersistLocked();
  if (!st.ok()) {
    groups_[key] = std::move(previous);
    return absl::InternalError(fmt::format("cannot persist group deletion: {}", st.message()));
  }
  return absl::OkStatus();
}

absl::Status PushgatewayStore::Wipe() {
  absl::MutexLock lock(&mu_);
  PushGroups previous = std::move(groups_);
  groups_.clear();
  absl::Status st = PersistLocked();
  if (!st.ok()) {
    groups_ = std::move(previous);
    return absl::InternalError(fmt::format("cannot persist wipe: {}", st.message()));
  }
  return absl::OkStatus();
}

PushGroups PushgatewayStore::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  return groups_;
}

absl::StatusOr<tsdb::WriteResult> PushgatewayStore::Flush(int64_t now_ms) {
  PushGroups groups = Snapshot();
  model::MetricBatch batch;
  std::map<std::string, model::MetricMetadata> metadata;
  for (const auto& [key, g] : groups) {
    for (const auto& [name, f] : g.families) {
      AppendSeries(f.family, now_ms, &batch.series);
      auto& md = metadata[name];
      if (md.metric_family.empty()) {
        md = {name, ToModelType(f.family.type()), f.family.help(), ""};
      }
    }
    for (auto [name, t] : {std::pair{kPushTime, g.push_time}, {kPushFailureTime, g.failure_time}}) {
      model::LabelsBuilder b;
      for (const auto& [n, v] : key) b.Set(n, v);
      b.Set(model::kMetricName, name);
      model::SeriesData s;
      s.labels = b.Build();
      s.samples.push_back({now_ms, UnixSeconds(t)});
      batch.series.push_back(std::move(s));
    }
  }
  if (!groups.empty()) {
    metadata[std::string(kPushTime)] = {
        std::string(kPushTime), model::MetricType::kGauge,
        "Last Unix time when changing this group in the Pushgateway succeeded.", ""};
    metadata[std::string(kPushFailureTime)] = {
        std::string(kPushFailureTime), model::MetricType::kGauge,
        "Last Unix time when changing this group in the Pushgateway failed.", ""};
  }
  for (auto& [name, md] : metadata) batch.metadata.push_back(std::move(md));

  absl::MutexLock lock(&flush_mu_);
  std::set<model::Labels> current;
  for (const auto& s : batch.series) current.insert(s.labels);
  for (const model::Labels& gone : last_flushed_) {
    if (current.count(gone)) continue;
    model::SeriesData s;
    s.labels = gone;
    s.samples.push_back({now_ms, model::StaleNaN()});
    batch.series.push_back(std::move(s));
  }
  if (batch.series.empty()) return tsdb::WriteResult{};
  ORIEL_ASSIGN_OR_RETURN(tsdb::WriteResult result, writer_.Write(std::move(batch)));
  last_flushed_ = std::move(current);
  return result;
}

}  // namespace oriel::ingest
