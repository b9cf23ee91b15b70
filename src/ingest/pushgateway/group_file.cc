#include "ingest/pushgateway/group_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/status.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace oriel::ingest {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

constexpr std::string_view kMagic = "ORIELPG1";

int64_t ToNanos(absl::Time t) { return absl::ToUnixNanos(t); }

void WriteString(CodedOutputStream& out, std::string_view s) {
  out.WriteVarint32(static_cast<uint32_t>(s.size()));
  out.WriteRaw(s.data(), static_cast<int>(s.size()));
}

class Reader {
 public:
  explicit Reader(std::string_view data)
      : in_(reinterpret_cast<const uint8_t*>(data.data()), static_cast<int>(data.size())),
        size_(data.size()) {
    in_.SetTotalBytesLimit(static_cast<int>(data.size()));
  }

  absl::Status Fail(std::string_view what) {
    return absl::DataLossError(fmt::format("cannot decode pushgateway groups at byte offset {}: {}",
                                           in_.CurrentPosition(), what));
  }
  absl::StatusOr<uint32_t> Varint(std::string_view what) {
    uint32_t v;
    if (!in_.ReadVarint32(&v)) return Fail(fmt::format("truncated {}", what));
    return v;
  }
  absl::StatusOr<std::string> String(std::string_view what) {
    ORIEL_ASSIGN_OR_RETURN(uint32_t len, Varint(what));
    if (len > size_ - static_cast<size_t>(in_.CurrentPosition())) {
      return Fail(fmt::format("{} length {} past the end", what, len));
    }
    std::string s;
    if (!in_.ReadString(&s, static_cast<int>(len))) return Fail(fmt::format("truncated {}", what));
    return s;
  }
  absl::StatusOr<absl::Time> Time(std::string_view what) {
    uint64_t v;
    if (!in_.ReadLittleEndian64(&v)) return Fail(fmt::format("truncated {}", what));
    return absl::FromUnixNanos(static_cast<int64_t>(v));
  }
  absl::StatusOr<uint8_t> Byte(std::string_view what) {
    uint8_t b;
    if (!in_.ReadRaw(&b, 1)) return Fail(fmt::format("truncated {}", what));
    return b;
  }
  bool AtEnd() { return static_cast<size_t>(in_.CurrentPosition()) == size_; }

 private:
  CodedInputStream in_;
  size_t size_;
};

}  // namespace

std::string EncodeGroups(const PushGroups& groups) {
  std::string data;
  {
    google::protobuf::io::StringOutputStream stream(&data);
    CodedOutputStream out(&stream);
    out.WriteRaw(kMagic.data(), static_cast<int>(kMagic.size()));
    out.WriteVarint32(static_cast<uint32_t>(groups.size()));
    for (const auto& [key, g] : groups) {
      out.WriteVarint32(static_cast<uint32_t>(key.size()));
      for (const auto& [name, value] : key) {
        WriteString(out, name);
        WriteString(out, value);
      }
      for (absl::Time t :
           {g.push_time, g.failure_time, g.push_time_changed, g.failure_time_changed}) {
        out.WriteLittleEndian64(static_cast<uint64_t>(ToNanos(t)));
      }
      uint8_t ok = g.last_push_successful ? 1 : 0;
      out.WriteRaw(&ok, 1);
      out.WriteVarint32(static_cast<uint32_t>(g.families.size()));
      for (const auto& [name, f] : g.families) {
        out.WriteLittleEndian64(static_cast<uint64_t>(ToNanos(f.pushed)));
        WriteString(out, f.family.SerializeAsString());
      }
    }
  }
  return data;
}

absl::StatusOr<PushGroups> DecodeGroups(std::string_view data) {
  if (data.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("cannot decode pushgateway groups: bad magic (not an Oriel file)");
  }
  if (data.size() > INT32_MAX) {
    return absl::DataLossError("cannot decode pushgateway groups: file larger than 2 GiB");
  }
  Reader r(data.substr(kMagic.size()));
  PushGroups groups;
  ORIEL_ASSIGN_OR_RETURN(uint32_t group_count, r.Varint("group count"));
  for (uint32_t i = 0; i < group_count; ++i) {
    PushGroup g;
    ORIEL_ASSIGN_OR_RETURN(uint32_t label_count, r.Varint("label count"));
    for (uint32_t j = 0; j < label_count; ++j) {
      ORIEL_ASSIGN_OR_RETURN(std::string name, r.String("label name"));
      ORIEL_ASSIGN_OR_RETURN(std::string value, r.String("label value"));
      g.key[std::move(name)] = std::move(value);
    }
    ORIEL_ASSIGN_OR_RETURN(g.push_time, r.Time("push time"));
    ORIEL_ASSIGN_OR_RETURN(g.failure_time, r.Time("failure time"));
    ORIEL_ASSIGN_OR_RETURN(g.push_time_changed, r.Time("push time change"));
    ORIEL_ASSIGN_OR_RETURN(g.failure_time_changed, r.Time("failure time change"));
    ORIEL_ASSIGN_OR_RETURN(uint8_t ok, r.Byte("push status"));
    g.last_push_successful = ok != 0;
    ORIEL_ASSIGN_OR_RETURN(uint32_t family_count, r.Varint("family count"));
    for (uint32_t j = 0; j < family_count; ++j) {
      PushedFamily f;
      ORIEL_ASSIGN_OR_RETURN(f.pushed, r.Time("family push time"));
      ORIEL_ASSIGN_OR_RETURN(std::string bytes, r.String("metric family"));
      if (!f.family.ParseFromString(bytes)) return r.Fail("malformed metric family");
      std::string name = f.family.name();
      g.families[std::move(name)] = std::move(f);
    }
    if (g.key.find("job") == g.key.end()) return r.Fail("group without job label");
    GroupingKey key = g.key;
    groups[std::move(key)] = std::move(g);
  }
  if (!r.AtEnd()) return r.Fail("trailing bytes");
  return groups;
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  std::string tmp = path;
  tmp.append(".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::InternalError(fmt::format("cannot write {}: {}", tmp, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return absl::InternalError(fmt::format("cannot fsync {}: {}", tmp, std::strerror(err)));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno)));
  }
  // The rename is durable only once the directory entry is.
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::string dir = parent.empty() ? std::string(".") : parent.string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(fmt::format("{} does not exist", path));
    return absl::InternalError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  std::string data;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::InternalError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

}  // namespace oriel::ingest
