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
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* main, rocksdb::ColumnFamilyHandle* versions)
      : db_(db), cf_{main, versions} {}
  void Seek(std::string_view key) override {
    int which = IsVersionKey(key) ? 1 : 0;
    if (!its_[which]) its_[which].reset(db_->NewIterator(rocksdb::ReadOptions(), cf_[which]));
    cur_ = its_[which].get();
    cur_->Seek(rocksdb::Slice(key.data(), key.size()));
  }
  bool Valid() const override { return cur_ && cur_->Valid(); }
  void Next() override { cur_->Next(); }
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
  RocksKv(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(db), handles_(std::move(handles)) {}
  ~RocksKv() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  Status Get(std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), Cf(key), rocksdb::Slice(key.data(), key.size()), value));
  }
  Status Write(const KvBatch& batch, bool sync) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.put)
        wb.Put(Cf(op.key), op.key, op.value);
      else
        wb.Delete(Cf(op.key), op.key);
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocks(db_->Write(wo, &wb));
  }
  std::unique_ptr<KvIterator> NewIterator() override {
    return std::make_unique<RocksIterator>(db_.get(), handles_[0], handles_[1]);
  }

 private:
  rocksdb::ColumnFamilyHandle* Cf(std::string_view key) const {
    return handles_[IsVersionKey(key) ? 1 : 0];
  }
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, versions
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRocksKv(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction();
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
  return std::unique_ptr<KvStore>(new RocksKv(db, std::move(handles)));
}

}  // namespace sluice::meta
