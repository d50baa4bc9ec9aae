// The data store as the I/O threads call it: the one place that decides, from what the
// store declares (DataStore::blocking(), DataWriter::shape()), whether a call runs inline
// on the awaiting I/O thread or on the blocking pool. The S3 layer holds only this.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/async.h"
#include "storage/api/data_store.h"

namespace sluice::storage {

class AsyncDataStore {
 public:
  AsyncDataStore(DataStore* store, boost::asio::thread_pool* pool)
      : store_(store), pool_(pool), blocking_(store->blocking()) {}

  // The store itself, for callers that may block (startup, recovery, the pool).
  DataStore& backend() const { return *store_; }

  Task<Result<std::unique_ptr<DataWriter>>> Create(uint64_t size_hint, const std::string& owner) {
    return InlineOrOffload(blocking_.open, *pool_,
                           [this, size_hint, &owner] { return store_->Create(size_hint, owner); });
  }
  Task<Result<std::unique_ptr<DataReader>>> Open(const std::string& id) {
    return InlineOrOffload(blocking_.open, *pool_, [this, &id] { return store_->Open(id); });
  }
  Task<Result<std::unique_ptr<DataWriter>>> Extend(const std::string& id, uint64_t offset) {
    return InlineOrOffload(blocking_.open, *pool_,
                           [this, &id, offset] { return store_->Extend(id, offset); });
  }
  // One append, inline or on the pool as the writer's shape says.
  Task<Status> Append(DataWriter& w, const void* data, size_t n) {
    return InlineOrOffload(w.shape().blocks, *pool_, [&w, data, n] { return w.Append(data, n); });
  }
  // A blocking writer's append, started on the pool now and awaited later, so the caller
  // can receive the next piece meanwhile. `data` must outlive the Wait().
  Background<Status> StartAppend(DataWriter& w, const void* data, size_t n) {
    return Background<Status>(*pool_, [&w, data, n] { return w.Append(data, n); });
  }
  // DataStore::ReadMany, inline or on the pool as Open is (the answers are in `reads`; the
  // bool is only what the pool hands back).
  Task<bool> ReadMany(std::vector<DataStore::RangeRead>& reads) {
    return InlineOrOffload(blocking_.open, *pool_, [this, &reads] {
      store_->ReadMany(reads);
      return true;
    });
  }
  bool ReadsManyAtOnce() const { return store_->ReadsManyAtOnce(); }
  Task<Status> Commit(DataWriter& w) {
    return InlineOrOffload(blocking_.commit, *pool_, [&w] { return w.Commit(); });
  }
  // After the index commit made them durable: Published() for each id, off the request
  // path (the local store syncs a directory; failures are only logged).
  void PublishedLater(std::vector<std::string> ids) {
    if (ids.empty()) return;
    boost::asio::post(*pool_, [s = store_, ids = std::move(ids)] {
      for (const auto& id : ids) s->Published(id);
    });
  }
  // Deletes `ids` off the request path, then calls done() with those deleted (on the pool).
  void DeleteLater(std::vector<std::string> ids,
                   std::function<void(std::vector<std::string>)> done = {});
  // A run of blocking calls (a copy from one object to new data) as one job on the pool.
  template <typename F>
  Task<std::invoke_result_t<F>> Blocking(F fn) {
    co_return co_await Offload(*pool_, std::move(fn));
  }

 private:
  DataStore* store_;
  boost::asio::thread_pool* pool_;
  DataStore::Blocking blocking_;
};

}  // namespace sluice::storage
