#include "storage/local/space_guard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sluice::storage {
namespace {

constexpr uint64_t kMiB = 1 << 20;

std::string MiB(uint64_t bytes) { return std::to_string((bytes + kMiB / 2) / kMiB) + " MiB"; }

}  // namespace

SpaceGuard::SpaceGuard(io::FileSystem* fs, const io::Clock* clock, std::string dir, Options opts)
    : fs_(fs), clock_(clock), dir_(std::move(dir)), opts_(opts) {}

Status SpaceGuard::Init() {
  SLUICE_ASSIGN_OR_RETURN(io::SpaceInfo info, fs_->Space(dir_));
  reserve_ = opts_.reserve ? opts_.reserve
                           : std::min(std::clamp<uint64_t>(info.total / 20, 16 * kMiB, 1024 * kMiB),
                                      info.total / 4);
  ballast_size_ = opts_.ballast ? opts_.ballast : std::min<uint64_t>(reserve_ / 4, 16 * kMiB);
  {
    std::lock_guard l(mu_);
    if (auto f = fs_->OpenReadable(ballast_path()); f.ok()) ballast_held_ = (*f)->Size();
    SLUICE_RETURN_IF_ERROR(RefreshLocked(true));
  }
  RestoreBallast();
  return Status::Ok();
}

Status SpaceGuard::RefreshLocked(bool force) {
  const int64_t now = clock_->MonotonicNanos();
  if (!force && now - refreshed_at_ < opts_.refresh_nanos) return Status::Ok();
  auto info = fs_->Space(dir_);
  if (!info.ok()) return info.status();
  free_ = info->free;
  admitted_ = 0;
  refreshed_at_ = now;
  return Status::Ok();
}

Status SpaceGuard::RefuseLocked(uint64_t bytes) const {
  const uint64_t free = free_ > admitted_ ? free_ - admitted_ : 0;
  if (free >= reserve_ && free - reserve_ >= bytes) return Status::Ok();
  return Status(Err::kNoSpace, "the disk of " + dir_ + " has " + MiB(free) + " free and keeps " +
                                   MiB(reserve_) +
                                   " for deletes and the index: new data is refused until "
                                   "space is freed (delete objects, abort uploads)");
}

Status SpaceGuard::Check(uint64_t bytes) {
  std::lock_guard l(mu_);
  RefreshLocked(false).IgnoreError();  // a failed statvfs keeps the last figures
  if (RefuseLocked(bytes).ok()) return Status::Ok();
  RefreshLocked(true).IgnoreError();  // space may have been freed since the last look
  return RefuseLocked(bytes);
}

Status SpaceGuard::Admit(uint64_t bytes) {
  std::lock_guard l(mu_);
  RefreshLocked(false).IgnoreError();
  if (!RefuseLocked(bytes).ok()) {
    RefreshLocked(true).IgnoreError();
    SLUICE_RETURN_IF_ERROR(RefuseLocked(bytes));
  }
  admitted_ += bytes;
  return Status::Ok();
}

bool SpaceGuard::ReleaseBallast() {
  std::lock_guard l(mu_);
  return ReleaseBallastLocked();
}

bool SpaceGuard::ReleaseBallastLocked() {
  if (ballast_held_ == 0) return false;
  Status s = fs_->Remove(ballast_path());
  if (!s.ok() && s.code() != Err::kNotFound) {
    spdlog::error("cannot release the space reserve {}: {}", ballast_path(), s.ToString());
    return false;
  }
  spdlog::warn(
      "the disk of {} is full: released the {} reserve file so that deletes can "
      "still be recorded; new data is refused until space is freed",
      dir_, MiB(ballast_held_));
  ballast_held_ = 0;
  RefreshLocked(true).IgnoreError();
  return true;
}

Status SpaceGuard::RoomForIndex(uint64_t bytes) {
  constexpr uint64_t kNear = 8 * kMiB, kSlack = uint64_t{256} * 1024;
  std::lock_guard l(mu_);
  RefreshLocked(false).IgnoreError();
  auto free = [&] { return free_ > admitted_ ? free_ - admitted_ : 0; };
  if (free() >= bytes + kNear) return Status::Ok();  // far from full: the figure may be 100 ms old
  RefreshLocked(true).IgnoreError();                 // near it: look again now
  if (free() >= bytes + kSlack) return Status::Ok();
  if (ReleaseBallastLocked() && free() >= bytes + kSlack) return Status::Ok();
  return Status(Err::kNoSpace, "the disk of " + dir_ + " is full (" +
                                   std::to_string(free() / 1024) +
                                   " KiB free, the reserve file given up): not even a delete can "
                                   "be recorded until space is freed outside sluice");
}

void SpaceGuard::RestoreBallast() {
  std::lock_guard l(mu_);
  if (ballast_held_ == ballast_size_ || ballast_size_ == 0) return;
  RefreshLocked(false).IgnoreError();
  if (RefuseLocked(ballast_size_).code() == Err::kNoSpace) return;  // not yet
  fs_->Remove(ballast_path()).IgnoreError();  // a smaller one, from other settings
  auto f = fs_->NewWritableFile(ballast_path(), 0600);
  Status s = f.status();
  if (s.ok()) {
    const std::string zeros(kMiB, '\0');
    for (uint64_t left = ballast_size_; s.ok() && left > 0; left -= std::min<uint64_t>(left, kMiB))
      s = (*f)->Append(zeros.data(), std::min<uint64_t>(left, kMiB));
    if (s.ok()) s = (*f)->Sync();  // blocks are allocated, not promised
    Status closed = (*f)->Close();
    if (s.ok()) s = closed;
  }
  if (!s.ok()) {
    fs_->Remove(ballast_path()).IgnoreError();
    spdlog::warn("cannot write the space reserve {}: {}", ballast_path(), s.ToString());
    return;
  }
  ballast_held_ = ballast_size_;
  RefreshLocked(true).IgnoreError();
}

SpaceGuard::State SpaceGuard::state() {
  std::lock_guard l(mu_);
  RefreshLocked(false).IgnoreError();
  return {free_ > admitted_ ? free_ - admitted_ : 0, reserve_, ballast_held_};
}

Status SpaceGuard::Health() {
  std::lock_guard l(mu_);
  RefreshLocked(true).IgnoreError();
  return RefuseLocked(kMiB);
}

}  // namespace sluice::storage
