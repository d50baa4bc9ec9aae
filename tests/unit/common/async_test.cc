// Offload() must run its function on the blocking pool and resume the caller on its own
// I/O thread. (Its first version awaited post(pool, use_awaitable), whose completion is
// dispatched through the coroutine's executor: the "offloaded" fsyncs ran on the I/O
// threads, and the I/O threads serialised every synced commit.)
#include "common/async.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

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

}  // namespace
}  // namespace sluice
