// Coroutine plumbing shared by the layers: the Task type and Offload(), which runs
// blocking work (fsync, synced index commits) on the blocking pool and resumes the
// caller on its own I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace sluice {

template <typename T>
using Task = boost::asio::awaitable<T>;

template <typename F>
Task<std::invoke_result_t<F>> Offload(boost::asio::thread_pool& pool, F fn) {
  auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(pool.get_executor(), boost::asio::use_awaitable);
  auto result = fn();
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

}  // namespace sluice
