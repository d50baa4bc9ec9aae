// Object data, in S3 terms: a DataStore holds immutable byte runs named by opaque ids.
// The metadata index (meta/api) decides which ids an object is made of; a DataStore knows
// nothing of buckets or keys. Implementations: local files (storage/local), memory
// (storage/mem), later RADOS objects.
//
// Life of an id: Create(owner) -> Append()... -> Commit() (durable, not yet referenced) ->
// the index references it in one atomic step -> Published(id). The bytes an index record
// covers never change; an append (Extend) only adds bytes past them. Recovery after a crash
// asks ListUnpublished() and settles each id: kept if the index references it (asked with
// the owner the id was created with), deleted otherwise. Deleted data ids come from the
// index's GC queue. An unpublished id with its owner is the write's intent: it lives with
// the data, in whatever form the store has (the local store's tmp/ directory; a shared
// store's intent log), so no store needs a write that spans two places.
//
// Calls may block (a device, the network). The S3 layer never calls them directly on an
// I/O thread: it awaits AsyncDataStore (async_data_store.h), which runs each call inline
// or on the blocking pool as blocking() and DataWriter::shape() say; DataReader::Send is
// awaitable itself. How bytes reach the disk or the socket (direct I/O, page alignment,
// readahead, sendfile) is the store's business, never the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/async.h"
#include "common/status.h"

namespace sluice::storage {

// Where DataReader::Send puts bytes: the HTTP response, seen through the S3 layer.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Task<Status> Write(std::string_view bytes) = 0;
  // [offset, offset + n) of a kernel file, by sendfile where the transport allows.
  virtual Task<Status> SendFile(int fd, uint64_t offset, uint64_t n) = 0;
  // Runs shorter than this are wanted as Write()s of their bytes, not SendFile: a sink that
  // gathers many small pieces into one send (a BatchGet of 4 KiB members), for which a
  // read into its buffer costs less than a flush and a sendfile each.
  virtual uint64_t CopyBelow() const { return 0; }
};

// Not thread-safe; one request owns it. Destroying an uncommitted writer discards it, on
// whatever thread the request ends, so the discard must not wait: the local store unlinks a
// tmp/ file; a network store starts the removal and leaves a failure to recovery.
class DataWriter {
 public:
  virtual ~DataWriter() = default;
  virtual const std::string& id() const = 0;
  virtual uint64_t size() const = 0;
  virtual Status Append(const void* data, size_t n) = 0;
  // How this writer wants its appends: `blocks` when Append may wait for the device or
  // the network (it then runs on the blocking pool, and the caller overlaps the next
  // piece's receive with it); `piece`, the size of each Append but the last (0: any), and
  // `align`, the alignment of the buffers handed in (a direct-I/O file takes whole pages
  // with no copy).
  struct Shape {
    bool blocks = false;
    size_t piece = 0;
    size_t align = 1;
  };
  virtual Shape shape() const { return {}; }
  // Makes the bytes durable. Blocking (syncs); call it off the I/O threads.
  virtual Status Commit() = 0;
};

// Thread-safe reads of committed data.
class DataReader {
 public:
  virtual ~DataReader() = default;
  virtual uint64_t Size() const = 0;
  // Blocking; for the I/O threads there is Send.
  virtual Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const = 0;
  // Sends [offset, offset + n) to `sink`, in the store's own way (the local store by
  // sendfile with a readahead hint; a network store with reads kept in flight). The
  // default reads into a buffer of `buffer` bytes and writes it out, for stores whose
  // reads never block.
  virtual Task<Status> Send(ByteSink& sink, uint64_t offset, uint64_t n, size_t buffer) const;
};

class DataStore {
 public:
  virtual ~DataStore() = default;
  // Which calls may wait on a device or the network: `open` for Create and Open; `commit`
  // for Commit, Published and Delete. The default is the safe one: both block.
  struct Blocking {
    bool open = true;
    bool commit = true;
  };
  virtual Blocking blocking() const { return {}; }
  // `size_hint`: the expected size when known (0: unknown); large writes may take a
  // path that bypasses the page cache.
  // `owner`: where the index will reference the id (meta::DataOwner::Encode()), opaque
  // here; kept with the unpublished data where the store can (not by the local store,
  // whose index needs none: see meta::Index::IsReferenced).
  virtual Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0,
                                                     std::string_view owner = {}) = 0;
  // Opens committed data; where ReadsWhileWriting(), also data still being written.
  virtual Result<std::unique_ptr<DataReader>> Open(const std::string& id) = 0;
  // Whether Open of an id whose writer is still appending reads every byte Append has
  // returned for, at once (the local store: its tmp/ file, written through the page cache
  // when created without a size hint). A read-through cache then serves a fill as it lands
  // (s3/read_cache.h); elsewhere its readers wait for the commit.
  virtual bool ReadsWhileWriting() const { return false; }
  // Opens committed data to add bytes at its end (an append to an object, which writes
  // O(appended bytes), never a copy). The writer writes from `offset`, the size the index
  // records: whatever lies past it (an append that never committed) is dropped first, and
  // the bytes before are never touched, so readers of the recorded size are undisturbed.
  // Commit() makes the new bytes durable; destroying the writer uncommitted leaves the
  // data as it was up to `offset`. The caller serialises extensions of one id and commits
  // the new size in the index only after Commit(). kNotImplemented where the store cannot
  // (the default), and then appends answer 501.
  // Whether Extend works here: appends are refused up front (501) where it does not, so
  // an object never takes appends while small and refuses them once it has data of its own.
  virtual bool SupportsExtend() const { return false; }
  virtual Result<std::unique_ptr<DataWriter>> Extend(const std::string& id, uint64_t offset) {
    (void)id;
    (void)offset;
    return Status(Err::kNotImplemented, "this data store cannot extend data in place");
  }
  // The index now references `id`; the store may move it to its final place. May block
  // (syncs): call it off the I/O threads. Failures are harmless (recovery finishes the
  // job) and only logged.
  virtual void Published(const std::string& id) = 0;
  // Whether new data can be written now, for the readiness probe (GET /ready): the local
  // store creates, syncs and removes a small file beside its data (a full or read-only
  // disk fails it). The default, for stores whose writes the index probe already covers
  // (RADOS: the cluster answering), is Ok. Blocking.
  virtual Status CheckWritable() { return Status::Ok(); }
  // Whether `bytes` of new data may be kept inline in the index, which shares this store's
  // disk (a small object): kNoSpace when they would eat into the space kept for deletes.
  // Cheap (no I/O most of the time). The default, for stores on a cluster that keeps its
  // own full ratios (RADOS), is Ok.
  virtual Status AdmitInline(uint64_t bytes) {
    (void)bytes;
    return Status::Ok();
  }
  // Reads each range whole into its `bytes`, or sets its `status`: kNotFound for data that
  // does not exist, kCorruption for data shorter than the range. For a batch of small reads
  // (BatchGet's file-backed members, often many of one tar shard). The default opens each
  // id once and reads the ranges one after another; a store whose reads are round trips
  // answers them in few (RADOS: one operation for every range in one of its objects) and
  // says so with ReadsManyAtOnce(), which is when callers gather reads into one call.
  // Blocking (as Open is: blocking().open).
  struct RangeRead {
    std::string id;
    uint64_t offset = 0, length = 0;
    std::string bytes;  // out
    Status status = Status::Ok();
  };
  virtual void ReadMany(std::vector<RangeRead>& reads);
  virtual bool ReadsManyAtOnce() const { return false; }
  // Deletes committed or uncommitted data; an absent id is not an error.
  virtual Status Delete(const std::string& id) = 0;
  // Ids committed or written but never published (after a crash).
  struct Unpublished {
    std::string id;
    std::string owner;  // as given to Create, or empty when the store keeps none
    bool operator==(const Unpublished&) const = default;
  };
  virtual Result<std::vector<Unpublished>> ListUnpublished() = 0;

  // A store shared by several writers (gateways on one cluster) keeps one intent log per
  // writer. A writer that died and never came back leaves its log behind: once its lease
  // has lapsed, ClaimAbandoned returns such logs (their unpublished ids), to be settled as
  // recovery settles this writer's own, and then dropped with ForgetLog. A store with one
  // writer has none.
  struct AbandonedLog {
    std::string name;
    std::vector<Unpublished> ids;
  };
  virtual Result<std::vector<AbandonedLog>> ClaimAbandoned() { return std::vector<AbandonedLog>{}; }
  virtual Status ForgetLog(const std::string& /*name*/) { return Status::Ok(); }
};

}  // namespace sluice::storage
