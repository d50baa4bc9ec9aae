// Tar header blocks (client/tar.cc), as ShardDataset parses shards fetched from a store:
// any 512 bytes must parse, end, or be refused, and what parses must keep its bounds.
// compat: python
#include <sluice/tar.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unsigned char block[512] = {};
  std::memcpy(block, data, size < 512 ? size : 512);
  // Half the inputs get a valid checksum, so the fields behind it are reached too.
  if (size > 512 && data[512] & 1) {
    std::memset(block + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : block) sum += c;
    char field[9];
    std::snprintf(field, sizeof field, "%06o", sum & 0777777);
    std::memcpy(block + 148, field, 7);
  }
  sluice::client::TarHeader h;
  if (sluice::client::ParseTarHeader(block, &h) == sluice::client::TarBlock::kHeader &&
      h.name.size() > 100 + 1 + 155)
    std::abort();
  return 0;
}
