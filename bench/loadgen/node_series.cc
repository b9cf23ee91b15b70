#include "loadgen/node_series.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/check.h"
#include "fmt/format.h"

namespace oriel::loadgen {
namespace {

constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

constexpr std::array<const char*, 8> kCpuModes = {"idle",    "iowait", "irq",    "nice",
                                                  "softirq", "steal",  "system", "user"};
constexpr std::array<const char*, 6> kZones = {"eu-west-1a", "eu-west-1b", "eu-west-1c",
                                               "us-east-1a", "us-east-1b", "us-east-1d"};
constexpr std::array<const char*, 10> kCollectors = {
    "cpu",    "diskstats", "filesystem", "loadavg", "meminfo",
    "netdev", "stat",      "time",       "uname",   "vmstat"};
constexpr std::array<const char*, 6> kHandlers = {"/api/v1/orders",   "/api/v1/cart",
                                                  "/api/v1/products", "/api/v1/users",
                                                  "/healthz",         "/api/v1/checkout"};

struct Mount {
  const char* device;
  const char* fstype;
  const char* mountpoint;
  double size_bytes;
};
constexpr std::array<Mount, 5> kMounts = {{
    {"/dev/nvme0n1p2", "ext4", "/", 107374182400.0},
    {"/dev/nvme0n1p1", "vfat", "/boot/efi", 536870912.0},
    {"tmpfs", "tmpfs", "/run", 3355443200.0},
    {"/dev/nvme1n1", "xfs", "/var/lib/data", 1099511627776.0},
    {"/dev/sdb1", "ext4", "/var/log", 214748364800.0},
}};

// One series of a host before it is interned.
struct Spec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  SeriesKind kind;
  double base;
  bool constant = false;
};

// A family (or one histogram with its buckets, _sum and _count): added whole or not at all.
struct Group {
  std::vector<Spec> series;
  double histogram_median = 0;  // > 0 for a histogram group
};

}  // namespace

std::span<const double> DefaultBuckets() { return kBuckets; }

NodeSeriesSet::NodeSeriesSet(const Options& options) : rng_(options.seed ^ 0x5eed5e41e5ULL) {
  ORIEL_CHECK(options.series >= 0);
  const size_t target = static_cast<size_t>(options.series);
  Rng layout(options.seed);
  size_t host = 0;
  while (size() < target) {
    const bool complete = AddHost(host++, layout, target);
    if (!complete) break;
  }
  num_hosts_ = host;
  // Top up with one more family that can be cut anywhere: systemd unit states on the last host.
  const std::string instance =
      fmt::format("node-{:04d}.{}.example.net:9100", host == 0 ? 0 : host - 1,
                  kZones[(host == 0 ? 0 : host - 1) % kZones.size()]);
  for (size_t unit = 0; size() < target; ++unit) {
    const std::string name = fmt::format("app-worker-{}.service", unit / 5);
    static constexpr std::array<const char*, 5> kStates = {"activating", "active", "deactivating",
                                                           "failed", "inactive"};
    AddSeries("node_systemd_unit_state",
              {{"instance", instance},
               {"job", "node"},
               {"name", name},
               {"state", kStates[unit % kStates.size()]},
               {"type", "simple"}},
              SeriesKind::kGauge, unit % 5 == 1 ? 1 : 0, /*constant=*/true);
  }
  for (size_t i = 0; i < size(); ++i) {
    if (kinds_[i] == SeriesKind::kCounter)
      values_[i] = base_[i] * static_cast<double>(layout.Range(100, 10000));
  }
}

uint32_t NodeSeriesSet::Intern(std::string_view s) {
  auto [it, inserted] = symbol_ids_.try_emplace(std::string(s), symbols_.size());
  if (inserted) symbols_.emplace_back(s);
  return it->second;
}

void NodeSeriesSet::AddSeries(std::string_view name, std::vector<Label> labels, SeriesKind kind,
                              double base, bool constant) {
  labels.emplace_back("__name__", name);
  std::sort(labels.begin(), labels.end());
  for (const auto& [n, v] : labels) label_refs_.push_back({Intern(n), Intern(v)});
  label_begin_.push_back(label_refs_.size());
  kinds_.push_back(kind);
  values_.push_back(kind == SeriesKind::kGauge ? base : 0);
  base_.push_back(static_cast<float>(base));
  constant_.push_back(constant);
}

bool NodeSeriesSet::AddHost(size_t host, Rng& rng, size_t limit) {
  const std::string zone = kZones[host % kZones.size()];
  const std::string node = fmt::format("node-{:04d}.{}.example.net", host, zone);
  const std::string node_instance = node + ":9100";
  const std::string api_instance = node + ":8080";
  static constexpr std::array<int, 5> kCpuCounts = {2, 4, 8, 16, 32};
  const int cpus = kCpuCounts[rng.Range(0, kCpuCounts.size() - 1)];
  const double mem = cpus * 4.0 * (1 << 30);
  const size_t num_mounts = rng.Range(2, kMounts.size());
  std::vector<std::string> disks = {"nvme0n1"};
  for (int d = rng.Range(0, 3); d > 0; --d) disks.push_back(fmt::format("sd{}", char('a' + d - 1)));
  std::vector<std::string> nics = {"lo", "eth0"};
  if (rng.Chance(0.5)) nics.push_back("eth1");
  if (rng.Chance(0.3)) nics.push_back("docker0");

  std::vector<Group> groups;
  auto node_series = [&](std::string name, std::vector<std::pair<std::string, std::string>> extra,
                         SeriesKind kind, double base, bool constant = false) {
    extra.emplace_back("instance", node_instance);
    extra.emplace_back("job", "node");
    return Spec{std::move(name), std::move(extra), kind, base, constant};
  };
  auto api_series = [&](std::string name, std::vector<std::pair<std::string, std::string>> extra,
                        SeriesKind kind, double base) {
    extra.emplace_back("instance", api_instance);
    extra.emplace_back("job", "api");
    return Spec{std::move(name), std::move(extra), kind, base};
  };

  {
    Group g;
    for (int cpu = 0; cpu < cpus; ++cpu) {
      for (const char* mode : kCpuModes) {
        const double share = std::string_view(mode) == "idle" ? 10.0 : 1.5;
        g.series.push_back(node_series("node_cpu_seconds_total",
                                       {{"cpu", std::to_string(cpu)}, {"mode", mode}},
                                       SeriesKind::kCounter, share));
      }
    }
    groups.push_back(std::move(g));
  }
  {
    Group g;
    const std::pair<const char*, double> kMemory[] = {
        {"node_memory_MemTotal_bytes", 1.0},     {"node_memory_MemFree_bytes", 0.2},
        {"node_memory_MemAvailable_bytes", 0.5}, {"node_memory_Buffers_bytes", 0.02},
        {"node_memory_Cached_bytes", 0.3},       {"node_memory_Active_bytes", 0.4},
        {"node_memory_Inactive_bytes", 0.2},     {"node_memory_Dirty_bytes", 0.001},
        {"node_memory_SwapTotal_bytes", 0.0},    {"node_memory_SwapFree_bytes", 0.0}};
    for (const auto& [name, share] : kMemory) {
      const bool constant = std::string_view(name) == "node_memory_MemTotal_bytes" || share == 0;
      g.series.push_back(node_series(name, {}, SeriesKind::kGauge, mem * share, constant));
    }
    for (const char* load : {"node_load1", "node_load5", "node_load15"}) {
      g.series.push_back(node_series(load, {}, SeriesKind::kGauge, cpus * 0.3));
    }
    groups.push_back(std::move(g));
  }
  for (size_t m = 0; m < num_mounts; ++m) {
    const Mount& mount = kMounts[m];
    Group g;
    auto fs = [&](const char* name, double base, bool constant) {
      g.series.push_back(node_series(
          name,
          {{"device", mount.device}, {"fstype", mount.fstype}, {"mountpoint", mount.mountpoint}},
          SeriesKind::kGauge, base, constant));
    };
    fs("node_filesystem_size_bytes", mount.size_bytes, true);
    fs("node_filesystem_avail_bytes", mount.size_bytes * 0.4, false);
    fs("node_filesystem_free_bytes", mount.size_bytes * 0.45, false);
    fs("node_filesystem_files", mount.size_bytes / 16384, true);
    fs("node_filesystem_files_free", mount.size_bytes / 20000, false);
    fs("node_filesystem_readonly", 0, true);
    groups.push_back(std::move(g));
  }
  for (const std::string& disk : disks) {
    Group g;
    const std::pair<const char*, double> kDisk[] = {{"node_disk_read_bytes_total", 4e6},
                                                    {"node_disk_written_bytes_total", 9e6},
                                                    {"node_disk_reads_completed_total", 300},
                                                    {"node_disk_writes_completed_total", 700},
                                                    {"node_disk_io_time_seconds_total", 2.5}};
    for (const auto& [name, rate] : kDisk) {
      g.series.push_back(node_series(name, {{"device", disk}}, SeriesKind::kCounter, rate));
    }
    groups.push_back(std::move(g));
  }
  for (const std::string& nic : nics) {
    Group g;
    const std::pair<const char*, double> kNet[] = {
        {"node_network_receive_bytes_total", 2e7},   {"node_network_transmit_bytes_total", 1.5e7},
        {"node_network_receive_packets_total", 2e4}, {"node_network_transmit_packets_total", 1.8e4},
        {"node_network_receive_errs_total", 0.01},   {"node_network_receive_drop_total", 0.2}};
    for (const auto& [name, rate] : kNet) {
      g.series.push_back(node_series(name, {{"device", nic}}, SeriesKind::kCounter, rate));
    }
    groups.push_back(std::move(g));
  }
  {
    Group g;
    g.series.push_back(node_series("node_context_switches_total", {}, SeriesKind::kCounter, 3e5));
    g.series.push_back(node_series("node_intr_total", {}, SeriesKind::kCounter, 2e5));
    g.series.push_back(node_series("node_forks_total", {}, SeriesKind::kCounter, 150));
    g.series.push_back(node_series("node_procs_running", {}, SeriesKind::kGauge, cpus * 0.5));
    g.series.push_back(node_series("node_procs_blocked", {}, SeriesKind::kGauge, 0.5));
    g.series.push_back(node_series("node_boot_time_seconds", {}, SeriesKind::kGauge,
                                   1.7e9 + rng.Range(0, 1e7), true));
    g.series.push_back(
        node_series("node_uname_info",
                    {{"domainname", "(none)"},
                     {"machine", "x86_64"},
                     {"nodename", node},
                     {"release", rng.Chance(0.5) ? "6.1.0-18-amd64" : "5.10.0-28-amd64"},
                     {"sysname", "Linux"},
                     {"version", "#1 SMP PREEMPT_DYNAMIC Debian"}},
                    SeriesKind::kGauge, 1, true));
    for (const char* collector : kCollectors) {
      g.series.push_back(node_series("node_scrape_collector_duration_seconds",
                                     {{"collector", collector}}, SeriesKind::kGauge, 0.002));
      g.series.push_back(node_series("node_scrape_collector_success", {{"collector", collector}},
                                     SeriesKind::kGauge, 1, true));
    }
    groups.push_back(std::move(g));
  }
  const size_t num_handlers = rng.Range(3, kHandlers.size());
  for (size_t h = 0; h < num_handlers; ++h) {
    for (const char* code : {"200", "500"}) {
      Group g;
      g.histogram_median = (h + 1) * 0.02 * (code[0] == '5' ? 3 : 1);
      const std::vector<std::pair<std::string, std::string>> labels = {
          {"code", code}, {"handler", kHandlers[h]}, {"method", h % 3 == 0 ? "POST" : "GET"}};
      for (double le : kBuckets) {
        auto with_le = labels;
        with_le.emplace_back("le", fmt::format("{}", le));
        g.series.push_back(api_series("http_request_duration_seconds_bucket", std::move(with_le),
                                      SeriesKind::kHistogramBucket, 0));
      }
      auto inf = labels;
      inf.emplace_back("le", "+Inf");
      g.series.push_back(api_series("http_request_duration_seconds_bucket", std::move(inf),
                                    SeriesKind::kHistogramBucket, 0));
      g.series.push_back(
          api_series("http_request_duration_seconds_sum", labels, SeriesKind::kHistogramSum, 0));
      g.series.push_back(api_series("http_request_duration_seconds_count", labels,
                                    SeriesKind::kHistogramCount, 0));
      groups.push_back(std::move(g));
    }
  }
  {
    Group g;
    g.series.push_back(api_series("up", {}, SeriesKind::kGauge, 1));
    g.series.push_back(api_series("go_goroutines", {}, SeriesKind::kGauge, 120));
    g.series.push_back(api_series("process_resident_memory_bytes", {}, SeriesKind::kGauge, 3e8));
    g.series.push_back(api_series("process_cpu_seconds_total", {}, SeriesKind::kCounter, 1.2));
    groups.push_back(std::move(g));
  }

  for (Group& g : groups) {
    if (size() + g.series.size() > limit) return false;
    if (g.histogram_median > 0) {
      histograms_.push_back({static_cast<uint32_t>(size()), g.histogram_median});
    }
    for (Spec& s : g.series) {
      std::vector<Label> labels;
      labels.reserve(s.labels.size());
      for (const auto& [n, v] : s.labels) labels.emplace_back(n, v);
      AddSeries(s.name, std::move(labels), s.kind, s.base, s.constant);
    }
  }
  return true;
}

namespace {

// node_exporter reads its values from /proc and /sys as integers (bytes, packets, pages) or
// decimals with two places (CPU seconds in USER_HZ ticks, load averages), so real series carry
// far fewer significant digits than a random double: what storage engines compress depends on it.
// Values with a large magnitude are whole numbers, small ones have two decimals (divided, not
// multiplied, so that 12.34 is the same double a parser makes of "12.34").
double AtExporterResolution(double v, double magnitude) {
  const double scale = magnitude >= 100 ? 1 : 100;
  return std::round(v * scale) / scale;
}

}  // namespace

double RoundedUniformEntropyBits(double lo, double width) {
  if (width <= 0) return 0;
  // Whole cells in the middle each have probability 1/width; past 2^20 of them the two partial
  // cells at the ends change the sum by less than 1e-5 bits.
  if (width > 0x1p20) return std::log2(width);
  const double hi = lo + width;
  double bits = 0;
  for (double k = std::round(lo); k <= std::round(hi); k += 1) {
    const double p = (std::min(hi, k + 0.5) - std::max(lo, k - 0.5)) / width;
    if (p > 0) bits -= p * std::log2(p);
  }
  return bits;
}

double NodeSeriesSet::ValueEntropyBits(size_t i) const {
  // The same draws as Advance(), in units of the exporter resolution the value is rounded to
  // (values sit on that grid, so the step alone carries the information). A gauge step clamped
  // at the end of its range carries less; that is not subtracted.
  const double base = base_[i];
  const double grid = base >= 100 ? 1 : 0.01;
  switch (kinds_[i]) {
    case SeriesKind::kCounter:
      return RoundedUniformEntropyBits(0.5 * base / grid, base / grid);
    case SeriesKind::kGauge:
      return constant_[i] ? 0 : RoundedUniformEntropyBits(-0.05 * base / grid, 0.1 * base / grid);
    default:
      return 0;
  }
}

void NodeSeriesSet::Advance() {
  ++tick_;
  for (size_t i = 0; i < size(); ++i) {
    const double base = base_[i];
    switch (kinds_[i]) {
      case SeriesKind::kCounter:
        values_[i] = AtExporterResolution(values_[i] + base * (0.5 + rng_.Uniform()), base);
        break;
      case SeriesKind::kGauge:
        if (constant_[i]) break;
        values_[i] = AtExporterResolution(
            std::clamp(values_[i] + base * 0.1 * (rng_.Uniform() - 0.5), 0.0, base * 2), base);
        break;
      default:
        break;  // moved below, a histogram at a time
    }
  }
  for (const Histogram& h : histograms_) {
    const int observations = static_cast<int>(rng_.Range(0, 40));
    for (int o = 0; o < observations; ++o) {
      const double x = rng_.LogNormal(h.median_seconds, 0.8);
      for (size_t b = 0; b < kBuckets.size(); ++b) {
        if (x <= kBuckets[b]) values_[h.first_series + b] += 1;
      }
      values_[h.first_series + kBuckets.size()] += 1;      // +Inf
      values_[h.first_series + kBuckets.size() + 1] += x;  // _sum
      values_[h.first_series + kBuckets.size() + 2] += 1;  // _count
    }
  }
}

}  // namespace oriel::loadgen
