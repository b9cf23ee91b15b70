// Standard process metrics (CPU, memory, file descriptors, start time) for the /metrics of every
// Oriel process, with the names and meanings of the Prometheus Go client's process collector.
#pragma once

#include <string>

#include "base/metrics.h"

namespace oriel::metrics {

// Adds a collector that reads /proc at scrape time and exposes process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds and process_start_time_seconds. Metrics whose /proc source cannot be read are
// left out of that scrape (and the failure is logged). Linux only.
void RegisterProcessMetrics(Registry& registry);

// Same, reading `proc_root` (normally "/proc") instead: <root>/self/stat, <root>/self/fd,
// <root>/self/limits and <root>/stat. For tests against a fixture tree.
void RegisterProcessMetrics(Registry& registry, std::string proc_root);

}  // namespace oriel::metrics
