// DB::Open(dir) lives apart from db.cc so that code using only the injected-WAL Open (the
// tests) links without the real storage::Wal.
#include <filesystem>
#include <system_error>

#include "base/status.h"
#include "tsdb/db.h"

namespace oriel::tsdb {

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const std::string& dir, DbOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot create metrics directory {}: {}", dir, ec.message()));
  }
  ORIEL_ASSIGN_OR_RETURN(std::unique_ptr<storage::Wal> wal, storage::Wal::Open(dir + "/wal"));
  return OpenImpl(std::move(wal), options, dir);
}

}  // namespace oriel::tsdb
