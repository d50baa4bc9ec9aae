// Single-flight: calls for the same key that overlap in time share one execution. When
// the replicas of a model server scale out together, each piece of the model is read from
// the backend once per gateway, not once per client (#21). Callers that join a call in
// flight wait for its value on their own thread, so it is for work already running on a
// blocking pool (a RADOS read), never on an I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice {

template <typename V>
class SingleFlight {
 public:
  // fn() unless a call for `key` is in flight; then that call's value (or exception). A
  // call that starts after the one in flight finished runs fn() again: nothing is cached.
  V Do(const std::string& key, const std::function<V()>& fn) {
    std::unique_lock l(mu_);
    if (auto it = calls_.find(key); it != calls_.end()) {
      std::shared_future<V> f = it->second;
      joined_.fetch_add(1, std::memory_order_relaxed);
      l.unlock();
      return f.get();
    }
    std::promise<V> p;
    calls_.emplace(key, p.get_future().share());
    l.unlock();
    try {
      V v = fn();
      Forget(key);
      p.set_value(v);
      return v;
    } catch (...) {
      Forget(key);
      p.set_exception(std::current_exception());
      throw;
    }
  }
  // Calls that joined one in flight instead of running fn().
  uint64_t joined() const { return joined_.load(std::memory_order_relaxed); }
  size_t in_flight() const {
    std::lock_guard l(mu_);
    return calls_.size();
  }

 private:
  void Forget(const std::string& key) {
    std::lock_guard l(mu_);
    calls_.erase(key);
  }
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_future<V>> calls_;
  std::atomic<uint64_t> joined_{0};
};

}  // namespace sluice
