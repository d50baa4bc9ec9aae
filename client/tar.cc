#include <sluice/tar.h>

#include <cstring>

namespace sluice::client {
namespace {

// An octal field (NUL- or space-padded), or GNU's base-256 form (high bit set). False
// when it is neither, negative, or beyond 64 bits.
bool Number(const unsigned char* f, size_t n, uint64_t* out) {
  if (f[0] & 0x80) {
    if (f[0] != 0x80) return false;  // negative, or more than 64 bits
    uint64_t v = 0;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 56) return false;
      v = (v << 8) | f[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < n && (f[i] == ' ' || f[i] == 0)) ++i;
  uint64_t v = 0;
  bool digits = false;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i, digits = true) {
    if (v >> 61) return false;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
  }
  for (; i < n; ++i)
    if (f[i] != ' ' && f[i] != 0) return false;
  *out = digits ? v : 0;
  return true;
}

std::string Field(const unsigned char* block, size_t off, size_t n) {
  const char* f = reinterpret_cast<const char*>(block + off);
  return std::string(f, strnlen(f, n));
}

}  // namespace

TarBlock ParseTarHeader(const unsigned char* block, TarHeader* out) {
  bool zero = true;
  for (int i = 0; i < 512 && zero; ++i) zero = block[i] == 0;
  if (zero) return TarBlock::kEnd;
  // The checksum counts the checksum field as spaces; old tars summed signed chars, and
  // tarfile accepts either, so this does too.
  int64_t usum = 0, ssum = 0;
  for (int i = 0; i < 512; ++i) {
    unsigned char c = (i >= 148 && i < 156) ? ' ' : block[i];
    usum += c;
    ssum += static_cast<signed char>(c);
  }
  uint64_t want = 0;
  if (!Number(block + 148, 8, &want) ||
      (static_cast<int64_t>(want) != usum && static_cast<int64_t>(want) != ssum))
    return TarBlock::kBadChecksum;
  if (!Number(block + 124, 12, &out->size)) return TarBlock::kBadSize;
  out->name = Field(block, 0, 100);
  if (std::memcmp(block + 257, "ustar", 5) == 0 && block[345] != 0)
    out->name = Field(block, 345, 155) + "/" + out->name;
  out->type = static_cast<char>(block[156]);
  return TarBlock::kHeader;
}

}  // namespace sluice::client
