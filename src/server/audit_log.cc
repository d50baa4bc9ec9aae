#include "server/audit_log.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace sluice::server {

Result<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(io::FileSystem* fs,
                                                         const std::string& path) {
  bool cut = false;
  if (fs->Exists(path)) {
    SLUICE_ASSIGN_OR_RETURN(auto in, fs->OpenReadable(path));
    uint64_t size = in->Size();
    if (size > 0) {
      char last = 0;
      size_t got = 0;
      SLUICE_RETURN_IF_ERROR(in->PositionalRead(size - 1, &last, 1, &got));
      cut = got == 1 && last != '\n';
    }
  }
  SLUICE_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path, 0600));
  if (cut) SLUICE_RETURN_IF_ERROR(file->Append("\n", 1));
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(std::move(file), path));
}

FileAuditLog::FileAuditLog(std::unique_ptr<io::WritableFile> file, std::string path)
    : file_(std::move(file)), path_(std::move(path)), syncer_([this] { SyncLoop(); }) {}

FileAuditLog::~FileAuditLog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  syncer_.join();
  Sync().IgnoreError();
  file_->Close().IgnoreError();
}

void FileAuditLog::Record(const s3::AuditRecord& r) {
  std::string line = s3::RenderAuditLine(r);
  std::lock_guard<std::mutex> l(mu_);
  Status st = file_->Append(line.data(), line.size());
  if (!st.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log {}: {} (lost: {})", path_, st.ToString(), line);
    return;
  }
  dirty_ = true;
}

Status FileAuditLog::Sync() {
  std::lock_guard<std::mutex> s(sync_mu_);
  std::shared_ptr<io::WritableFile> file;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!dirty_) return Status::Ok();
    dirty_ = false;
    file = file_;
  }
  // Outside the lock: a record written meanwhile waits for the next sync, not for this
  // one (a plain file's Sync is an fdatasync, safe beside a write).
  Status st = file->Sync();
  if (!st.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = true;
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log {}: sync: {}", path_, st.ToString());
  }
  return st;
}

Status FileAuditLog::Reopen(io::FileSystem* fs) {
  SLUICE_ASSIGN_OR_RETURN(auto opened, fs->OpenForAppend(path_, 0600));
  std::lock_guard<std::mutex> s(sync_mu_);
  std::shared_ptr<io::WritableFile> old;
  bool dirty;
  {
    std::lock_guard<std::mutex> l(mu_);
    old = std::exchange(file_, std::shared_ptr<io::WritableFile>(std::move(opened)));
    dirty = std::exchange(dirty_, false);
  }
  // The old file's last records are made durable before it is let go.
  Status st = dirty ? old->Sync() : Status::Ok();
  Status closed = old->Close();
  if (!st.ok() || !closed.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("audit log {}: closing the file it replaced: {}", path_,
                  (st.ok() ? closed : st).ToString());
  }
  return Status::Ok();
}

void FileAuditLog::SyncLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::seconds(1));
    if (stop_ || !dirty_) continue;
    l.unlock();
    Sync().IgnoreError();
    l.lock();
  }
}

}  // namespace sluice::server
