#include "common/tar.h"

#include <cstdio>
#include <cstring>

namespace sluice {
namespace {

constexpr uint64_t kMaxOctal11 = (1ULL << 33) - 1;  // 11 octal digits

void Octal(char* field, size_t width, uint64_t v) {
  // width - 1 digits, zero-padded, then NUL.
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && v;) {
    digits[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

std::string Ustar(std::string_view name, uint64_t size, int64_t mtime, char type) {
  std::string b(512, '\0');
  char* h = b.data();
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  Octal(h + 100, 8, 0644);
  Octal(h + 108, 8, 0);
  Octal(h + 116, 8, 0);
  Octal(h + 124, 12, size > kMaxOctal11 ? 0 : size);  // larger: the pax "size" record
  Octal(h + 136, 12, mtime > 0 ? static_cast<uint64_t>(mtime) : 0);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);  // with its NUL
  std::memcpy(h + 263, "00", 2);
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(h + 148, chk, 6);
  h[154] = '\0';
  h[155] = ' ';
  return b;
}

// "LEN key=value\n", LEN counting the whole record, its own digits included.
void PaxRecord(std::string* out, std::string_view key, std::string_view value) {
  const size_t body = 1 + key.size() + 1 + value.size() + 1;  // " key=value\n"
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  *out += std::to_string(len);
  *out += ' ';
  out->append(key);
  *out += '=';
  out->append(value);
  *out += '\n';
}

}  // namespace

std::string TarHeaderOf(const TarMember& m) {
  std::string records;
  const bool long_name = m.name.size() > 100;
  if (long_name) PaxRecord(&records, "path", m.name);
  if (m.size > kMaxOctal11) PaxRecord(&records, "size", std::to_string(m.size));
  for (const auto& [k, v] : m.records) PaxRecord(&records, k, v);
  std::string out;
  if (!records.empty()) {
    out = Ustar("PaxHeader", records.size(), m.mtime_seconds, 'x');
    out += records;
    out.append(TarPadding(records.size()), '\0');
  }
  out += Ustar(std::string_view(m.name).substr(0, 100), m.size, m.mtime_seconds, '0');
  return out;
}

}  // namespace sluice
