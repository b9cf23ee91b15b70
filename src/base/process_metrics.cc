#include "base/process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/log.h"
#include "base/status.h"
#include "fmt/format.h"

namespace oriel::metrics {
namespace {

absl::Status ErrnoError(std::string_view verb, const std::string& path, int err) {
  return absl::InternalError(fmt::format("cannot {} {}: {}", verb, path, std::strerror(err)));
}

// /proc files report a size of 0, so read until EOF.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path, errno);
  std::string content;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("read", path, err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

absl::StatusOr<uint64_t> ParseUint(std::string_view s, std::string_view what,
                                   const std::string& path) {
  uint64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse {} in {}: \"{}\" is not a number", what, path, s));
  }
  return v;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) fields.push_back(s.substr(start, i - start));
  }
  return fields;
}

// The fields of /proc/<pid>/stat that the process metrics use (see proc(5)).
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};

absl::StatusOr<ProcStat> ReadProcStat(const std::string& path) {
  ORIEL_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  size_t close = content.rfind(')');
  if (close == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("cannot parse {}: no \")\"", path));
  }
  std::vector<std::string_view> f = SplitWhitespace(std::string_view(content).substr(close + 1));
  // f[0] is field 3 (state), so field n of proc(5) is f[n - 3].
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStart = 22 - 3, kVsize = 23 - 3,
                   kRss = 24 - 3;
  if (f.size() <= kRss) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse {}: {} fields after the command name, want at least {}", path,
                    f.size(), kRss + 1));
  }
  ProcStat s;
  ORIEL_ASSIGN_OR_RETURN(s.utime_ticks, ParseUint(f[kUtime], "utime", path));
  ORIEL_ASSIGN_OR_RETURN(s.stime_ticks, ParseUint(f[kStime], "stime", path));
  ORIEL_ASSIGN_OR_RETURN(s.start_ticks, ParseUint(f[kStart], "starttime", path));
  ORIEL_ASSIGN_OR_RETURN(s.vsize_bytes, ParseUint(f[kVsize], "vsize", path));
  ORIEL_ASSIGN_OR_RETURN(s.rss_pages, ParseUint(f[kRss], "rss", path));
  return s;
}

// Boot time in seconds since the epoch: the "btime" line of /proc/stat.
absl::StatusOr<uint64_t> ReadBootTime(const std::string& path) {
  ORIEL_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  std::string_view rest = content;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.starts_with("btime ")) {
      std::vector<std::string_view> f = SplitWhitespace(line);
      if (f.size() == 2) return ParseUint(f[1], "btime", path);
    }
  }
  return absl::InvalidArgumentError(fmt::format("cannot find btime in {}", path));
}

// The soft limit on open files from /proc/<pid>/limits; "unlimited" is +Inf.
absl::StatusOr<double> ReadMaxFds(const std::string& path) {
  ORIEL_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  constexpr std::string_view kPrefix = "Max open files";
  size_t pos = content.find(kPrefix);
  if (pos == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("cannot find \"{}\" in {}", kPrefix, path));
  }
  std::string_view line = std::string_view(content).substr(pos + kPrefix.size());
  line = line.substr(0, line.find('\n'));
  std::vector<std::string_view> f = SplitWhitespace(line);
  if (f.empty()) {
    return absl::InvalidArgumentError(fmt::format("cannot parse \"{}\" in {}", kPrefix, path));
  }
  if (f[0] == "unlimited") return std::numeric_limits<double>::infinity();
  ORIEL_ASSIGN_OR_RETURN(uint64_t v, ParseUint(f[0], "max open files", path));
  return static_cast<double>(v);
}

// Entries of /proc/<pid>/fd; like the Go client, this counts the descriptor used to list it.
absl::StatusOr<int> CountOpenFds(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoError("open", path, errno);
  int n = 0;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") ++n;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return ErrnoError("list", path, err);
  return n;
}

void WarnOnError(const absl::Status& status) {
  log::Warn("cannot collect process metrics", {{"err", status}});
}

void CollectProcessMetrics(const std::string& proc_root, ExpositionWriter& w) {
  // Both are fixed for the life of the process, but cheap to ask.
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(::sysconf(_SC_PAGESIZE));

  absl::StatusOr<ProcStat> stat = ReadProcStat(proc_root + "/self/stat");
  if (stat.ok()) {
    w.Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::kCounter);
    w.Sample(static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second);
    w.Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::kGauge);
    w.Sample(static_cast<double>(stat->vsize_bytes));
    w.Family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::kGauge);
    w.Sample(static_cast<double>(stat->rss_pages) * page_size);
    absl::StatusOr<uint64_t> boot_time = ReadBootTime(proc_root + "/stat");
    if (boot_time.ok()) {
      w.Family("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::kGauge);
      w.Sample(static_cast<double>(*boot_time) +
               static_cast<double>(stat->start_ticks) / ticks_per_second);
    } else {
      WarnOnError(boot_time.status());
    }
  } else {
    WarnOnError(stat.status());
  }

  absl::StatusOr<int> open_fds = CountOpenFds(proc_root + "/self/fd");
  if (open_fds.ok()) {
    w.Family("process_open_fds", "Number of open file descriptors.", MetricType::kGauge);
    w.Sample(static_cast<double>(*open_fds));
  } else {
    WarnOnError(open_fds.status());
  }

  absl::StatusOr<double> max_fds = ReadMaxFds(proc_root + "/self/limits");
  if (max_fds.ok()) {
    w.Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::kGauge);
    w.Sample(*max_fds);
  } else {
    WarnOnError(max_fds.status());
  }
}

}  // namespace

void RegisterProcessMetrics(Registry& registry) { RegisterProcessMetrics(registry, "/proc"); }

void RegisterProcessMetrics(Registry& registry, std::string proc_root) {
  registry.AddCollector([proc_root = std::move(proc_root)](ExpositionWriter& w) {
    CollectProcessMetrics(proc_root, w);
  });
}

}  // namespace oriel::metrics
