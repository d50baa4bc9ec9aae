// Tar header blocks, as ShardDataset reads WebDataset shards: one 512-byte block parsed
// and checksummed, with no I/O. POSIX ustar (with its name prefix), GNU (base-256 sizes)
// and v7 headers; pax and GNU long-name records are members of their own, which the
// caller reads and applies (their type flags are 'x', 'g', 'L' and 'K').
#pragma once

#include <cstdint>
#include <string>

namespace sluice::client {

struct TarHeader {
  std::string name;   // the ustar prefix and the name joined with '/', raw bytes
  uint64_t size = 0;  // bytes of data that follow, before the padding to 512
  char type = 0;      // the type flag: '0' or NUL a file, '5' a directory, 'x' pax, ...
};

enum class TarBlock {
  kHeader,       // *out is filled
  kEnd,          // an all-zero block: the end of the archive
  kBadChecksum,  // corrupt, misaligned or not tar at all
  kBadSize,      // the size field is not a number
};

// Parses block[0..512).
TarBlock ParseTarHeader(const unsigned char* block, TarHeader* out);

}  // namespace sluice::client
