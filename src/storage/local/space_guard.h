// Keeps free space on the local backend's disk for what frees space (issue #22: a full disk
// must never lock its owner out).
//
// New data (object bytes in data files, small objects inline in the index) is admitted
// only while it leaves `reserve` bytes free; below that it fails with kNoSpace (507
// InsufficientStorage), and deletes, aborts and the index's own small writes keep the
// reserve to themselves. Inline bytes count twice: the index writes them to its log now
// and again into a table file when its memtable is flushed.
//
// Against another program filling the disk, a ballast file (DATA/reserve) holds `ballast`
// more bytes: given up when the index is about to write and the disk has no room left
// (MakeRoom and ReleaseBallast, through the hooks the server wiring passes to the RocksDB
// store), so that a delete can still commit. It is written again once the disk has room
// for it and the reserve.
//
// Free space is read with statvfs at most every `refresh` (and at once when an admission
// would fail), less what was admitted since. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"
#include "io/env.h"

namespace sluice::storage {

class SpaceGuard {
 public:
  struct Options {
    // 0: 5% of the file system, at least 16 MiB and at most 1 GiB, and never more than a
    // quarter of a small one.
    uint64_t reserve = 0;
    uint64_t ballast = 0;  // 0: a quarter of the reserve, at most 16 MiB
    int64_t refresh_nanos = 100'000'000;
  };
  SpaceGuard(io::FileSystem* fs, const io::Clock* clock, std::string dir, Options opts);

  // Reads the file system's size (for the defaults) and writes the ballast if there is
  // room. Fails only when the size cannot be read.
  Status Init();

  // Whether `bytes` more could be stored now, without counting them (a write about to
  // start, of a known size).
  Status Check(uint64_t bytes);
  // Counts `bytes` of new data about to be written; kNoSpace when they would leave less
  // than the reserve free.
  Status Admit(uint64_t bytes);
  // Removes the ballast; true when there was one to remove.
  bool ReleaseBallast();
  // Whether the index may write `bytes` now (a batch about to go to its log, or a file it
  // appends to): when the disk no longer has room (another program filled it), the ballast
  // is released first; kNoSpace once even that is gone. The index refuses the write then,
  // rather than let RocksDB meet a full disk: RocksDB 7.8 cannot be relied on after a
  // failed log write (facebook/rocksdb#12448). Cheap unless the disk is nearly full.
  // Another program may still take the space between the look and the write.
  Status RoomForIndex(uint64_t bytes);
  // Writes the ballast again if it is missing and the disk has room for it and the
  // reserve. May write `ballast` bytes: called where a blocking call is fine.
  void RestoreBallast();

  struct State {
    uint64_t free = 0;  // as last read, less what was admitted since
    uint64_t reserve = 0;
    uint64_t ballast = 0;  // bytes the ballast file holds now (0: released)
  };
  State state();
  // Ok while 1 MiB more of new data would be admitted; else kNoSpace saying how much is
  // free and what is kept (the readiness probe's verdict).
  Status Health();

  uint64_t reserve() const { return reserve_; }
  std::string ballast_path() const { return dir_ + "/reserve"; }

 private:
  Status RefreshLocked(bool force);
  Status RefuseLocked(uint64_t bytes) const;
  bool ReleaseBallastLocked();

  io::FileSystem* fs_;
  const io::Clock* clock_;
  std::string dir_;
  Options opts_;
  uint64_t reserve_ = 0, ballast_size_ = 0;
  std::mutex mu_;
  uint64_t free_ = 0;      // at the last refresh
  uint64_t admitted_ = 0;  // since the last refresh
  int64_t refreshed_at_ = INT64_MIN;
  uint64_t ballast_held_ = 0;
};

}  // namespace sluice::storage
