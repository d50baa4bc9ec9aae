// All operating-system access goes through these interfaces: files, the clock and
// randomness. Production uses the posix implementations (posix_env.cc); tests use the
// in-memory file system (mem_fs.h), which can fail chosen calls and drop unsynced data,
// and a manual clock. Nothing outside io/ touches files or reads the real clock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"

namespace sluice::io {

// A file opened for writing. Appends only; Sync makes the contents durable (fdatasync).
// Not thread-safe: one writer per file.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(const void* data, size_t n) = 0;
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // True when Append may wait for the device (direct I/O): call it off the I/O threads.
  virtual bool AppendBlocks() const { return false; }
};

// A file opened for reading. PositionalRead may be called from several threads at once.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  virtual uint64_t Size() const = 0;  // as it was when opened
  // The size now: a file kept open may have grown since (an append). May ask the kernel.
  virtual uint64_t SizeNow() const { return Size(); }
  // Reads up to n bytes at offset; *got < n only at end of file.
  virtual Status PositionalRead(uint64_t offset, void* buf, size_t n, size_t* got) const = 0;
  // A kernel file descriptor for zero-copy sends (sendfile), or -1 when the file has none
  // (in-memory file systems). Owned by this object.
  virtual int NativeHandle() const { return -1; }
  // A hint that [offset, offset + n) will be read soon: the kernel starts reading it from
  // the device in large requests now, up to its readahead window (read_ahead_kb) per call.
  // Bytes already cached cost a page lookup each.
  virtual void WillRead(uint64_t offset, uint64_t n) const {}
};

// A file system's size and free space, in bytes.
struct SpaceInfo {
  uint64_t total = 0;
  uint64_t used = 0;
  uint64_t free = 0;  // what an unprivileged writer can still use (root's reserve excluded)
};

// Held for as long as the object lives.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates a new file; fails with kAlreadyExists if it exists.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                int mode = 0644) = 0;
  // As NewWritableFile, for large sequential writes that bypass the page cache (O_DIRECT
  // through an aligned buffer) where the file system allows it; a plain writable file
  // elsewhere. Its Append may block on the device (AppendBlocks()).
  virtual Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) {
    return NewWritableFile(path);
  }
  virtual Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) = 0;
  // Opens an existing file to write more from `offset` on (an append to an object): the
  // file is cut to `offset` first, dropping whatever lay past it; the bytes before are
  // never touched. kCorruption when the file is shorter than `offset`.
  virtual Result<std::unique_ptr<WritableFile>> OpenAt(const std::string& path,
                                                       uint64_t offset) = 0;
  // Opens `path` to add to its end, created with `mode` if missing: every write lands at
  // the end whatever else writes or truncates the file (O_APPEND). For logs.
  virtual Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path,
                                                              int mode = 0644) = 0;
  // Atomically replaces dst. Durable once the parent directories are synced.
  virtual Status Rename(const std::string& src, const std::string& dst) = 0;
  // A second name for an existing file (hard link); kAlreadyExists if dst exists.
  virtual Status Link(const std::string& src, const std::string& dst) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names (not paths) of the entries in a directory.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // An exclusive advisory lock on a file (created if missing), so two servers never share
  // one data directory. kAlreadyExists when another process holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // The size and free space of the file system holding `path`; kNotImplemented where
  // there is no such thing (in-memory file systems).
  virtual Result<SpaceInfo> Space(const std::string& path) {
    return Status(Err::kNotImplemented, "no space figures for " + path);
  }
  // Reads or atomically writes (temp + sync + rename + dir sync) a small whole file.
  Result<std::string> ReadWholeFile(const std::string& path);
  // `mode` applies when the file is created (0600 for secrets).
  Status WriteWholeFileDurably(const std::string& path, std::string_view data, int mode = 0644);
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, microseconds since the Unix epoch.
  virtual int64_t NowMicros() const = 0;
  // Monotonic time for durations, nanoseconds from an arbitrary origin.
  virtual int64_t MonotonicNanos() const = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  // Thread-safe. Cryptographically strong in production (ids, generated secrets).
  virtual void Fill(void* buf, size_t n) = 0;
  std::string HexString(size_t bytes);
};

// Process-wide production implementations; they live forever.
FileSystem* PosixFileSystem();
// How long PosixFileSystem()'s syncs took, process-wide: histogram 0 is fdatasync of files,
// 1 is fsync of directories; nanoseconds.
const metrics::HistogramBlock& PosixSyncLatency();
Clock* SystemClock();
Random* SystemRandom();
// The process's standard error as a file to append to (a duplicate of descriptor 2, so
// closing it leaves stderr open). For logs written off the request path.
Result<std::unique_ptr<WritableFile>> StandardError();

// A clock that moves only when told to; for tests.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_micros) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_; }
  int64_t MonotonicNanos() const override { return now_ * 1000; }
  void Advance(int64_t micros) { now_ += micros; }
  void Set(int64_t micros) { now_ = micros; }

 private:
  int64_t now_;
};

}  // namespace sluice::io
