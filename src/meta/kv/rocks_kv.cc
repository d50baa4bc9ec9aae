// RocksDB-backed KvStore. RocksDB does its own file I/O through rocksdb::Env; the crash
// tests that need to drop unsynced data use MemKv instead (see docs/storage-format.md).
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

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

class RocksIterator final : public KvIterator {
 public:
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  void Seek(std::string_view key) override { it_->Seek(rocksdb::Slice(key.data(), key.size())); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksKv final : public KvStore {
 public:
  explicit RocksKv(rocksdb::DB* db) : db_(db) {}
  Status Get(std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), value));
  }
  Status Write(const KvBatch& batch, bool sync) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.put)
        wb.Put(op.key, op.value);
      else
        wb.Delete(op.key);
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocks(db_->Write(wo, &wb));
  }
  std::unique_ptr<KvIterator> NewIterator() override {
    rocksdb::ReadOptions ro;
    return std::make_unique<RocksIterator>(db_->NewIterator(ro));
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRocksKv(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction();
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(256 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return Status(Err::kIoError, "open metadata index " + dir + ": " + s.ToString());
  return std::unique_ptr<KvStore>(new RocksKv(db));
}

}  // namespace sluice::meta
