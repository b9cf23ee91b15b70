// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 and leveldb) for checksumming data on disk.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else a table-driven loop; both give the
// same value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace oriel::storage {

// The CRC-32C of `data` appended to data whose CRC-32C is `crc` (0 for the start of the data), so
// that Crc32c(Crc32cExtend(0, a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

namespace internal {
// The two implementations behind Crc32cExtend, exposed so that tests compare them.
uint32_t Crc32cPortable(uint32_t crc, const void* data, size_t n);
bool Crc32cHardwareAvailable();
// REQUIRES: Crc32cHardwareAvailable().
uint32_t Crc32cHardware(uint32_t crc, const void* data, size_t n);
}  // namespace internal

}  // namespace oriel::storage
