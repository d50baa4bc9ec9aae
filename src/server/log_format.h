// How the server's two logs are laid out (spdlog formatters), with two custom flags:
//   %*  the local time as 2026-12-06T03:01:49.513, its text kept per second, so a line pays
//       for three digits of milliseconds and a copy, not for a dozen field formatters;
//   %&  the message with control characters (and DEL) written as \xNN, so a name or header
//       a client sent can never start a forged line or steer a terminal.
// The access log (log_sink.h) lays out "TIME access MESSAGE" without spdlog, with the same
// helpers.
// docs/security.md "Logs".
#pragma once

#include <spdlog/formatter.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::server {

// "TIME LEVEL MESSAGE", the level coloured where the sink colours.
std::unique_ptr<spdlog::formatter> ServerLogFormatter();

// The local time as 2026-12-06T03:01:49.513, the text up to the second kept from the last
// call. Not thread-safe: one per formatter, or used under a lock.
class TimeText {
 public:
  static constexpr size_t kSize = 23;
  // Writes kSize bytes at out, for `micros` since the Unix epoch (not before it).
  void Format(int64_t micros, char* out);

 private:
  static constexpr size_t kCachedLen = 20;  // "2026-12-06T03:01:49."
  int64_t cached_secs_ = -1;
  char cached_[64] = {};
};

namespace detail {
// True when one of the eight bytes in w is below 0x20 or is 0x7f (the bit tricks of
// "Bit Twiddling Hacks": hasless(w, 0x20) and haszero(w ^ 0x7f..)).
inline bool HasControl(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  uint64_t below = (w - kOnes * 0x20) & ~w & kHighs;
  uint64_t del = w ^ (kOnes * 0x7f);
  return (below | ((del - kOnes) & ~del & kHighs)) != 0;
}
// std::string's append(first, last) goes through _M_replace's aliasing checks; by length it
// is a plain copy.
inline void Append(std::string& out, const char* b, const char* e) {
  out.append(b, static_cast<size_t>(e - b));
}
template <class Out>
void Append(Out& out, const char* b, const char* e) {
  out.append(b, e);
}
}  // namespace detail

// Appends s with bytes below 0x20 and 0x7f written as \xNN. Out is a std::string or an
// spdlog::memory_buf_t (anything with append(const char*, const char*)).
template <class Out>
void AppendEscaped(std::string_view s, Out& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t clean = 0;  // runs of ordinary bytes are copied whole
  size_t i = 0;
  while (i < s.size()) {
    // Eight bytes at a time while none needs escaping (a log line usually has none).
    if (s.size() - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!detail::HasControl(w)) {
        i += 8;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      detail::Append(out, s.data() + clean, s.data() + i);
      const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      detail::Append(out, esc, esc + 4);
      clean = i + 1;
    }
    ++i;
  }
  detail::Append(out, s.data() + clean, s.data() + s.size());
}

}  // namespace sluice::server
