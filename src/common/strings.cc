#include "common/strings.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <ctime>

namespace sluice {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986's unreserved characters, one table lookup a byte (URIs are encoded and checked a
// byte at a time on every signed request).
constexpr std::array<bool, 256> kUnreserved = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
  return t;
}();

bool IsUnreserved(unsigned char c) { return kUnreserved[c]; }

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// UTC calendar fields by arithmetic (the days-to-civil algorithm of Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms"), not gmtime_r: a GET formats its object's
// Last-Modified, and gmtime_r's time-zone machinery was 400 instructions of it. Seconds are
// micros / 10^6 truncated toward zero, as before. tm_yday and tm_isdst are left 0.
std::tm ToTm(int64_t micros) {
  const int64_t secs = micros / 1000000;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  const int64_t z = days + 719468;  // days since 0000-03-01
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // March = 0
  std::tm tm{};
  tm.tm_mday = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  tm.tm_mon = static_cast<int>(mp < 10 ? mp + 2 : mp - 10);
  tm.tm_year = static_cast<int>(yoe + era * 400 + (mp >= 10 ? 1 : 0) - 1900);
  tm.tm_hour = static_cast<int>(rem / 3600);
  tm.tm_min = static_cast<int>(rem / 60 % 60);
  tm.tm_sec = static_cast<int>(rem % 60);
  tm.tm_wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  return tm;
}

int MonthIndex(std::string_view m) {
  for (int i = 0; i < 12; i++)
    if (m == kMonths[i]) return i;
  return -1;
}

}  // namespace

std::string HexEncode(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); i++) {
    int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string UriEncode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) continue;
    out.append(s.data() + run, i - run);
    out.push_back('%');
    out.push_back(kHexUpper[c >> 4]);
    out.push_back(kHexUpper[c & 15]);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
  return out;
}

size_t UriDecodeInto(std::string_view s, char* out, bool plus_is_space) {
  const char* p = s.data();
  const char* const end = p + s.size();
  // Runs between escapes are found with memchr and copied whole: most query values and
  // keys hold no escape at all.
  auto next_special = [&](const char* from) -> const char* {
    auto* pct = static_cast<const char*>(std::memchr(from, '%', static_cast<size_t>(end - from)));
    if (!plus_is_space) return pct;
    const char* stop = pct ? pct : end;
    auto* plus = static_cast<const char*>(std::memchr(from, '+', static_cast<size_t>(stop - from)));
    return plus ? plus : pct;
  };
  char* o = out;
  const char* at = s.empty() ? nullptr : next_special(p);
  while (at) {
    std::memcpy(o, p, static_cast<size_t>(at - p));
    o += at - p;
    if (*at == '+') {
      *o++ = ' ';
      p = at + 1;
    } else {
      if (end - at < 3) return std::string_view::npos;
      int hi = HexVal(at[1]), lo = HexVal(at[2]);
      if (hi < 0 || lo < 0) return std::string_view::npos;
      *o++ = static_cast<char>(hi << 4 | lo);
      p = at + 3;
    }
    at = p < end ? next_special(p) : nullptr;
  }
  if (p < end) std::memcpy(o, p, static_cast<size_t>(end - p));
  o += end - p;
  return static_cast<size_t>(o - out);
}

std::optional<std::string> UriDecode(std::string_view s, bool plus_is_space) {
  std::string out(s.size(), '\0');
  const size_t n = UriDecodeInto(s, out.data(), plus_is_space);
  if (n == std::string_view::npos) return std::nullopt;
  out.resize(n);
  return out;
}

bool IsUriCanonical(std::string_view s, bool encode_slash) {
  auto upper_hex = [](char c) {
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
  };
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) continue;
    if (c != '%' || i + 2 >= s.size()) return false;
    int hi = upper_hex(s[i + 1]), lo = upper_hex(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    unsigned char d = static_cast<unsigned char>(hi << 4 | lo);
    if (IsUnreserved(d) || (d == '/' && !encode_slash)) return false;  // would come out bare
    i += 2;
  }
  return true;
}

std::string_view FindQueryParam(std::string_view q, std::string_view name, bool* found) {
  *found = false;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = item.find('=');
    if (item.substr(0, eq) == name) {
      *found = true;
      return eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    }
  }
  return {};
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view b64) {
  if (b64.size() % 4 != 0) return std::nullopt;
  if (b64.empty()) return std::string();
  std::string out(3 * b64.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (b64.back() == '=') pad++;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') pad++;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) b++;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
  return s.substr(b, e - b);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t next = s.find(sep, at);
    out.push_back(
        s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::string FormatHttpDate(int64_t micros) {
  // Written by hand, not with snprintf: it is on every GET's path (Last-Modified).
  std::tm tm = ToTm(micros);
  int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
             kMonths[tm.tm_mon], year, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
  }
  std::string out = "Ddd, 00 Mmm 0000 00:00:00 GMT";
  auto two = [&](size_t at, int v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  out.replace(0, 3, kDays[tm.tm_wday], 3);
  two(5, tm.tm_mday);
  out.replace(8, 3, kMonths[tm.tm_mon], 3);
  two(12, year / 100);
  two(14, year % 100);
  two(17, tm.tm_hour);
  two(20, tm.tm_min);
  two(23, tm.tm_sec);
  return out;
}

// Digits by hand: snprintf was 14% of a gateway's CPU while it served listing pages
// (perf, 2026-12-07; BENCHMARKS.md, "Listing packs").
std::string_view FormatIso8601(int64_t micros, char (&out)[32]) {
  std::tm tm = ToTm(micros);
  const int year = tm.tm_year + 1900;
  if (micros >= 0 && year <= 9999) {
    static constexpr char kShape[] = "0000-00-00T00:00:00.000Z";
    std::memcpy(out, kShape, sizeof kShape);
    auto put = [&out](size_t at, int v, int width) {
      for (int i = width - 1; i >= 0; i--, v /= 10)
        out[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
    };
    put(0, year, 4);
    put(5, tm.tm_mon + 1, 2);
    put(8, tm.tm_mday, 2);
    put(11, tm.tm_hour, 2);
    put(14, tm.tm_min, 2);
    put(17, tm.tm_sec, 2);
    put(20, static_cast<int>((micros / 1000) % 1000), 3);
    return {out, sizeof kShape - 1};
  }
  const int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         static_cast<int>((micros / 1000) % 1000));
  return {out, std::min(sizeof out - 1, static_cast<size_t>(n < 0 ? 0 : n))};
}

std::string FormatIso8601(int64_t micros) {
  char buf[32];
  return std::string(FormatIso8601(micros, buf));
}

std::string FormatAmzDate(int64_t micros) {
  std::tm tm = ToTm(micros);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  std::string str(Trim(s));
  std::tm tm{};
  char mon[4] = {0};
  int day, year, h, m, sec;
  char wday[10];
  // Every number has a width, so none can overflow an int (sscanf's %d has undefined
  // behaviour on overflow); the count of conversions is the error check.
  // NOLINTBEGIN(cert-err34-c)
  // RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (sscanf(str.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wday, &day, mon, &year, &h, &m,
             &sec) == 7 ||
      // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      sscanf(str.c_str(), "%9[^,], %2d-%3s-%4d %2d:%2d:%2d GMT", wday, &day, mon, &year, &h, &m,
             &sec) == 7 ||
      // asctime: "Sun Nov  6 08:49:37 1994"
      sscanf(str.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d", wday, mon, &day, &h, &m, &sec, &year) ==
          7) {
    // NOLINTEND(cert-err34-c)
    int mi = MonthIndex(mon);
    if (mi < 0) return std::nullopt;
    if (year < 100) year += year < 70 ? 2000 : 1900;
    if (day < 1 || day > 31 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60 ||
        year < 1970)
      return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = mi;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return static_cast<int64_t>(timegm(&tm)) * 1000000;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; i++) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), se = num(13, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      se < 0 || se > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  if (s.size() < 20 || s.back() != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  std::string_view frac = s.substr(19, s.size() - 20);
  if (!frac.empty()) {
    if (frac[0] != '.' || frac.size() < 2) return std::nullopt;
    for (char c : frac.substr(1))
      if (c < '0' || c > '9') return std::nullopt;
  }
  std::string amz;
  amz.append(s.substr(0, 4)).append(s.substr(5, 2)).append(s.substr(8, 2)).append("T");
  amz.append(s.substr(11, 2)).append(s.substr(14, 2)).append(s.substr(17, 2)).append("Z");
  return ParseAmzDate(amz);
}

}  // namespace sluice
