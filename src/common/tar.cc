#include "common/tar.h"

#include <charconv>
#include <cstring>

namespace sluice {
namespace {

constexpr uint64_t kMaxOctal11 = (1ULL << 33) - 1;  // 11 octal digits

// width - 1 digits, zero-padded (the high ones dropped if v has more), then NUL. Written in
// place: a batch answer formats one header per member (bench/ROUND2.md, BatchGet).
void Octal(char* field, size_t width, uint64_t v) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  field[width - 1] = '\0';
}

// Appends one ustar header block to *out.
void AppendUstar(std::string* out, std::string_view name, uint64_t size, int64_t mtime, char type) {
  const size_t at = out->size();
  out->append(512, '\0');
  char* h = out->data() + at;
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
  // The checksum: the sum of the header's bytes, its own field read as spaces. Only the name
  // and the fields above are not zero, so only they are summed (a batch answer writes two
  // headers per member; the whole block cost 1,000 instructions each).
  unsigned sum = 0;
  for (size_t i = 0; i < 157; i++) sum += static_cast<unsigned char>(h[i]);
  for (size_t i = 257; i < 265; i++) sum += static_cast<unsigned char>(h[i]);
  Octal(h + 148, 7, sum);  // six digits, then NUL
  h[155] = ' ';
}

size_t Digits(size_t n) {
  size_t d = 1;
  for (; n >= 10; n /= 10) d++;
  return d;
}

// "LEN key=value\n", LEN counting the whole record, its own digits included.
void PaxRecord(std::string* out, std::string_view key, std::string_view value) {
  const size_t body = 1 + key.size() + 1 + value.size() + 1;  // " key=value\n"
  size_t len = body + 1;
  while (Digits(len) + body != len) len = Digits(len) + body;
  char digits[20];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, len).ptr);
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
  out.reserve((records.empty() ? 0 : 512 + records.size() + TarPadding(records.size())) + 512);
  if (!records.empty()) {
    AppendUstar(&out, "PaxHeader", records.size(), m.mtime_seconds, 'x');
    out += records;
    out.append(TarPadding(records.size()), '\0');
  }
  AppendUstar(&out, std::string_view(m.name).substr(0, 100), m.size, m.mtime_seconds, '0');
  return out;
}

}  // namespace sluice
