// The Pushgateway's JSON API bodies (GET /api/v1/metrics and /api/v1/status), in the shape
// prometheus-pushgateway 1.5 produces.
#pragma once

#include <map>
#include <string>

#include "absl/time/time.h"
#include "ingest/pushgateway/push_group.h"

namespace oriel::ingest {

// {"status":"success","data":[<group>...]} where a group is an object of "labels" (the grouping
// key), "last_push_successful", and per family (push_time_seconds and push_failure_time_seconds
// included) {"time_stamp", "type", "help" (omitted when empty), "metrics":[...]}; a metric is
// {"labels", "value"}, or for summaries {"count","labels","quantiles","sum"} and histograms
// {"buckets","count","labels","sum"}. Object keys are sorted as Go's encoding/json sorts map
// keys, numbers are strings formatted like Go's fmt.Sprint, times are RFC 3339 with
// nanoseconds in UTC.
std::string RenderMetricsJson(const PushGroups& groups);

// {"status":"success","data":{"build_information":{...},"flags":{...},"start_time":"..."}}.
std::string RenderStatusJson(const std::map<std::string, std::string>& build_information,
                             const std::map<std::string, std::string>& flags,
                             absl::Time start_time);

// Go's fmt.Sprint of a float64 (strconv 'g' with the shortest precision: exponent form when the
// decimal exponent is below -4 or at least 6): "1.7953120477035172e+09", "123456", "1e+06",
// "0.5", "+Inf", "NaN".
std::string GoFloatString(double v);

}  // namespace oriel::ingest
