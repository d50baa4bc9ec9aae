// Coroutine plumbing shared by the layers: the Task type and Offload(), which runs
// blocking work (fsync, synced index commits) on the blocking pool and resumes the
// caller on its own I/O thread.
#pragma once

// The standard headers come first: this Boost's awaitable.hpp uses std::exchange
// without including <utility>.
// clang-format off
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
// clang-format on

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sluice {

template <typename T>
using Task = boost::asio::awaitable<T>;

// Runs fn() on a thread of `pool` and resumes the awaiting coroutine on its own executor.
// (`co_await post(pool, use_awaitable)` would not do it: its completion is dispatched
// through the coroutine's executor, so fn would still run on the I/O thread.)
template <typename F>
Task<std::invoke_result_t<F>> Offload(boost::asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F>;
  using Slot = std::conditional_t<std::is_void_v<R>, bool, R>;
  std::optional<Slot> result;
  std::exception_ptr error;
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
      [&](auto handler) {
        // The home executor counts the pending resumption as work, so its run() waits.
        auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(pool, [&, home, handler = std::move(handler)]() mutable {
          try {
            if constexpr (std::is_void_v<R>) {
              fn();
              result.emplace(true);
            } else {
              result.emplace(fn());
            }
          } catch (...) {
            error = std::current_exception();
          }
          boost::asio::post(home, std::move(handler));
        });
      },
      boost::asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace sluice
