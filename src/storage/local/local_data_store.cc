#include "storage/local/local_data_store.h"

#include <spdlog/spdlog.h>

#include <functional>

namespace sluice::storage {
namespace {

constexpr uint64_t kWillReadMin = 4 << 20;

// Ids are 32 lowercase hex digits; anything else is refused so an id can never name a
// path outside the store.
bool ValidId(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

class LocalWriter final : public DataWriter {
 public:
  // `dir` empty: the file exists and is being extended from `size` on (Extend); its name
  // is already durable, and a discard leaves it to the next extension to cut.
  // `forget`: makes the store let go of the file if it keeps it open for readers; run when
  // an extension commits (the kept view may be the old one) and when a write is discarded
  // (its space must be freed now, not when the file falls out of the store's open files).
  LocalWriter(io::FileSystem* fs, std::string id, std::string path, std::string dir,
              std::unique_ptr<io::WritableFile> f, uint64_t size, std::function<void()> forget,
              SpaceGuard* guard)
      : fs_(fs),
        guard_(guard),
        id_(std::move(id)),
        path_(std::move(path)),
        dir_(std::move(dir)),
        file_(std::move(f)),
        size_(size),
        forget_(std::move(forget)) {}
  ~LocalWriter() override {
    if (!committed_) forget_();
    if (!committed_ && dir_.empty()) {
      if (file_) file_->Close().IgnoreError();
    } else if (!committed_) {
      if (file_) file_->Close().IgnoreError();
      fs_->Remove(path_).IgnoreError();
    }
  }
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return size_; }
  Status Append(const void* data, size_t n) override {
    if (guard_) SLUICE_RETURN_IF_ERROR(guard_->Admit(n));
    SLUICE_RETURN_IF_ERROR(file_->Append(data, n));
    size_ += n;
    return Status::Ok();
  }
  // A direct-I/O file waits for the device on every append: pieces of 1 MiB, whole
  // pages, so each goes to the device with no copy and the pool hop costs little next to
  // the write. A buffered file's appends only fill the page cache.
  Shape shape() const override {
    if (!file_ || !file_->AppendBlocks()) return {};
    return {true, 1 << 20, 4096};
  }
  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(file_->Sync());
    SLUICE_RETURN_IF_ERROR(file_->Close());
    file_.reset();
    if (!dir_.empty()) SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    committed_ = true;
    if (dir_.empty()) forget_();
    return Status::Ok();
  }

 private:
  io::FileSystem* fs_;
  SpaceGuard* guard_;
  std::string id_, path_, dir_;
  std::unique_ptr<io::WritableFile> file_;
  uint64_t size_ = 0;
  std::function<void()> forget_;
  bool committed_ = false;
};

class LocalReader final : public DataReader {
 public:
  // `kept`: the file came from the store's open files, opened earlier: it may have grown
  // since (an append), so its size is asked again.
  LocalReader(std::shared_ptr<io::ReadableFile> f, bool kept) : f_(std::move(f)), kept_(kept) {}
  uint64_t Size() const override { return kept_ ? f_->SizeNow() : f_->Size(); }
  Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    return f_->PositionalRead(offset, buf, n, got);
  }
  // Large reads start the device on their range before the first sendfile. Objects of
  // 1 MiB or more are written with direct I/O, so a fresh one is not in the page cache.
  // The kernel caps one hint at the device's readahead window (8 MiB here: a page 12 MiB
  // into a cold file was still uncached a second after a whole-file hint); sendfile's
  // own readahead takes over from there. Hints that reach further, issued window by
  // window from the blocking pool, read cold shards no faster (bench/NOTES.md, PyTorch).
  Task<Status> Send(ByteSink& sink, uint64_t offset, uint64_t n, size_t buffer) const override {
    if (n >= kWillReadMin) f_->WillRead(offset, n);
    int fd = f_->NativeHandle();
    if (fd < 0 || n < sink.CopyBelow())
      co_return co_await DataReader::Send(sink, offset, n, buffer);
    co_return co_await sink.SendFile(fd, offset, n);
  }

 private:
  std::shared_ptr<io::ReadableFile> f_;
  bool kept_;
};

}  // namespace

LocalDataStore::LocalDataStore(io::FileSystem* fs, io::Random* rnd, std::string root,
                               SpaceGuard* guard)
    : fs_(fs), rnd_(rnd), root_(std::move(root)), guard_(guard) {}

std::string LocalDataStore::ObjectPath(const std::string& id) const {
  return root_ + "/objects/" + id.substr(0, 2) + "/" + id;
}

Status LocalDataStore::Init() {
  SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(root_ + "/tmp"));
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 256; i++) {
    std::string d = root_ + "/objects/" + kHex[i >> 4] + kHex[i & 15];
    if (!fs_->Exists(d)) SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(d));
  }
  SLUICE_RETURN_IF_ERROR(fs_->SyncDir(root_ + "/objects"));
  return fs_->SyncDir(root_);
}

Result<std::unique_ptr<DataWriter>> LocalDataStore::Create(uint64_t size_hint,
                                                           std::string_view /*owner*/) {
  if (guard_) SLUICE_RETURN_IF_ERROR(guard_->Check(size_hint));  // refused before a byte is written
  std::string id = rnd_->HexString(16);
  std::string path = TmpPath(id);
  // Large objects bypass the page cache; small ones (and unknown sizes) are written
  // buffered, where one fdatasync flushes them without a device wait per append.
  SLUICE_ASSIGN_OR_RETURN(auto f, size_hint >= kDirectMin ? fs_->NewDirectWritableFile(path)
                                                          : fs_->NewWritableFile(path));
  return std::unique_ptr<DataWriter>(new LocalWriter(
      fs_, id, path, root_ + "/tmp", std::move(f), 0, [this, id] { files_.Drop(id); }, guard_));
}

std::shared_ptr<io::ReadableFile> LocalDataStore::OpenFiles::Get(const std::string& id) {
  std::lock_guard l(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void LocalDataStore::OpenFiles::Put(const std::string& id, std::shared_ptr<io::ReadableFile> f) {
  std::shared_ptr<io::ReadableFile> out;  // closed outside the lock
  std::lock_guard l(mu_);
  if (index_.count(id)) return;
  lru_.emplace_front(id, std::move(f));
  index_[id] = lru_.begin();
  if (lru_.size() > kCapacity) {
    out = std::move(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void LocalDataStore::OpenFiles::Drop(const std::string& id) {
  std::shared_ptr<io::ReadableFile> out;
  std::lock_guard l(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return;
  out = std::move(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

Result<std::unique_ptr<DataReader>> LocalDataStore::Open(const std::string& id) {
  if (!ValidId(id)) return Status(Err::kCorruption, "bad data id '" + id + "'");
  if (auto kept = files_.Get(id)) return std::unique_ptr<DataReader>(new LocalReader(kept, true));
  auto f = fs_->OpenReadable(ObjectPath(id));
  if (!f.ok() && f.status().code() == Err::kNotFound) f = fs_->OpenReadable(TmpPath(id));
  if (!f.ok()) return std::move(f).status();
  std::shared_ptr<io::ReadableFile> file = std::move(f).value();
  files_.Put(id, file);
  return std::unique_ptr<DataReader>(new LocalReader(std::move(file), false));
}

Result<std::unique_ptr<DataWriter>> LocalDataStore::Extend(const std::string& id, uint64_t offset) {
  if (!ValidId(id)) return Status(Err::kCorruption, "bad data id '" + id + "'");
  if (guard_) SLUICE_RETURN_IF_ERROR(guard_->Check(0));
  // Published or not yet (the link into objects/ runs after the index commit): one inode,
  // found under objects/, else tmp/, else objects/ again (the move ran in between).
  std::string path;
  Result<std::unique_ptr<io::WritableFile>> f = Status(Err::kNotFound, id);
  for (int i = 0; i < 3 && !f.ok() && f.status().code() == Err::kNotFound; ++i) {
    path = i == 1 ? TmpPath(id) : ObjectPath(id);
    f = fs_->OpenAt(path, offset);
  }
  if (!f.ok()) return std::move(f).status();
  files_.Drop(id);
  return std::unique_ptr<DataWriter>(new LocalWriter(
      fs_, id, std::move(path), "", std::move(f).value(), offset, [this, id] { files_.Drop(id); },
      guard_));
}

Status LocalDataStore::CheckWritable() {
  const std::string path = root_ + "/ready-probe";
  fs_->Remove(path).IgnoreError();  // left by a probe cut short
  SLUICE_ASSIGN_OR_RETURN(auto f, fs_->NewWritableFile(path));
  Status s = f->Append("ready\n", 6);
  if (s.ok()) s = f->Sync();
  Status closed = f->Close();
  if (s.ok()) s = closed;
  Status removed = fs_->Remove(path);
  if (s.ok()) s = removed;
  if (!s.ok() || !guard_) return s;
  guard_->RestoreBallast();
  return guard_->Health();
}

Status LocalDataStore::AdmitInline(uint64_t bytes) {
  // Twice: the index's log now, a table file when its memtable is flushed.
  return guard_ ? guard_->Admit(2 * bytes) : Status::Ok();
}

void LocalDataStore::Published(const std::string& id) {
  std::string dst = ObjectPath(id);
  Status s = fs_->Link(TmpPath(id), dst);
  if (s.code() == Err::kAlreadyExists) s = Status::Ok();  // an earlier attempt got this far
  if (s.ok()) s = fs_->SyncDir(dst.substr(0, dst.rfind('/')));
  if (s.ok()) s = fs_->Remove(TmpPath(id));
  if (!s.ok()) spdlog::warn("publishing data {}: {} (recovery will retry)", id, s.ToString());
}

Status LocalDataStore::Delete(const std::string& id) {
  if (!ValidId(id)) return Status(Err::kCorruption, "bad data id '" + id + "'");
  files_.Drop(id);  // its space is freed once the last reader lets go
  Status a = fs_->Remove(ObjectPath(id));
  Status b = fs_->Remove(TmpPath(id));
  if (!a.ok() && a.code() != Err::kNotFound) return a;
  if (!b.ok() && b.code() != Err::kNotFound) return b;
  if (guard_)
    guard_->RestoreBallast();  // space was freed: take back the reserve if it was given up
  return Status::Ok();
}

Result<std::vector<DataStore::Unpublished>> LocalDataStore::ListUnpublished() {
  SLUICE_ASSIGN_OR_RETURN(auto names, fs_->ListDir(root_ + "/tmp"));
  std::vector<Unpublished> out;
  for (auto& n : names) {
    if (ValidId(n)) {
      out.push_back({std::move(n), ""});
    } else {
      // Not ours to interpret; never delete what we did not name.
      spdlog::warn("ignoring unexpected file {}/tmp/{}", root_, n);
    }
  }
  return out;
}

}  // namespace sluice::storage
