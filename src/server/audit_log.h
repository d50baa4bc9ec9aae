// The audit log as a file (docs/security.md): s3::AuditLog records appended as JSON lines,
// through io::FileSystem (OpenForAppend: O_APPEND), never rewritten (SIGHUP opens it anew). A
// background thread syncs it at most once a second, so a record costs one write(2) on the request
// path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/env.h"
#include "s3/audit.h"

namespace sluice::server {

class FileAuditLog : public s3::AuditLog {
 public:
  // Opens `path` to append (created 0600 if missing). A last line cut short by a crash is
  // ended first, so every record starts on its own line.
  static Result<std::unique_ptr<FileAuditLog>> Open(io::FileSystem* fs, const std::string& path);
  ~FileAuditLog() override;

  void Record(const s3::AuditRecord& r) override;
  // Writes and syncs what is buffered (also done once a second and on destruction).
  Status Sync();
  // Syncs and closes the current file, then appends to a file opened anew at the same path
  // (created 0600): SIGHUP after logrotate moved the file away (README.md "Logs"). On an
  // error the current file stays in use.
  Status Reopen(io::FileSystem* fs);
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  FileAuditLog(std::unique_ptr<io::WritableFile> file, std::string path);
  void SyncLoop();

  std::shared_ptr<io::WritableFile> file_;  // under mu_; a Sync holds its own reference
  std::string path_;
  std::mutex sync_mu_;  // one Sync or Reopen at a time, taken before mu_
  std::mutex mu_;
  bool dirty_ = false;
  bool stop_ = false;
  std::condition_variable cv_;
  std::atomic<uint64_t> failures_{0};
  std::thread syncer_;
};

}  // namespace sluice::server
