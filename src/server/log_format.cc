#include "server/log_format.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace sluice::server {
namespace {

class TimeFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since = msg.time.time_since_epoch();
    int64_t secs = duration_cast<seconds>(since).count();
    auto ms = static_cast<int>(duration_cast<milliseconds>(since).count() % 1000);
    if (secs != cached_secs_) {
      std::tm tm = spdlog::details::os::localtime(static_cast<std::time_t>(secs));
      std::snprintf(cached_, sizeof cached_, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      cached_secs_ = secs;
    }
    const char digits[3] = {static_cast<char>('0' + ms / 100),
                            static_cast<char>('0' + ms / 10 % 10),
                            static_cast<char>('0' + ms % 10)};
    dest.append(cached_, cached_ + kCachedLen);
    dest.append(digits, digits + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TimeFlag>();
  }

 private:
  static constexpr size_t kCachedLen = 20;  // "2026-12-06T03:01:49."
  int64_t cached_secs_ = -1;
  char cached_[64] = {};
};

class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendEscaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> Make(std::string pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<TimeFlag>('*').add_flag<EscapedMessageFlag>('&').set_pattern(std::move(pattern));
  return f;
}

}  // namespace

namespace {

// True when one of the eight bytes in w is below 0x20 or is 0x7f (the bit tricks of
// "Bit Twiddling Hacks": hasless(w, 0x20) and haszero(w ^ 0x7f..)).
bool HasControl(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  uint64_t below = (w - kOnes * 0x20) & ~w & kHighs;
  uint64_t del = w ^ (kOnes * 0x7f);
  return (below | ((del - kOnes) & ~del & kHighs)) != 0;
}

}  // namespace

void AppendEscaped(std::string_view s, spdlog::memory_buf_t& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t clean = 0;  // runs of ordinary bytes are copied whole
  size_t i = 0;
  while (i < s.size()) {
    // Eight bytes at a time while none needs escaping (a log line usually has none).
    if (s.size() - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!HasControl(w)) {
        i += 8;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out.append(s.data() + clean, s.data() + i);
      const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, esc + 4);
      clean = i + 1;
    }
    ++i;
  }
  out.append(s.data() + clean, s.data() + s.size());
}

std::unique_ptr<spdlog::formatter> ServerLogFormatter() { return Make("%* %^%l%$ %&"); }

std::unique_ptr<spdlog::formatter> AccessLogFormatter() { return Make("%* access %&"); }

}  // namespace sluice::server
