// DataStore on a local file system, through io::FileSystem.
//
// Layout under `root` (see docs/storage-format.md):
//   tmp/<id>              written and committed, not yet referenced by the index
//   objects/<id[0:2]>/<id> published
// Commit = fdatasync(file) + fsync(tmp/). Published = link into objects/, fsync that
// directory, then unlink from tmp/. Not a rename: a rename's removal from tmp/ can become
// durable (any later fsync of tmp/ carries it) before its arrival in objects/ does, and a
// power cut between the two would lose an acknowledged object. With link-sync-unlink the
// file always has a durable name. Recovery finds files still in tmp/ and finishes the
// job. Open looks in objects/ first, then tmp/, so a reader between the index commit and
// the link still finds the bytes.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "io/env.h"
#include "storage/api/data_store.h"
#include "storage/local/space_guard.h"

namespace sluice::storage {

class LocalDataStore final : public DataStore {
 public:
  // `guard`, when given, keeps free space for deletes: new data is refused below its
  // reserve (storage/local/space_guard.h).
  LocalDataStore(io::FileSystem* fs, io::Random* rnd, std::string root,
                 SpaceGuard* guard = nullptr);
  // Creates the directory tree.
  Status Init();

  // Objects of at least this many bytes are written with direct I/O.
  static constexpr uint64_t kDirectMin = 1 << 20;
  // Opening a file is a metadata lookup the I/O threads can afford; syncs are not.
  Blocking blocking() const override { return {false, true}; }
  // The owner is not kept: tmp/ holds only the ids (KvIndex answers by id).
  Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0,
                                             std::string_view owner = {}) override;
  Result<std::unique_ptr<DataReader>> Open(const std::string& id) override;
  bool SupportsExtend() const override { return true; }
  // Buffered files (Create without a size hint) are written with write(2): readers see
  // each Append at once.
  bool ReadsWhileWriting() const override { return true; }
  Result<std::unique_ptr<DataWriter>> Extend(const std::string& id, uint64_t offset) override;
  void Published(const std::string& id) override;
  // Writes, syncs and removes DATA/ready-probe; then the guard's verdict.
  Status CheckWritable() override;
  Status AdmitInline(uint64_t bytes) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<Unpublished>> ListUnpublished() override;

  std::string TmpPath(const std::string& id) const { return root_ + "/tmp/" + id; }
  std::string ObjectPath(const std::string& id) const;

 private:
  // The files of the last reads, kept open: a small read (a 4 KiB member of a tar shard, a
  // ranged GET) otherwise pays an open, a stat and a close, more than the read itself
  // (bench/MEMBERS.md). Data is immutable but for appends, whose readers ask the size
  // again (LocalReader), and ids are never reused; Delete drops an id.
  class OpenFiles {
   public:
    std::shared_ptr<io::ReadableFile> Get(const std::string& id);
    void Put(const std::string& id, std::shared_ptr<io::ReadableFile> f);
    void Drop(const std::string& id);

   private:
    static constexpr size_t kCapacity = 256;
    std::mutex mu_;
    std::list<std::pair<std::string, std::shared_ptr<io::ReadableFile>>> lru_;
    std::unordered_map<std::string, decltype(lru_)::iterator> index_;
  };
  OpenFiles files_;
  io::FileSystem* fs_;
  io::Random* rnd_;
  std::string root_;
  SpaceGuard* guard_;
};

}  // namespace sluice::storage
