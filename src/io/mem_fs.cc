#include "io/mem_fs.h"

#include <cstring>

namespace sluice::io {

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(MemFileSystem* fs, std::shared_ptr<MemFileSystem::Inode> inode, std::string path)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)) {}
  Status Append(const void* data, size_t n) override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (Status s = fs_->Check("append", path_); !s.ok()) {
      if (fs_->short_appends_) inode_->data.append(static_cast<const char*>(data), n / 2);
      return s;
    }
    if (fs_->capacity_ && fs_->UsedLocked() + n > fs_->capacity_)
      return Status(Err::kNoSpace, "append " + path_ + ": no space left (test file system)");
    inode_->data.append(static_cast<const char*>(data), n);
    return Status::Ok();
  }
  Status Sync() override {
    std::lock_guard<std::mutex> l(fs_->mu_);
    SLUICE_RETURN_IF_ERROR(fs_->Check("sync", path_));
    inode_->synced = inode_->data;
    return Status::Ok();
  }
  Status Close() override { return Status::Ok(); }

 private:
  MemFileSystem* fs_;
  std::shared_ptr<MemFileSystem::Inode> inode_;
  std::string path_;
};

namespace {

class MemReadableFile final : public ReadableFile {
 public:
  explicit MemReadableFile(std::string data) : data_(std::move(data)) {}
  uint64_t Size() const override { return data_.size(); }
  Status PositionalRead(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    if (offset >= data_.size()) {
      *got = 0;
      return Status::Ok();
    }
    size_t k = std::min<size_t>(n, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, k);
    *got = k;
    return Status::Ok();
  }

 private:
  std::string data_;  // A snapshot: later appends are not seen, as with a fixed-size read.
};

std::string Normalize(const std::string& p) {
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Status MemFileSystem::Check(std::string_view op, const std::string& path) {
  return fault_ ? fault_(op, path) : Status::Ok();
}

MemFileSystem::Dir* MemFileSystem::FindDir(const std::string& path, std::string* name) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  *name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto it = dirs_.find(dir);
  return it == dirs_.end() ? nullptr : &it->second;
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewWritableFile(const std::string& path,
                                                                     int /*mode*/) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("create", path));
  std::string name;
  Dir* d = FindDir(path, &name);
  if (!d) return IoError("create", path, ENOENT);
  if (d->live.count(name)) return IoError("create", path, EEXIST);
  auto inode = std::make_shared<Inode>();
  d->live[name] = inode;
  return std::unique_ptr<WritableFile>(new MemWritableFile(this, inode, path));
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::OpenForAppend(const std::string& path,
                                                                   int /*mode*/) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("open", path));
  std::string name;
  Dir* d = FindDir(path, &name);
  if (!d) return IoError("open", path, ENOENT);
  auto& inode = d->live[name];
  if (!inode) inode = std::make_shared<Inode>();
  return std::unique_ptr<WritableFile>(new MemWritableFile(this, inode, path));
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::OpenAt(const std::string& path,
                                                            uint64_t offset) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("openat", path));
  std::string name;
  Dir* d = FindDir(path, &name);
  if (!d || !d->live.count(name)) return IoError("open", path, ENOENT);
  auto inode = d->live[name];
  if (inode->data.size() < offset)
    return Status(Err::kCorruption, path + " is shorter than " + std::to_string(offset));
  inode->data.resize(offset);
  return std::unique_ptr<WritableFile>(new MemWritableFile(this, inode, path));
}

Result<std::unique_ptr<ReadableFile>> MemFileSystem::OpenReadable(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("open", path));
  std::string name;
  Dir* d = FindDir(path, &name);
  if (!d || !d->live.count(name)) return IoError("open", path, ENOENT);
  return std::unique_ptr<ReadableFile>(new MemReadableFile(d->live[name]->data));
}

Status MemFileSystem::Rename(const std::string& src, const std::string& dst) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("rename", src));
  std::string sn, dn;
  Dir* sd = FindDir(src, &sn);
  Dir* dd = FindDir(dst, &dn);
  if (!sd || !dd || !sd->live.count(sn)) return IoError("rename", src, ENOENT);
  auto inode = sd->live[sn];
  sd->live.erase(sn);
  dd->live[dn] = inode;
  return Status::Ok();
}

Status MemFileSystem::Link(const std::string& src, const std::string& dst) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("link", dst));
  std::string sn, dn;
  Dir* sd = FindDir(src, &sn);
  Dir* dd = FindDir(dst, &dn);
  if (!sd || !dd || !sd->live.count(sn)) return IoError("link", src, ENOENT);
  if (dd->live.count(dn)) return IoError("link", dst, EEXIST);
  dd->live[dn] = sd->live[sn];
  return Status::Ok();
}

Status MemFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("remove", path));
  std::string name;
  Dir* d = FindDir(path, &name);
  if (!d || !d->live.erase(name)) return IoError("unlink", path, ENOENT);
  return Status::Ok();
}

Status MemFileSystem::CreateDirs(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("mkdir", path));
  std::string p = Normalize(path);
  size_t pos = 0;
  while (true) {
    pos = p.find('/', pos + 1);
    std::string cur = p.substr(0, pos);
    if (!cur.empty()) dirs_[cur];
    if (pos == std::string::npos) break;
  }
  return Status::Ok();
}

Status MemFileSystem::SyncDir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("syncdir", path));
  auto it = dirs_.find(Normalize(path));
  if (it == dirs_.end()) return IoError("fsync dir", path, ENOENT);
  it->second.durable = it->second.live;
  return Status::Ok();
}

Result<std::vector<std::string>> MemFileSystem::ListDir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  SLUICE_RETURN_IF_ERROR(Check("list", path));
  auto it = dirs_.find(Normalize(path));
  if (it == dirs_.end()) return IoError("opendir", path, ENOENT);
  std::vector<std::string> out;
  for (auto& [n, _] : it->second.live) out.push_back(n);
  return out;
}

bool MemFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  std::string p = Normalize(path);
  if (dirs_.count(p)) return true;
  std::string name;
  Dir* d = FindDir(p, &name);
  return d && d->live.count(name);
}

void MemFileSystem::SetFault(FaultFn fn) {
  std::lock_guard<std::mutex> l(mu_);
  fault_ = std::move(fn);
}

void MemFileSystem::DropUnsynced() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [_, d] : dirs_) {
    d.live = d.durable;
    for (auto& [n, inode] : d.live) inode->data = inode->synced;
  }
}

void MemFileSystem::SetCapacity(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  capacity_ = bytes;
}

void MemFileSystem::SetShortAppends(bool on) {
  std::lock_guard<std::mutex> l(mu_);
  short_appends_ = on;
}

uint64_t MemFileSystem::UsedLocked() const {
  std::set<const Inode*> seen;
  uint64_t used = 0;
  for (const auto& [dir, d] : dirs_)
    for (const auto& [name, inode] : d.live)
      if (inode && seen.insert(inode.get()).second) used += inode->data.size();
  return used;
}

Result<SpaceInfo> MemFileSystem::Space(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (!capacity_) return Status(Err::kNotImplemented, "no space figures for " + path);
  const uint64_t used = UsedLocked();
  return SpaceInfo{capacity_, used, used < capacity_ ? capacity_ - used : 0};
}

}  // namespace sluice::io
