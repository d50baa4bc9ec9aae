// Object data, in S3 terms: a DataStore holds immutable byte runs named by opaque ids.
// The metadata index (meta/api) decides which ids an object is made of; a DataStore knows
// nothing of buckets or keys. Implementations: local files (storage/local), memory
// (storage/mem), later RADOS objects.
//
// Life of an id: Create() -> Append()... -> Commit() (durable, not yet referenced) ->
// the index references it in one atomic step -> Published(id). Recovery after a crash
// asks ListUnpublished() and settles each id with Recover(): kept if the index references
// it, deleted otherwise. Deleted data ids come from the index's GC queue.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::storage {

// Not thread-safe; one request owns it. Destroying an uncommitted writer discards it.
class DataWriter {
 public:
  virtual ~DataWriter() = default;
  virtual const std::string& id() const = 0;
  virtual uint64_t size() const = 0;
  virtual Status Append(const void* data, size_t n) = 0;
  // True when Append may wait for the device: call it off the I/O threads then.
  virtual bool AppendBlocks() const { return false; }
  // Makes the bytes durable. Blocking (syncs); call it off the I/O threads.
  virtual Status Commit() = 0;
};

// Thread-safe reads of committed data.
class DataReader {
 public:
  virtual ~DataReader() = default;
  virtual uint64_t Size() const = 0;
  virtual Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const = 0;
  // A kernel fd for zero-copy sends, or -1. Valid while the reader lives.
  virtual int NativeHandle() const = 0;
  // A hint that [offset, offset + n) is about to be read (see io::ReadableFile::WillRead).
  virtual void WillRead(uint64_t offset, uint64_t n) const {}
};

class DataStore {
 public:
  virtual ~DataStore() = default;
  // `size_hint`: the expected size when known (0: unknown); large writes may take a
  // path that bypasses the page cache.
  virtual Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0) = 0;
  virtual Result<std::unique_ptr<DataReader>> Open(const std::string& id) = 0;
  // The index now references `id`; the store may move it to its final place. May block
  // (syncs): call it off the I/O threads. Failures are harmless (recovery finishes the
  // job) and only logged.
  virtual void Published(const std::string& id) = 0;
  // Deletes committed or uncommitted data; an absent id is not an error.
  virtual Status Delete(const std::string& id) = 0;
  // Ids committed or written but never published (after a crash).
  virtual Result<std::vector<std::string>> ListUnpublished() = 0;
};

}  // namespace sluice::storage
