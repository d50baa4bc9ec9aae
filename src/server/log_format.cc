#include "server/log_format.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sluice::server {

void TimeText::Format(int64_t micros, char* out) {
  int64_t secs = micros / 1000000;
  auto ms = static_cast<int>(micros / 1000 % 1000);
  if (secs != cached_secs_) {
    std::tm tm = spdlog::details::os::localtime(static_cast<std::time_t>(secs));
    std::snprintf(cached_, sizeof cached_, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs_ = secs;
  }
  std::memcpy(out, cached_, kCachedLen);
  out[kCachedLen] = static_cast<char>('0' + ms / 100);
  out[kCachedLen + 1] = static_cast<char>('0' + ms / 10 % 10);
  out[kCachedLen + 2] = static_cast<char>('0' + ms % 10);
}

namespace {

class TimeFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    char text[TimeText::kSize];
    time_.Format(duration_cast<microseconds>(msg.time.time_since_epoch()).count(), text);
    dest.append(text, text + TimeText::kSize);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TimeFlag>();
  }

 private:
  TimeText time_;
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

std::unique_ptr<spdlog::formatter> ServerLogFormatter() { return Make("%* %^%l%$ %&"); }

}  // namespace sluice::server
