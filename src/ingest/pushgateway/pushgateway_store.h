// Oriel's Pushgateway: the pushed groups, their consistency rules, their persistence file, and
// their periodic export into the metrics engine.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ingest/pushgateway/push_group.h"
#include "tsdb/metrics_store.h"

namespace oriel::ingest {

// Where the server keeps the groups, relative to the data directory.
inline constexpr char kPushgatewayFileInDataDir[] = "pushgateway/groups.bin";

// Thread-safe: every method may be called from any thread.
class PushgatewayStore {
 public:
  // Loads the groups from `file_path` (missing file: no groups) and keeps writing every change
  // back to it (see group_file.h). An empty path keeps the groups in memory only. `writer` must
  // outlive the store. Fails with kDataLoss on a corrupt file, naming the offset.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PushgatewayStore>> Open(
      std::string file_path, tsdb::MetricsWriter& writer);

  enum class PushMode {
    kReplaceGroup,     // PUT: the group's families become exactly the pushed ones
    kReplaceFamilies,  // POST: pushed families replace those of the same name; others stay
  };

  // Applies a push to the group `key` (which must contain "job"). Families get the grouping
  // labels and instance="" (ApplyGroupingLabels); pushed families named push_time_seconds or
  // push_failure_time_seconds are dropped, since the group's own gauges take those names.
  // Refused with kInvalidArgument, and the group's push_failure_time_seconds set to `now`
  // (creating the group if needed) as the Pushgateway does, when:
  //   a metric has a timestamp, two metrics of the result have the same name and labels, a
  //   family's type differs from the same family in another group (untyped counts as a type),
  //   or a protobuf family is malformed (ValidateFamily).
  // Messages start with "pushed metrics are invalid or inconsistent with existing metrics: ".
  // On success push_time_seconds becomes `now`. kInternal when the file cannot be written (the
  // change is then undone in memory).
  [[nodiscard]] absl::Status Push(const GroupingKey& key,
                                  std::vector<io::prometheus::client::MetricFamily> families,
                                  PushMode mode, absl::Time now);

  // Removes the group if it exists (not an error otherwise).
  [[nodiscard]] absl::Status Delete(const GroupingKey& key);
  // Removes every group.
  [[nodiscard]] absl::Status Wipe();

  // A copy of every group, ordered by grouping key.
  PushGroups Snapshot() const;

  // Writes the current state into the metrics engine, so that pushed metrics can be queried with
  // PromQL as if Prometheus scraped a Pushgateway with honor_labels: true. Called by the server
  // every global.scrape_interval. Every sample of every group is written at `now_ms` (pushed
  // metrics carry no timestamps): series labels are the metric's labels (job, grouping labels
  // and body labels; instance="" is an empty value and so absent) plus __name__, converted as
  // AppendSeries documents, plus push_time_seconds and push_failure_time_seconds (gauges, in
  // Unix seconds, 0 if never) labelled with the grouping key. Metadata (type, help) goes along.
  // Series written by the previous Flush that are gone now (deleted group, replaced family)
  // get a staleness marker at `now_ms`, as a scrape would. Returns the engine's result; with
  // nothing to write (and nothing gone stale) the engine is not called.
  [[nodiscard]] absl::StatusOr<tsdb::WriteResult> Flush(int64_t now_ms);

  const std::string& file_path() const { return file_path_; }

 private:
  PushgatewayStore(std::string file_path, tsdb::MetricsWriter& writer, PushGroups groups)
      : file_path_(std::move(file_path)), writer_(writer), groups_(std::move(groups)) {}

  absl::Status PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckLocked(const GroupingKey& key, const PushGroup& candidate,
                           const std::vector<std::string>& pushed_names) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::string file_path_;
  tsdb::MetricsWriter& writer_;
  mutable absl::Mutex mu_;
  PushGroups groups_ ABSL_GUARDED_BY(mu_);
  absl::Mutex flush_mu_;  // one Flush at a time, so that staleness tracking stays exact
  std::set<model::Labels> last_flushed_ ABSL_GUARDED_BY(flush_mu_);
};

}  // namespace oriel::ingest
