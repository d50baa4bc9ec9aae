// Coroutine plumbing shared by the layers: the Task type; Offload(), which runs blocking
// work (fsync, synced index commits) on the blocking pool and resumes the caller on its
// own I/O thread; and Background, the same work started now and awaited later.
#pragma once

// The standard headers come first: this Boost's awaitable.hpp uses std::exchange
// without including <utility>.
// clang-format off
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
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

// fn() inline when `blocks` is false, else on `pool` as Offload runs it: the one rule both
// backend adapters (meta::AsyncIndex, storage::AsyncDataStore) apply to each call.
template <typename F>
Task<std::invoke_result_t<F>> InlineOrOffload(bool blocks, boost::asio::thread_pool& pool, F fn) {
  if (!blocks) co_return fn();
  co_return co_await Offload(pool, std::move(fn));
}

// Blocking work started on the pool at construction and awaited later with Wait(), so
// the caller can get on with something else meanwhile (an upload reads its next piece
// from the socket while this one is hashed and written). Wait() must be awaited before
// anything fn uses goes away; destroying a Background does not stop fn.
template <typename R>
class Background {
 public:
  template <typename F>
  Background(boost::asio::thread_pool& pool, F fn) : pool_(&pool), s_(std::make_shared<State>()) {
    boost::asio::post(pool, [s = s_, fn = std::move(fn)]() mutable {
      std::optional<R> r;
      std::exception_ptr e;
      try {
        r.emplace(fn());
      } catch (...) {
        e = std::current_exception();
      }
      std::function<void()> waiter;
      {
        std::lock_guard lk(s->mu);
        s->result = std::move(r);
        s->error = e;
        s->done = true;
        waiter = std::move(s->waiter);
      }
      if (waiter) waiter();
    });
  }

  // The result (or fn's exception), once; resumes on the awaiting coroutine's executor.
  Task<R> Wait() {
    bool ready;
    {
      std::lock_guard lk(s_->mu);
      ready = s_->done;
    }
    if (!ready) {
      co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
          [sp = &s_, p = pool_](auto handler) {
            // The resumed coroutine destroys the frame this lambda lives in, possibly on
            // another I/O thread, so the handler is never resumed from here: from the
            // pool, as Offload does, and only what is on this stack is touched after the
            // hand-over (`st` keeps the state and its mutex alive until the unlock). The
            // lambda owns nothing: a shared_ptr captured here was released once too often
            // (ASan: the state freed while Wait still read it; GCC 12 and Boost 1.74).
            std::shared_ptr<State> st = *sp;
            auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                            boost::asio::execution::outstanding_work.tracked);
            // std::function needs a copyable target; the handler is move-only.
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            std::function<void()> resume = [home, h] { boost::asio::post(home, std::move(*h)); };
            std::unique_lock lk(st->mu);
            if (!st->done) {
              st->waiter = std::move(resume);
              return;
            }
            lk.unlock();
            boost::asio::post(*p, std::move(resume));  // finished in the meantime
          },
          boost::asio::use_awaitable);
    }
    if (s_->error) std::rethrow_exception(s_->error);
    co_return std::move(*s_->result);
  }

 private:
  struct State {
    std::mutex mu;
    bool done = false;
    std::optional<R> result;
    std::exception_ptr error;
    std::function<void()> waiter;
  };
  boost::asio::thread_pool* pool_;
  std::shared_ptr<State> s_;
};

}  // namespace sluice
