#include "storage/data_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace oriel::storage {
namespace {

TEST(DataDirTest, CreatesAndLocksExclusively) {
  auto base =
      std::filesystem::temp_directory_path() / ("oriel-datadir-" + std::to_string(::getpid()));
  std::string path = (base / "nested" / "data").string();
  {
    auto first = DataDir::Open(path);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    auto second = DataDir::Open(path);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("another process"), std::string::npos);
  }
  // Released on destruction.
  EXPECT_TRUE(DataDir::Open(path).ok());
  std::filesystem::remove_all(base);
}

TEST(DataDirTest, NamesThePathWhenItCannotCreate) {
  auto status = DataDir::Open("/proc/definitely/not/here").status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/proc/definitely/not/here"), std::string::npos);
}

}  // namespace
}  // namespace oriel::storage
