// The state of one Pushgateway group: what was last pushed under one grouping key.
#pragma once

#include <map>
#include <string>

#include "absl/time/time.h"
#include "ingest/pushgateway/grouping_key.h"
#include "io/prometheus/client/metrics.pb.h"

namespace oriel::ingest {

struct PushedFamily {
  // Labels already carry the grouping key and instance (see ApplyGroupingLabels).
  io::prometheus::client::MetricFamily family;
  absl::Time pushed;  // when this family was last replaced
};

struct PushGroup {
  GroupingKey key;
  std::map<std::string, PushedFamily> families;  // by family name
  // Values of push_time_seconds / push_failure_time_seconds: the last successful / failed
  // change, the Unix epoch (value 0) if none yet.
  absl::Time push_time = absl::UnixEpoch();
  absl::Time failure_time = absl::UnixEpoch();
  // When each of the two gauges last changed (the group's creation until then), shown as
  // `time_stamp` in /api/v1/metrics.
  absl::Time push_time_changed = absl::UnixEpoch();
  absl::Time failure_time_changed = absl::UnixEpoch();
  bool last_push_successful = true;
};

using PushGroups = std::map<GroupingKey, PushGroup>;

// Unix seconds with the fraction, as the push_time_seconds gauges carry them.
inline double UnixSeconds(absl::Time t) {
  return absl::FDivDuration(t - absl::UnixEpoch(), absl::Seconds(1));
}

}  // namespace oriel::ingest
