#include "server/log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/details/os.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "server/log_format.h"

namespace sluice::server {
namespace {

using std::chrono::milliseconds;

// A file that keeps what it is given, can hold its writer at a gate, and can fail.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::string text;
  int appends = 0;
  bool gate_open = true;
  bool fail = false;
  bool closed = false;
};

class TestFile : public io::WritableFile {
 public:
  explicit TestFile(Shared* s) : s_(s) {}
  Status Append(const void* data, size_t n) override {
    std::unique_lock<std::mutex> l(s_->mu);
    s_->cv.wait(l, [&] { return s_->gate_open; });
    if (s_->fail) return Status(Err::kIoError, "injected");
    s_->text.append(static_cast<const char*>(data), n);
    ++s_->appends;
    s_->cv.notify_all();
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->closed = true;
    return Status::Ok();
  }

 private:
  Shared* s_;
};

// The sink's lines carry "TIME access " ahead of the message; a fixed time keeps them apart
// from the clock.
constexpr int64_t kTime = int64_t{1'700'000'000} * 1'000'000;
constexpr size_t kPrefix = TimeText::kSize + 8;  // "TIME access "

void Log(BufferedLogSink& sink, std::string_view line) {
  static_cast<s3::AccessLog&>(sink).Write(kTime, line);
}

// The messages of what a sink wrote, one per line, without their "TIME access ".
std::string Messages(const std::string& text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end - at >= kPrefix) out.append(text, at + kPrefix, end - at - kPrefix);
    out += '\n';
    at = end + 1;
  }
  return out;
}

std::string Numbered(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

TEST(BufferedLogSink, HoldsLinesUntilFlushAndKeepsTheirOrder) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  for (int i = 0; i < 100; ++i) Log(*sink, "line " + std::to_string(i));
  {
    std::lock_guard<std::mutex> l(s.mu);
    EXPECT_EQ(s.appends, 0) << "100 short lines are below the write threshold";
  }
  sink->Flush();
  EXPECT_EQ(sink->waits(), 0u);
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(Messages(s.text), Numbered(0, 100));
  EXPECT_EQ(s.appends, 1) << "one write for all of them";
}

TEST(BufferedLogSink, WritesOnceAThresholdIsReachedWithoutAFlush) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  const std::string big(1000, 'x');
  size_t lines = BufferedLogSink::kWriteAt / (kPrefix + big.size() + 1) + 1;
  for (size_t i = 0; i < lines; ++i) Log(*sink, big);
  std::unique_lock<std::mutex> l(s.mu);
  ASSERT_TRUE(s.cv.wait_for(l, std::chrono::seconds(30), [&] { return s.appends > 0; }))
      << "the writer was not woken by a full buffer";
  EXPECT_EQ(s.text.size(), lines * (kPrefix + big.size() + 1));
}

TEST(BufferedLogSink, WritesWithinItsIntervalWhenIdle) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", milliseconds(20));
  Log(*sink, "alone");
  std::unique_lock<std::mutex> l(s.mu);
  ASSERT_TRUE(s.cv.wait_for(l, std::chrono::seconds(30), [&] { return s.appends > 0; }));
  EXPECT_EQ(Messages(s.text), "alone\n");
}

// With the file's gate shut, a thread logs more than the limit plus what the writer holds:
// it must be held back, not run past the limit, and once the gate opens every line must be
// there in order.
TEST(BufferedLogSink, ASlowFileHoldsLoggersBackAndLosesNothing) {
  Shared s;
  s.gate_open = false;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", milliseconds(1));
  const std::string big(4000, 'y');
  const int lines = static_cast<int>(3 * BufferedLogSink::kLimit / big.size());
  std::atomic<int> logged{0};
  std::thread t([&] {
    for (int i = 0; i < lines; ++i) {
      Log(*sink, std::to_string(i) + " " + big);
      logged.fetch_add(1);
    }
  });
  // Wait until the logger stops making progress: it is held, not dropping lines.
  int last = -1;
  for (int round = 0; round < 600 && logged.load() != last; ++round) {
    last = logged.load();
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_LT(logged.load(), lines) << "the logger ran past the limit while nothing was written";
  EXPECT_GT(sink->waits(), 0u) << "a held-back logger is counted (/metrics)";
  {
    std::lock_guard<std::mutex> l(s.mu);
    s.gate_open = true;
  }
  s.cv.notify_all();
  t.join();
  sink->Flush();
  std::lock_guard<std::mutex> l(s.mu);
  size_t pos = 0;
  for (int i = 0; i < lines; ++i) {
    std::string head = std::to_string(i) + " ";
    pos += kPrefix;
    ASSERT_EQ(s.text.compare(pos, head.size(), head), 0) << "line " << i << " missing or moved";
    pos += head.size() + big.size() + 1;
  }
  EXPECT_EQ(pos, s.text.size());
}

TEST(BufferedLogSink, TheDestructorWritesWhatIsLeftAndCloses) {
  Shared s;
  {
    auto sink = std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t",
                                                  std::chrono::hours(1));
    for (int i = 0; i < 10; ++i) Log(*sink, "line " + std::to_string(i));
  }
  EXPECT_EQ(Messages(s.text), Numbered(0, 10));
  EXPECT_TRUE(s.closed);
}

TEST(BufferedLogSink, ReopenSendsEarlierLinesToTheOldFileAndLaterOnesToTheNew) {
  Shared old_file, new_file;
  auto sink = std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&old_file), "t",
                                                std::chrono::hours(1));
  s3::AccessLog& log = *sink;
  log.Write(0, "before");
  sink->Reopen(std::make_unique<TestFile>(&new_file));
  log.Write(0, "after");
  sink->Flush();
  {
    std::lock_guard<std::mutex> l(old_file.mu);
    EXPECT_TRUE(old_file.closed);
    EXPECT_NE(old_file.text.find(" access before\n"), std::string::npos) << old_file.text;
    EXPECT_EQ(old_file.text.find("after"), std::string::npos) << old_file.text;
  }
  std::lock_guard<std::mutex> l(new_file.mu);
  EXPECT_FALSE(new_file.closed);
  EXPECT_EQ(new_file.text.find("before"), std::string::npos) << new_file.text;
  EXPECT_NE(new_file.text.find(" access after\n"), std::string::npos) << new_file.text;
}

TEST(BufferedLogSink, AFailingFileIsCountedAndLoggingGoesOn) {
  Shared s;
  s.fail = true;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  Log(*sink, "lost");
  sink->Flush();
  EXPECT_EQ(sink->failures(), 1u);
  s.fail = false;
  Log(*sink, "kept");
  sink->Flush();
  EXPECT_EQ(Messages(s.text), "kept\n");
}

TEST(LogFormat, ControlCharactersInAServerLogMessageCannotStartALine) {
  std::ostringstream text;
  auto log = std::make_shared<spdlog::logger>(
      "test-format", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
  log->set_formatter(ServerLogFormatter());
  log->info("key a\nfake line\r\x1b[31m\x7f end");
  log->flush();
  const std::string s = text.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
  EXPECT_NE(s.find(" info key a\\x0afake line\\x0d\\x1b[31m\\x7f end\n"), std::string::npos) << s;
}

TEST(LogFormat, ControlCharactersInAnAccessLogLineCannotStartALine) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  Log(*sink, "method=GET key=\"a\nforged\" status=200");
  Log(*sink, std::string("nul\0and\x7f del", 12));
  Log(*sink, "");
  sink->Flush();
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(Messages(s.text),
            "method=GET key=\"a\\x0aforged\" status=200\nnul\\x00and\\x7f del\n\n")
      << s.text;
}

TEST(LogFormat, TheTimeIsLocalToTheMillisecondAndTheSameForTwoLinesOfOneSecond) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::floor<std::chrono::seconds>(now);
  const int64_t base =
      std::chrono::duration_cast<std::chrono::microseconds>(secs.time_since_epoch()).count();
  s3::AccessLog& log = *sink;
  log.Write(base + 7'000, "first");
  log.Write(base + 987'999, "second");
  log.Write(base + 1'000'000, "next second");
  sink->Flush();
  auto text_of = [](std::chrono::system_clock::time_point t) {
    std::tm tm = spdlog::details::os::localtime(std::chrono::system_clock::to_time_t(t));
    char want[32];
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(want);
  };
  const std::string want = text_of(secs), next = text_of(secs + std::chrono::seconds(1));
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(s.text, want + ".007 access first\n" + want + ".987 access second\n" + next +
                        ".000 access next second\n");
}

TEST(LogFormat, EscapingMatchesTheBytewiseRuleForEveryByteAtEveryOffset) {
  auto naive = [](std::string_view in) {
    std::string out;
    for (unsigned char c : in) {
      if (c < 0x20 || c == 0x7f) {
        char b[5];
        std::snprintf(b, sizeof b, "\\x%02x", c);
        out += b;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  };
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 20; ++at) {
      std::string in(20, 'a');
      in[at] = static_cast<char>(c);
      spdlog::memory_buf_t out;
      AppendEscaped(in, out);
      ASSERT_EQ(std::string(out.data(), out.size()), naive(in)) << "byte " << c << " at " << at;
    }
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  spdlog::memory_buf_t out;
  AppendEscaped(all, out);
  EXPECT_EQ(std::string(out.data(), out.size()), naive(all));
}

}  // namespace
}  // namespace sluice::server
