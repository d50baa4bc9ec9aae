// Tar member headers for archives sluice writes (batch GET answers): POSIX ustar, with a pax
// extended header in front when the name does not fit in ustar's 100 bytes, the size does
// not fit in its 11 octal digits, or the member carries records of its own. Only headers:
// the data goes out however the caller sends it (sendfile), padded with TarPadding zeros,
// and the archive ends with kTarEnd.
//
// Why hand-written: libarchive, the library for the job, writes a member's data through
// itself (archive_write_data), which would copy every byte through user space instead of
// sendfile; and a header is a fixed 512-byte layout (tests check it against Python's
// tarfile and GNU tar).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

struct TarMember {
  std::string name;  // UTF-8, any length
  uint64_t size = 0;
  int64_t mtime_seconds = 0;
  // pax records of the member ("SLUICE.etag" → "…"), in order; keys without '=' or NUL.
  std::vector<std::pair<std::string, std::string>> records;
};

// The header blocks of one member: [pax header + its records] + the ustar header. A
// multiple of 512 bytes.
std::string TarHeaderOf(const TarMember& m);

// Zeros after `size` bytes of data, to the next 512-byte boundary.
inline uint64_t TarPadding(uint64_t size) { return (512 - size % 512) % 512; }

// Two zero blocks: the end of an archive.
inline constexpr size_t kTarEndSize = 1024;

}  // namespace sluice
