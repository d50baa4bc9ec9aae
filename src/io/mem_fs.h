// An in-memory FileSystem for tests, modelled on LevelDB's fault-injection env.
//
// It keeps, per file, the bytes written and the bytes made durable by Sync; and per
// directory, the live entries and the entries made durable by SyncDir. DropUnsynced()
// turns the live state back into the durable one, as a power cut would: unsynced bytes
// vanish, and so do creations, renames and removals whose directory was not synced.
// Directories themselves are durable once created. SetFault() makes chosen calls fail.
// Thread-safe: one mutex guards everything.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "io/env.h"

namespace sluice::io {

class MemFileSystem final : public FileSystem {
 public:
  // Called before every operation with its name ("create", "append", "sync", "rename",
  // "link", "remove", "syncdir", "open", "openat", "mkdir", "list") and path; a non-OK result fails
  // the call.
  using FaultFn = std::function<Status(std::string_view op, const std::string& path)>;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        int mode = 0644) override;
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path,
                                                      int mode = 0644) override;
  Result<std::unique_ptr<WritableFile>> OpenAt(const std::string& path, uint64_t offset) override;
  Status Rename(const std::string& src, const std::string& dst) override;
  Status Link(const std::string& src, const std::string& dst) override;
  Status Remove(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return std::unique_ptr<FileLock>(new FileLock());
  }

  void SetFault(FaultFn fn);
  void DropUnsynced();
  // A size for the file system (0, the default: unbounded, and Space() is not offered):
  // appends past it fail with kNoSpace, and Space() reports it and the bytes held.
  void SetCapacity(uint64_t bytes);
  // With `on`, an append the fault function fails writes the first half of its bytes
  // before it fails (a short write, as a disk that fills or breaks mid-write leaves).
  void SetShortAppends(bool on);
  Result<SpaceInfo> Space(const std::string& path) override;

  struct Inode {
    std::string data;
    std::string synced;
  };

 private:
  struct Dir {
    std::map<std::string, std::shared_ptr<Inode>> live;
    std::map<std::string, std::shared_ptr<Inode>> durable;
  };
  friend class MemWritableFile;
  Status Check(std::string_view op, const std::string& path);
  // Splits "a/b/c" into the directory "a/b" and the name "c"; nullptr if no such dir.
  Dir* FindDir(const std::string& path, std::string* name);
  uint64_t UsedLocked() const;  // bytes of the live files, each inode once

  std::mutex mu_;
  std::map<std::string, Dir> dirs_;
  FaultFn fault_;
  uint64_t capacity_ = 0;
  bool short_appends_ = false;
};

}  // namespace sluice::io
