// The data directory: created on open and locked for the process's lifetime so that two Oriel
// processes never write the same files.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace oriel::storage {

class DataDir {
 public:
  // Creates `path` (and parents) if missing and takes an exclusive lock on `path`/lock.
  // Fails with a message naming the path when it cannot, or when another process holds it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DataDir>> Open(const std::string& path);
  ~DataDir();  // releases the lock

  const std::string& path() const { return path_; }

 private:
  DataDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_;
};

}  // namespace oriel::storage
