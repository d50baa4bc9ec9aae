#include "storage/mem/mem_data_store.h"

#include <cstdio>
#include <cstring>

namespace sluice::storage {

class MemWriter final : public DataWriter {
 public:
  // `extending`: buf_ starts as the committed bytes up to the offset (Extend), and a
  // discard leaves the data as it was.
  MemWriter(MemDataStore* s, std::string id, std::string buf = {}, bool extending = false)
      : s_(s), id_(std::move(id)), buf_(std::move(buf)), extending_(extending) {}
  ~MemWriter() override {
    if (!committed_ && !extending_) s_->Delete(id_).IgnoreError();
  }
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return buf_.size(); }
  Status Append(const void* data, size_t n) override {
    buf_.append(static_cast<const char*>(data), n);
    return Status::Ok();
  }
  Status Commit() override {
    std::lock_guard l(s_->mu_);
    s_->blobs_[id_].data = std::make_shared<const std::string>(std::move(buf_));
    committed_ = true;
    return Status::Ok();
  }

 private:
  MemDataStore* s_;
  std::string id_;
  std::string buf_;
  bool extending_ = false;
  bool committed_ = false;
};

namespace {
class MemReader final : public DataReader {
 public:
  explicit MemReader(std::shared_ptr<const std::string> d) : d_(std::move(d)) {}
  uint64_t Size() const override { return d_->size(); }
  Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = offset >= d_->size() ? 0 : std::min<size_t>(n, d_->size() - offset);
    if (*got) std::memcpy(buf, d_->data() + offset, *got);
    return Status::Ok();
  }

 private:
  std::shared_ptr<const std::string> d_;
};
}  // namespace

Result<std::unique_ptr<DataWriter>> MemDataStore::Create(uint64_t /*size_hint*/,
                                                         std::string_view owner) {
  std::lock_guard l(mu_);
  char id[33];
  snprintf(id, sizeof(id), "%032llx", static_cast<unsigned long long>(next_id_++));
  blobs_[id].owner = owner;  // present from creation, as a tmp file is
  return std::unique_ptr<DataWriter>(new MemWriter(this, id));
}

Result<std::unique_ptr<DataReader>> MemDataStore::Open(const std::string& id) {
  std::lock_guard l(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end() || !it->second.data) return Status(Err::kNotFound, "data " + id);
  return std::unique_ptr<DataReader>(new MemReader(it->second.data));
}

// A copy of the bytes kept so far: readers hold the old buffer, which never changes.
Result<std::unique_ptr<DataWriter>> MemDataStore::Extend(const std::string& id, uint64_t offset) {
  std::lock_guard l(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end() || !it->second.data) return Status(Err::kNotFound, "data " + id);
  if (it->second.data->size() < offset)
    return Status(Err::kCorruption, "data " + id + " is shorter than " + std::to_string(offset));
  return std::unique_ptr<DataWriter>(
      new MemWriter(this, id, it->second.data->substr(0, offset), true));
}

void MemDataStore::Published(const std::string& id) {
  std::lock_guard l(mu_);
  auto it = blobs_.find(id);
  if (it != blobs_.end()) it->second.published = true;
}

Status MemDataStore::Delete(const std::string& id) {
  std::lock_guard l(mu_);
  blobs_.erase(id);
  return Status::Ok();
}

Result<std::vector<DataStore::Unpublished>> MemDataStore::ListUnpublished() {
  std::lock_guard l(mu_);
  std::vector<Unpublished> out;
  for (auto& [id, b] : blobs_)
    if (!b.published) out.push_back({id, b.owner});
  return out;
}

}  // namespace sluice::storage
