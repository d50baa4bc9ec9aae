// Offload() and Background must run their function on the blocking pool and resume the
// caller on its own I/O thread. (Its first version awaited post(pool, use_awaitable), whose
// completion is dispatched through the coroutine's executor: the "offloaded" fsyncs ran on the I/O
// threads, and the I/O threads serialised every synced commit.)
#include "common/async.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(OffloadTest, RunsOnThePoolAndResumesAtHome) {
  boost::asio::io_context io;
  boost::asio::thread_pool pool(2);
  std::thread::id home, ran, resumed;
  int got = 0;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        home = std::this_thread::get_id();
        got = co_await Offload(pool, [&] {
          ran = std::this_thread::get_id();
          return 42;
        });
        resumed = std::this_thread::get_id();
      },
      boost::asio::detached);
  io.run();
  pool.join();
  EXPECT_EQ(got, 42);
  EXPECT_NE(ran, home);
  EXPECT_EQ(resumed, home);
}

TEST(OffloadTest, BlockingWorkDoesNotStallTheIoThread) {
  // One I/O thread: a function blocking on the pool must leave it free for other work.
  boost::asio::io_context io;
  boost::asio::thread_pool pool(2);
  std::atomic<bool> release{false};
  bool timer_fired_while_blocked = false;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await Offload(pool, [&] {
          // Bounded, so that a function run on the I/O thread fails the test instead of
          // hanging it: the timer below could then never fire.
          for (int i = 0; i < 2000 && !release; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return 0;
        });
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        boost::asio::steady_timer t(io, std::chrono::milliseconds(5));
        co_await t.async_wait(boost::asio::use_awaitable);
        timer_fired_while_blocked = !release;
        release = true;
      },
      boost::asio::detached);
  io.run();
  pool.join();
  EXPECT_TRUE(timer_fired_while_blocked);
}

TEST(OffloadTest, VoidFunctionsAndExceptions) {
  boost::asio::io_context io;
  boost::asio::thread_pool pool(1);
  int calls = 0;
  bool caught = false;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await Offload(pool, [&] { calls++; });
        try {
          co_await Offload(pool, []() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error&) {
          caught = true;
        }
      },
      boost::asio::detached);
  io.run();
  pool.join();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(caught);
}

TEST(BackgroundTest, ResultsInOrderWhetherDoneOrNotAtTheWait) {
  // Work that finishes before the Wait and work that finishes after it, an exception
  // passed through, and the awaiting coroutine resumed on an I/O thread each time.
  boost::asio::io_context io;
  boost::asio::thread_pool pool(2);
  std::vector<int> got;
  std::string error;
  std::thread::id io_thread;
  bool always_home = true;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        io_thread = std::this_thread::get_id();
        for (int i = 0; i < 50; ++i) {
          Background<int> bg(pool, [i] {
            if (i % 2) std::this_thread::sleep_for(std::chrono::microseconds(300));
            return i;
          });
          if (i % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
          got.push_back(co_await bg.Wait());
          always_home = always_home && std::this_thread::get_id() == io_thread;
        }
        Background<int> bad(pool, []() -> int { throw std::runtime_error("boom"); });
        try {
          co_await bad.Wait();
        } catch (const std::exception& e) {
          error = e.what();
        }
      },
      boost::asio::detached);
  io.run();
  pool.join();
  ASSERT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i], i);
  EXPECT_EQ(error, "boom");
  EXPECT_TRUE(always_home);
}

TEST(BackgroundTest, ManyCoroutinesOnTwoIoThreads) {
  // The shape of an upload: each coroutine keeps one piece of work in flight while it
  // does something else, on an io_context run by two threads. The first version resumed
  // the waiter from inside the initiation and crashed here: the other I/O thread
  // destroyed the initiation's frame under it.
  boost::asio::io_context io;
  boost::asio::thread_pool pool(4);
  std::atomic<int> sum{0}, done{0};
  for (int c = 0; c < 16; ++c) {
    boost::asio::co_spawn(
        io,
        [&, c]() -> Task<void> {
          std::optional<Background<int>> inflight;
          for (int i = 0; i < 400; ++i) {
            if (inflight) sum += co_await inflight->Wait();
            inflight.emplace(pool, [c, i] { return (c + i) % 7; });
            if (i % 3 == 0) co_await Offload(pool, [] { return 0; });
          }
          sum += co_await inflight->Wait();
          ++done;
        },
        boost::asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  pool.join();
  int want = 0;
  for (int c = 0; c < 16; ++c)
    for (int i = 0; i < 400; ++i) want += (c + i) % 7;
  EXPECT_EQ(done.load(), 16);
  EXPECT_EQ(sum.load(), want);
}

}  // namespace
}  // namespace sluice
