#include "meta/rados/rados_txn.h"

#include <algorithm>
#include <cerrno>
#include <utility>
#include <set>

#include "io/rados/rados_cluster.h"

namespace sluice::meta {
namespace {

constexpr char kTag = 'v';

// The first range read of an iterator fetches a few entries (most seeks want one or two:
// the next version of a key, the first part of an upload); an iterator read past them is
// walking (a listing), and each later read fetches a listing page's worth.
constexpr uint64_t kFirstBatch = 16;
constexpr uint64_t kMaxBatch = 1024;

}  // namespace

std::string RadosTxn::Stored(std::string_view value) {
  std::string s;
  s.reserve(value.size() + 1);
  s.push_back(kTag);
  s.append(value);
  return s;
}

std::optional<std::string_view> RadosTxn::Unstored(std::string_view stored) {
  if (stored.empty() || stored[0] != kTag) return std::nullopt;
  return stored.substr(1);
}

RadosTxn::RadosTxn(const librados::IoCtx& io, std::string oid) : oid_(std::move(oid)) {
  io_.dup(io);
}

Status RadosTxn::Fetch(const std::vector<std::string>& keys) {
  std::set<std::string> want;
  for (const auto& k : keys)
    if (cache_.find(k) == cache_.end()) want.insert(k);
  if (want.empty()) return Status::Ok();
  librados::ObjectReadOperation op;
  std::map<std::string, librados::bufferlist> out;
  int rv = 0;
  op.omap_get_vals_by_keys(want, &out, &rv);
  int r = io_.operate(oid_, &op, nullptr);
  SawObject(r);
  if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading index object " + oid_);
  for (const auto& k : want) {
    auto it = out.find(k);
    if (it == out.end()) {
      cache_.emplace(k, std::nullopt);
    } else {
      std::string v = it->second.to_str();
      if (!Unstored(v)) return Status(Err::kCorruption, "index object " + oid_ + ": an untagged value");
      cache_.emplace(k, std::move(v));
    }
  }
  return Status::Ok();
}

void RadosTxn::Prefetch(const std::vector<std::string>& keys) {
  (void)Fetch(keys);  // a failed prefetch leaves the keys for Get, which reports it
}

Status RadosTxn::Get(std::string_view key, std::string* value) {
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    SLUICE_RETURN_IF_ERROR(Fetch({std::string(key)}));
    it = cache_.find(key);
  }
  guards_.emplace(std::string(key), it->second.value_or(std::string()));
  if (!it->second) return Status(Err::kNotFound, "");
  value->assign(*Unstored(*it->second));
  return Status::Ok();
}

void RadosTxn::SawRange(uint64_t version) {
  if (!range_version_) {
    range_version_ = version;
  } else if (*range_version_ != version) {
    range_torn_ = true;
  }
}

Status RadosTxn::Write(const KvBatch& batch, bool /*sync: RADOS acknowledges durable writes*/) {
  if (written_) return Status(Err::kInternal, "one write per index transaction");
  written_ = true;
  if (batch.empty()) return Status::Ok();
  if (range_torn_) {
    conflicted_ = true;
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  }
  // The batch's last word on each key.
  std::map<std::string, std::optional<std::string>> final_state;
  for (const auto& op : batch.ops())
    final_state[op.key] = op.put ? std::optional<std::string>(op.value) : std::nullopt;
  std::map<std::string, librados::bufferlist> sets;
  std::set<std::string> removes;
  for (auto& [k, v] : final_state) {
    if (v) {
      sets[k].append(Stored(*v));
    } else {
      removes.insert(k);
    }
  }
  librados::ObjectWriteOperation op;
  if (saw_present_) {
    op.assert_exists();
  } else {
    op.create(false);
  }
  if (range_version_) op.assert_version(*range_version_);
  std::map<std::string, std::pair<librados::bufferlist, int>> cmp;
  int cmp_rv = 0;
  if (!guards_.empty()) {
    for (const auto& [k, v] : guards_) {
      librados::bufferlist bl;
      bl.append(v);
      cmp.emplace(k, std::make_pair(std::move(bl), LIBRADOS_CMPXATTR_OP_EQ));
    }
    op.omap_cmp(cmp, &cmp_rv);
  }
  if (!removes.empty()) op.omap_rm_keys(removes);
  if (!sets.empty()) op.omap_set(sets);
  int r = io_.operate(oid_, &op);
  if (r == -ECANCELED || r == -ERANGE || r == -EOVERFLOW || (r == -ENOENT && saw_present_)) {
    conflicted_ = true;
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  }
  return io::RadosStatus(r, "writing index object " + oid_);
}

// Entries at or after a key, fetched in growing batches.
class RadosTxnIterator final : public KvIterator {
 public:
  RadosTxnIterator(RadosTxn* txn, bool guarded, size_t first_batch)
      : txn_(txn), guarded_(guarded),
        first_batch_(std::clamp<uint64_t>(first_batch, kFirstBatch, kMaxBatch)) {}

  void Seek(std::string_view key) override {
    entries_.clear();
    pos_ = 0;
    batch_ = first_batch_;
    first_batch_ = kFirstBatch;  // a later Seek (past a common prefix) starts small again
    // omap reads start after a key: read the key itself alongside, in the same operation.
    librados::ObjectReadOperation op;
    std::map<std::string, librados::bufferlist> exact, after;
    int rv1 = 0, rv2 = 0;
    op.omap_get_vals_by_keys({std::string(key)}, &exact, &rv1);
    op.omap_get_vals2(std::string(key), "", batch_, &after, &more_, &rv2);
    if (!Run(&op)) return;
    for (auto& [k, v] : exact) Add(k, v);
    for (auto& [k, v] : after) Add(k, v);
  }
  bool Valid() const override { return status_.ok() && pos_ < entries_.size(); }
  void Next() override {
    if (++pos_ < entries_.size() || !more_ || !status_.ok()) return;
    std::string last = entries_.back().first;
    entries_.clear();
    pos_ = 0;
    batch_ = kMaxBatch;
    librados::ObjectReadOperation op;
    std::map<std::string, librados::bufferlist> after;
    int rv = 0;
    op.omap_get_vals2(last, "", batch_, &after, &more_, &rv);
    if (!Run(&op)) return;
    for (auto& [k, v] : after) Add(k, v);
  }
  std::string_view key() const override { return entries_[pos_].first; }
  std::string_view value() const override { return *RadosTxn::Unstored(entries_[pos_].second); }
  Status status() const override { return status_; }

 private:
  bool Run(librados::ObjectReadOperation* op) {
    more_ = false;
    int r = txn_->io_.operate(txn_->oid_, op, nullptr);
    txn_->SawObject(r);
    if (r == -ENOENT) return false;  // no object: no entries
    if (r < 0) {
      status_ = io::RadosStatus(r, "reading index object " + txn_->oid_);
      return false;
    }
    if (guarded_) txn_->SawRange(txn_->io_.get_last_version());
    return true;
  }
  void Add(const std::string& k, librados::bufferlist& v) {
    std::string s = v.to_str();
    if (!RadosTxn::Unstored(s)) {
      status_ = Status(Err::kCorruption, "index object " + txn_->oid_ + ": an untagged value");
      return;
    }
    entries_.emplace_back(k, std::move(s));
  }

  RadosTxn* txn_;
  bool guarded_;
  uint64_t first_batch_;
  std::vector<std::pair<std::string, std::string>> entries_;
  size_t pos_ = 0;
  uint64_t batch_ = kFirstBatch;
  bool more_ = false;
  Status status_;
};

std::unique_ptr<KvIterator> RadosTxn::NewIterator() {
  const size_t first = std::exchange(next_scan_, 0);
  return std::make_unique<RadosTxnIterator>(this, true, first);
}

std::unique_ptr<KvIterator> RadosTxn::NewUnguardedIterator() {
  const size_t first = std::exchange(next_scan_, 0);
  return std::make_unique<RadosTxnIterator>(this, false, first);
}

}  // namespace sluice::meta
