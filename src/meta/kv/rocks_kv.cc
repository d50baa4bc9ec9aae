// RocksDB-backed KvStore. RocksDB does its own file I/O through rocksdb::Env; the crash
// tests that need to drop unsynced data use MemKv instead (see docs/storage-format.md).
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <functional>
#include <shared_mutex>

#include "meta/kv/kv_store.h"

namespace sluice::meta {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status(Err::kNotFound, "");
  if (s.IsCorruption()) return Status(Err::kCorruption, s.ToString());
  if (s.IsNoSpace()) return Status(Err::kNoSpace, s.ToString(), true);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut())
    return Status(Err::kSlowDown, s.ToString(), true);
  return Status(Err::kIoError, s.ToString());
}

// RocksDB counts into a thread-local perf context on every key comparison unless the
// calling thread has said not to (its default level is kEnableCount), and from a shared
// library each count is a __tls_get_addr call: 2.3% of a 4 KiB GET under callgrind. Nothing
// here reads those counts. Called first in every call into RocksDB; a thread pays the
// SetPerfLevel once.
void NoPerfCounts() {
  thread_local const bool done = [] {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return true;
  }();
  (void)done;
}

// RocksDB's files, each append announced first (KvSpaceHooks::room), so that the
// local backend can give up its space reserve before RocksDB meets a full disk.
class RoomFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  RoomFile(std::unique_ptr<rocksdb::FSWritableFile> f, const std::function<Status(uint64_t)>* room)
      : FSWritableFileOwnerWrapper(std::move(f)), room_(room) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    (*room_)(data.size()).IgnoreError();
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    (*room_)(data.size()).IgnoreError();
    return target()->Append(data, o, v, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    (*room_)(data.size()).IgnoreError();
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& v,
                                     rocksdb::IODebugContext* dbg) override {
    (*room_)(data.size()).IgnoreError();
    return target()->PositionedAppend(data, offset, o, v, dbg);
  }

 private:
  const std::function<Status(uint64_t)>* room_;
};

class RoomFs final : public rocksdb::FileSystemWrapper {
 public:
  RoomFs(const std::shared_ptr<rocksdb::FileSystem>& base, std::function<Status(uint64_t)> room)
      : FileSystemWrapper(base), room_(std::move(room)) {}
  static const char* kClassName() { return "SluiceRoomFs"; }
  const char* Name() const override { return kClassName(); }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->NewWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->ReopenWritableFile(f, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(target()->ReuseWritableFile(f, old, o, r, dbg), r);
  }

 private:
  rocksdb::IOStatus Wrap(rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (s.ok()) *r = std::make_unique<RoomFile>(std::move(*r), &room_);
    return s;
  }
  std::function<Status(uint64_t)> room_;
};

// Version records (keys starting with 'V', docs/storage-format.md) live in their own column
// family. Every write of a versioned object inserts one O and one V record; in one memtable
// the two land far apart, so the skiplist's insertion hint never holds and each insert
// searches from the top (callgrind: 17,000 instructions per insert against 7,000). Two
// memtables keep both streams of inserts local. One WriteBatch still covers both column
// families atomically (one WAL). Nothing iterates from one key space into the other, so an
// iterator picks its column family at each Seek.
inline bool IsVersionKey(std::string_view key) { return !key.empty() && key[0] == 'V'; }

class RocksIterator final : public KvIterator {
 public:
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* main,
                rocksdb::ColumnFamilyHandle* versions)
      : db_(db), cf_{main, versions} {}
  void Seek(std::string_view key) override {
    NoPerfCounts();
    int which = IsVersionKey(key) ? 1 : 0;
    if (!its_[which]) its_[which].reset(db_->NewIterator(rocksdb::ReadOptions(), cf_[which]));
    cur_ = its_[which].get();
    cur_->Seek(rocksdb::Slice(key.data(), key.size()));
  }
  bool Valid() const override { return cur_ && cur_->Valid(); }
  void Next() override {
    NoPerfCounts();
    cur_->Next();
  }
  std::string_view key() const override { return cur_->key().ToStringView(); }
  std::string_view value() const override { return cur_->value().ToStringView(); }
  Status status() const override { return cur_ ? FromRocks(cur_->status()) : Status::Ok(); }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_[2];
  std::unique_ptr<rocksdb::Iterator> its_[2];
  rocksdb::Iterator* cur_ = nullptr;
};

class RocksKv final : public KvStore {
 public:
  RocksKv(std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, KvSpaceHooks hooks)
      : env_(std::move(env)), db_(db), handles_(std::move(handles)), hooks_(std::move(hooks)) {}
  ~RocksKv() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  Status Get(std::string_view key, std::string* value) override {
    NoPerfCounts();
    return FromRocks(
        db_->Get(rocksdb::ReadOptions(), Cf(key), rocksdb::Slice(key.data(), key.size()), value));
  }
  Status Write(const KvBatch& batch, bool sync) override {
    NoPerfCounts();
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.put)
        wb.Put(Cf(op.key), op.key, op.value);
      else
        wb.Delete(Cf(op.key), op.key);
    }
    // What the log record will take; refused here, before RocksDB, if the disk cannot.
    if (hooks_.room) SLUICE_RETURN_IF_ERROR(hooks_.room(wb.GetDataSize() + 64));
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    if (broken_.load()) SLUICE_RETURN_IF_ERROR(Recover());
    rocksdb::Status s;
    {
      std::shared_lock l(writing_);
      s = db_->Write(wo, &wb);
    }
    if (s.ok() || !(s.IsIOError() || s.IsNoSpace())) return FromRocks(s);
    // The log could not be written (a full or failing disk). RocksDB stops writes until it
    // is resumed, and must not write to that log again (RocksDB 7.8 asserts on a log writer
    // that failed: facebook/rocksdb#12448): recover onto a new log, then try once more.
    spdlog::error("the metadata index could not write: {}", s.ToString());
    broken_ = true;
    SLUICE_RETURN_IF_ERROR(Recover());
    std::shared_lock l(writing_);
    return FromRocks(db_->Write(wo, &wb));
  }
  std::unique_ptr<KvIterator> NewIterator() override {
    return std::make_unique<RocksIterator>(db_.get(), handles_[0], handles_[1]);
  }

 private:
  rocksdb::ColumnFamilyHandle* Cf(std::string_view key) const {
    return handles_[IsVersionKey(key) ? 1 : 0];
  }
  // With no write in flight: on a full disk, the space reserve is given up first; then
  // RocksDB resumes (clearing its background error) and flushes every memtable, which
  // moves writes to a new log file. Fails, leaving writes refused, while that cannot be
  // done; the next write tries again, so the index recovers by itself once space is freed.
  Status Recover() {
    std::unique_lock l(writing_);
    if (!broken_.load()) return Status::Ok();  // another writer recovered it
    if (hooks_.on_no_space) hooks_.on_no_space();
    rocksdb::Status s = db_->Resume();
    if (s.ok()) {
      rocksdb::FlushOptions fo;
      fo.allow_write_stall = true;
      s = db_->Flush(fo, handles_);
    }
    if (!s.ok()) return FromRocks(s);
    spdlog::info("the metadata index writes again");
    broken_ = false;
    return Status::Ok();
  }

  std::unique_ptr<rocksdb::Env> env_;  // outlives the database (declared first)
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, versions
  KvSpaceHooks hooks_;
  std::shared_mutex writing_;  // shared by writes; a recovery holds it alone
  std::atomic<bool> broken_{false};
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRocksKv(const std::string& dir, KvSpaceHooks hooks) {
  rocksdb::Options options;
  std::unique_ptr<rocksdb::Env> env;
  if (hooks.room) {
    env = rocksdb::NewCompositeEnv(
        std::make_shared<RoomFs>(rocksdb::FileSystem::Default(), hooks.room));
    options.env = env.get();
  }
  // After a failed write RocksDB stays stopped until RocksKv::Recover resumes it, with no
  // write in flight: its own background resume could reuse the failed log.
  options.max_bgerror_resume_count = 0;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction();
  // Memtables and logs sized for a server that shares its disk and memory, found by the
  // soak (docs/soak.md). OptimizeLevelStyleCompaction's defaults (six 128 MiB memtables per
  // family, two merged per flush) kept three or more logs of 141 MiB each (each log is
  // preallocated to 1.1 write buffers): 700 MiB of disk for 150 MiB of data. With two
  // families the logs are only bounded by max_total_wal_size, whose default (4x every
  // memtable: 6 GiB) let a rarely written family (versions) pin every log until then.
  options.write_buffer_size = 64 << 20;
  options.max_write_buffer_number = 3;
  options.min_write_buffer_number_to_merge = 1;
  options.max_total_wal_size = 256 << 20;
  // Preallocation (each log 1.1 write buffers ahead: 70 MiB) only where the disk can spare
  // it: on a 128 MiB disk an empty store took 74 MiB, and writes into the preallocated log
  // went unseen by the free-space guard (docs/disk-full.md).
  options.allow_fallocate = hooks.preallocate;
  // The leader of a write group inserts the whole group into the memtable itself. With
  // concurrent inserts (RocksDB's default) each follower is woken to insert its own few
  // hundred bytes, then waits again for the others: two more context switches a durable
  // PUT, which on these two cores cost more than the inserts (16 connections of 4 KiB PUTs:
  // 7.4-7.8 switches a PUT -> 5.7, CPU a PUT -6%; bench/ROUND2.md "Where a PUT's CPU goes").
  options.allow_concurrent_memtable_write = false;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(256 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::ColumnFamilyOptions cf_options(options);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}, {"versions", cf_options}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(options), dir, families, &handles, &db);
  if (!s.ok()) return Status(Err::kIoError, "open metadata index " + dir + ": " + s.ToString());
  return std::unique_ptr<KvStore>(
      new RocksKv(std::move(env), db, std::move(handles), std::move(hooks)));
}

}  // namespace sluice::meta
