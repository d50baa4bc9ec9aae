// Runs a coroutine to completion on an io_context driven by the calling thread: for unit
// tests of awaitable interfaces (AsyncIndex, AsyncDataStore, DataReader::Send).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "common/async.h"

namespace sluice::testing_async {

// `body` returns Task<void>. Inside it use EXPECT_*, not ASSERT_* (which `return`).
template <typename F>
void RunCoroutine(F body) {
  boost::asio::io_context io;
  bool done = false;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await body();
        done = true;
      },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(done);
}

}  // namespace sluice::testing_async
