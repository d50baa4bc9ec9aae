#include "server/log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/details/os.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
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

std::shared_ptr<spdlog::logger> Logger(const std::shared_ptr<BufferedLogSink>& sink) {
  auto l = std::make_shared<spdlog::logger>("test-access", sink);
  l->set_pattern("%v");
  return l;
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
  auto log = Logger(sink);
  for (int i = 0; i < 100; ++i) log->info("line {}", i);
  {
    std::lock_guard<std::mutex> l(s.mu);
    EXPECT_EQ(s.appends, 0) << "100 short lines are below the write threshold";
  }
  log->flush();
  EXPECT_EQ(sink->waits(), 0u);
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(s.text, Numbered(0, 100));
  EXPECT_EQ(s.appends, 1) << "one write for all of them";
}

TEST(BufferedLogSink, WritesOnceAThresholdIsReachedWithoutAFlush) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  auto log = Logger(sink);
  const std::string big(1000, 'x');
  size_t lines = BufferedLogSink::kWriteAt / big.size() + 1;
  for (size_t i = 0; i < lines; ++i) log->info("{}", big);
  std::unique_lock<std::mutex> l(s.mu);
  ASSERT_TRUE(s.cv.wait_for(l, std::chrono::seconds(30), [&] { return s.appends > 0; }))
      << "the writer was not woken by a full buffer";
  EXPECT_EQ(s.text.size(), lines * (big.size() + 1));
}

TEST(BufferedLogSink, WritesWithinItsIntervalWhenIdle) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", milliseconds(20));
  auto log = Logger(sink);
  log->info("alone");
  std::unique_lock<std::mutex> l(s.mu);
  ASSERT_TRUE(s.cv.wait_for(l, std::chrono::seconds(30), [&] { return s.appends > 0; }));
  EXPECT_EQ(s.text, "alone\n");
}

// With the file's gate shut, a thread logs more than the limit plus what the writer holds:
// it must be held back, not run past the limit, and once the gate opens every line must be
// there in order. log(i, big) logs line i; it is written as `prefix` bytes, "i ", big, "\n".
void CheckASlowFileHoldsLoggersBack(
    size_t prefix, const std::function<void(BufferedLogSink&, int, const std::string&)>& log) {
  Shared s;
  s.gate_open = false;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", milliseconds(1));
  const std::string big(4000, 'y');
  const int lines = static_cast<int>(3 * BufferedLogSink::kLimit / big.size());
  std::atomic<int> logged{0};
  std::thread t([&] {
    for (int i = 0; i < lines; ++i) {
      log(*sink, i, big);
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
  sink->flush();
  std::lock_guard<std::mutex> l(s.mu);
  size_t pos = 0;
  for (int i = 0; i < lines; ++i) {
    std::string head = std::to_string(i) + " ";
    pos += prefix;
    ASSERT_EQ(s.text.compare(pos, head.size(), head), 0) << "line " << i << " missing or moved";
    pos += head.size() + big.size() + 1;
  }
  EXPECT_EQ(pos, s.text.size());
}

TEST(BufferedLogSink, ASlowFileHoldsLoggersBackAndLosesNothing) {
  std::shared_ptr<spdlog::logger> log;
  CheckASlowFileHoldsLoggersBack(0, [&](BufferedLogSink& sink, int i, const std::string& big) {
    if (!log) {
      log = std::make_shared<spdlog::logger>(
          "test-access", std::shared_ptr<BufferedLogSink>(std::shared_ptr<void>(), &sink));
      log->set_pattern("%v");
    }
    log->info("{} {}", i, big);
  });
}

TEST(BufferedLogSink, TheDestructorWritesWhatIsLeftAndCloses) {
  Shared s;
  {
    auto sink = std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t",
                                                  std::chrono::hours(1));
    auto log = Logger(sink);
    for (int i = 0; i < 10; ++i) log->info("line {}", i);
  }
  EXPECT_EQ(s.text, Numbered(0, 10));
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
  sink->flush();
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
  auto log = Logger(sink);
  log->info("lost");
  log->flush();
  EXPECT_EQ(sink->failures(), 1u);
  s.fail = false;
  log->info("kept");
  log->flush();
  EXPECT_EQ(s.text, "kept\n");
}

TEST(LogFormat, ControlCharactersInAMessageCannotStartALine) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  auto log = std::make_shared<spdlog::logger>("test-format", sink);
  log->set_formatter(ServerLogFormatter());
  log->info("key a\nfake line\r\x1b[31m\x7f end");
  log->flush();
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(std::count(s.text.begin(), s.text.end(), '\n'), 1) << s.text;
  EXPECT_NE(s.text.find(" info key a\\x0afake line\\x0d\\x1b[31m\\x7f end\n"), std::string::npos)
      << s.text;
}

TEST(LogFormat, TheTimeIsLocalToTheMillisecondAndTheSameForTwoLinesOfOneSecond) {
  Shared s;
  auto sink =
      std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&s), "t", std::chrono::hours(1));
  auto log = std::make_shared<spdlog::logger>("test-time", sink);
  log->set_formatter(AccessLogFormatter());
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::floor<std::chrono::seconds>(now);
  spdlog::details::log_msg a(secs + std::chrono::milliseconds(7), {}, "t", spdlog::level::info,
                             "first");
  spdlog::details::log_msg b(secs + std::chrono::milliseconds(987), {}, "t", spdlog::level::info,
                             "second");
  sink->log(a);
  sink->log(b);
  sink->flush();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm = spdlog::details::os::localtime(t);
  char want[32];
  std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> l(s.mu);
  EXPECT_EQ(s.text, std::string(want) + ".007 access first\n" + want + ".987 access second\n");
}

TEST(BufferedLogSink, AnAccessLogLineIsLaidOutAsTheSpdlogPathLaysItOut) {
  // Write() (s3::AccessLog) bypasses spdlog: its line must be byte for byte what a logger
  // with AccessLogFormatter() writes for the same time and message, escaping included.
  Shared direct_file, spdlog_file;
  auto direct = std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&direct_file), "d",
                                                  std::chrono::hours(1));
  auto via = std::make_shared<BufferedLogSink>(std::make_unique<TestFile>(&spdlog_file), "s",
                                               std::chrono::hours(1));
  via->set_formatter(AccessLogFormatter());
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::string messages[] = {"method=GET key=\"a\nforged\" status=200",
                                  std::string("nul\0and\x7f del", 12), "", "second one"};
  int64_t micros[] = {0, 999, 7'000, 999'999};
  for (size_t i = 0; i < 4; ++i) {
    auto t = now + std::chrono::microseconds(micros[i]) + std::chrono::seconds(i / 3);
    int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    static_cast<s3::AccessLog*>(direct.get())->Write(us, messages[i]);
    spdlog::details::log_msg m(t, {}, "access", spdlog::level::info, messages[i]);
    via->log(m);
  }
  direct->flush();
  via->flush();
  std::lock_guard<std::mutex> l1(direct_file.mu), l2(spdlog_file.mu);
  EXPECT_EQ(direct_file.text, spdlog_file.text);
  EXPECT_EQ(std::count(direct_file.text.begin(), direct_file.text.end(), '\n'), 4)
      << direct_file.text;
  EXPECT_NE(direct_file.text.find(".000 access method=GET key=\"a\\x0aforged\" status=200\n"),
            std::string::npos)
      << direct_file.text;
  EXPECT_NE(direct_file.text.find(".007 access \n"), std::string::npos) << direct_file.text;
}

TEST(BufferedLogSink, AccessLogLinesAreHeldBackNotDroppedWhenTheFileIsSlow) {
  CheckASlowFileHoldsLoggersBack(TimeText::kSize + 8,  // "TIME access "
                                 [](BufferedLogSink& sink, int i, const std::string& big) {
                                   static_cast<s3::AccessLog&>(sink).Write(
                                       int64_t{1'700'000'000} * 1'000'000,
                                       std::to_string(i) + " " + big);
                                 });
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
