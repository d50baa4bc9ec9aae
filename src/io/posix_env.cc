#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"
#include "io/env.h"

namespace sluice::io {
namespace {

// Closes *fd once (later calls are no-ops); the close error is the write error NFS and
// some file systems report late.
Status CloseOnce(int* fd, const std::string& path) {
  int f = *fd;
  *fd = -1;
  if (f >= 0 && ::close(f) != 0) return IoError("close", path, errno);
  return Status::Ok();
}

metrics::HistogramBlock& SyncLatency() {
  static metrics::HistogramBlock h(2, metrics::SyncLatencyBounds());  // [file, directory]
  return h;
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status DataSync(int fd, const std::string& path) {
  const int64_t start = SteadyNanos();
  int rc = ::fdatasync(fd);
  int e = errno;
  SyncLatency().Observe(0, SteadyNanos() - start);
  if (rc != 0) return IoError("fdatasync", path, e);
  return Status::Ok();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return IoError("write", path_, errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }
  Status Sync() override { return DataSync(fd_, path_); }
  Status Close() override { return CloseOnce(&fd_, path_); }

 private:
  int fd_;
  std::string path_;
};

// Writes that bypass the page cache: bytes gather in an aligned buffer and go out with
// O_DIRECT pwrite()s of whole buffers; Sync writes the tail padded to the block size,
// truncates the padding away and fdatasyncs (the device cache and the size). On this
// class of VM a buffered write costs ~10x the CPU of a direct one: the page-cache copy
// into fresh pages dominated the PUT profile (BENCHMARKS.md, "Where the time goes").
class PosixDirectWritableFile final : public WritableFile {
 public:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kBuffer = 1 << 20;
  PosixDirectWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixDirectWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
    std::free(buf_);
  }
  bool AppendBlocks() const override { return true; }
  Status Append(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    // Whole blocks from an aligned caller buffer go straight out, with no copy.
    if (used_ == 0 && n >= kAlign && reinterpret_cast<uintptr_t>(p) % kAlign == 0) {
      size_t whole = n / kAlign * kAlign;
      SLUICE_RETURN_IF_ERROR(WriteAt(p, whole));
      written_ += whole;
      p += whole;
      n -= whole;
    }
    while (n > 0) {
      if (!buf_) {
        void* b = nullptr;
        if (::posix_memalign(&b, kAlign, kBuffer) != 0)
          return IoError("allocate a write buffer for", path_, ENOMEM);
        buf_ = static_cast<char*>(b);
      }
      size_t k = std::min(n, kBuffer - used_);
      std::memcpy(buf_ + used_, p, k);
      used_ += k;
      p += k;
      n -= k;
      if (used_ == kBuffer) SLUICE_RETURN_IF_ERROR(Flush(kBuffer));
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (used_ > 0) {
      uint64_t size = written_ + used_;
      size_t padded = (used_ + kAlign - 1) / kAlign * kAlign;
      std::memset(buf_ + used_, 0, padded - used_);
      SLUICE_RETURN_IF_ERROR(Flush(padded));
      if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
        return IoError("ftruncate", path_, errno);
      written_ = size;  // the tail is out; a later Append would need an aligned offset again
    }
    return DataSync(fd_, path_);
  }
  Status Close() override { return CloseOnce(&fd_, path_); }

 private:
  // n bytes (a multiple of kAlign, from an aligned buffer) at offset written_.
  Status WriteAt(const char* p, size_t n) {
    if (written_ % kAlign != 0)
      return Status(Err::kIoError, path_ + ": append after a sync of a partial block");
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(written_ + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return IoError("write", path_, errno);
      }
      done += static_cast<size_t>(w);
    }
    return Status::Ok();
  }
  Status Flush(size_t n) {
    SLUICE_RETURN_IF_ERROR(WriteAt(buf_, n));
    written_ += std::min<uint64_t>(n, used_);
    used_ = 0;
    return Status::Ok();
  }
  int fd_;
  std::string path_;
  char* buf_ = nullptr;
  size_t used_ = 0;
  uint64_t written_ = 0;  // bytes of content (not padding) already in the file
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }
  uint64_t Size() const override { return size_; }
  uint64_t SizeNow() const override {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : size_;
  }
  Status PositionalRead(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    size_t done = 0;
    char* p = static_cast<char*>(buf);
    while (done < n) {
      ssize_t r = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError("pread", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    *got = done;
    return Status::Ok();
  }
  int NativeHandle() const override { return fd_; }
  void WillRead(uint64_t offset, uint64_t n) const override {
    ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), POSIX_FADV_WILLNEED);
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

class PosixFs final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        int mode = 0644) override {
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) return IoError("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }
  Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0644);
    if (fd < 0 && errno == EINVAL) return NewWritableFile(path);  // no O_DIRECT here (tmpfs)
    if (fd < 0) return IoError("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixDirectWritableFile(fd, path));
  }
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path,
                                                      int mode = 0644) override {
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) return IoError("open", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }
  Result<std::unique_ptr<WritableFile>> OpenAt(const std::string& path, uint64_t offset) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open", path, errno);
    struct stat st {};
    Status failed = Status::Ok();
    if (::fstat(fd, &st) != 0) {
      failed = IoError("fstat", path, errno);
    } else if (static_cast<uint64_t>(st.st_size) < offset) {
      failed = Status(Err::kCorruption, path + " holds " + std::to_string(st.st_size) +
                                            " bytes, fewer than the " + std::to_string(offset) +
                                            " its record says");
    } else if (static_cast<uint64_t>(st.st_size) > offset &&
               ::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      failed = IoError("ftruncate", path, errno);
    } else if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      failed = IoError("lseek", path, errno);
    }
    if (!failed.ok()) {
      ::close(fd);
      return failed;
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return IoError("fstat", path, e);
    }
    return std::unique_ptr<ReadableFile>(
        new PosixReadableFile(fd, static_cast<uint64_t>(st.st_size), path));
  }
  Status Rename(const std::string& src, const std::string& dst) override {
    if (::rename(src.c_str(), dst.c_str()) != 0) return IoError("rename", src, errno);
    return Status::Ok();
  }
  Status Link(const std::string& src, const std::string& dst) override {
    if (::link(src.c_str(), dst.c_str()) != 0) return IoError("link", dst, errno);
    return Status::Ok();
  }
  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return IoError("unlink", path, errno);
    return Status::Ok();
  }
  Status CreateDirs(const std::string& path) override {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      cur = path.substr(0, pos);
      if (cur.empty()) continue;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return IoError("mkdir", cur, errno);
    }
    return Status::Ok();
  }
  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open dir", path, errno);
    const int64_t start = SteadyNanos();
    int rc = ::fsync(fd);
    int e = errno;
    SyncLatency().Observe(1, SteadyNanos() - start);
    ::close(fd);
    if (rc != 0) return IoError("fsync dir", path, e);
    return Status::Ok();
  }
  Result<SpaceInfo> Space(const std::string& path) override {
    struct statvfs v {};
    if (::statvfs(path.c_str(), &v) != 0) return IoError("statvfs", path, errno);
    SpaceInfo s;
    s.total = uint64_t(v.f_blocks) * v.f_frsize;
    s.used = uint64_t(v.f_blocks - v.f_bfree) * v.f_frsize;
    s.free = uint64_t(v.f_bavail) * v.f_frsize;
    return s;
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (!d) return IoError("opendir", path, errno);
    std::vector<std::string> out;
    // readdir is safe across threads on distinct DIR streams (glibc); this one is ours.
    while (struct dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
      std::string_view n(e->d_name);
      if (n != "." && n != "..") out.emplace_back(n);
    }
    ::closedir(d);
    return out;
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("open lock", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      ::close(fd);
      if (e == EWOULDBLOCK)
        return Status(Err::kAlreadyExists, path + " is locked by another sluice process");
      return IoError("flock", path, e);
    }
    struct Lock final : FileLock {
      explicit Lock(int f) : fd(f) {}
      ~Lock() override { ::close(fd); }
      int fd;
    };
    return std::unique_ptr<FileLock>(new Lock(fd));
  }
};

class PosixClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

class UrandomRandom final : public Random {
 public:
  void Fill(void* buf, size_t n) override {
    char* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t r = ::getrandom(p, n, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        std::abort();  // The kernel CSPRNG failing is not survivable.
      }
      p += r;
      n -= static_cast<size_t>(r);
    }
  }
};

}  // namespace

const metrics::HistogramBlock& PosixSyncLatency() { return SyncLatency(); }

FileSystem* PosixFileSystem() {
  static auto* fs = new PosixFs();
  return fs;
}
Clock* SystemClock() {
  static auto* c = new PosixClock();
  return c;
}
Random* SystemRandom() {
  static auto* r = new UrandomRandom();
  return r;
}

Result<std::unique_ptr<WritableFile>> StandardError() {
  int fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return IoError("dup", "stderr", errno);
  return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, "stderr"));
}

Result<std::string> FileSystem::ReadWholeFile(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(auto f, OpenReadable(path));
  std::string out(f->Size(), '\0');
  size_t got = 0;
  SLUICE_RETURN_IF_ERROR(f->PositionalRead(0, out.data(), out.size(), &got));
  out.resize(got);
  return out;
}

Status FileSystem::WriteWholeFileDurably(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp";
  if (Exists(tmp)) SLUICE_RETURN_IF_ERROR(Remove(tmp));
  SLUICE_ASSIGN_OR_RETURN(auto f, NewWritableFile(tmp, mode));
  SLUICE_RETURN_IF_ERROR(f->Append(data.data(), data.size()));
  SLUICE_RETURN_IF_ERROR(f->Sync());
  SLUICE_RETURN_IF_ERROR(f->Close());
  SLUICE_RETURN_IF_ERROR(Rename(tmp, path));
  size_t slash = path.rfind('/');
  return SyncDir(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

std::string Random::HexString(size_t bytes) {
  std::string raw(bytes, '\0');
  Fill(raw.data(), bytes);
  return HexEncode(raw);
}

}  // namespace sluice::io
