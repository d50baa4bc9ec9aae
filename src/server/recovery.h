// Startup recovery: settles data left by a crash, before the server accepts requests.
// - Data written but never published (found by DataStore::ListUnpublished, with the owner
//   it was created for) is kept and published if the index references it (the crash fell
//   between the index commit and the publish step), and deleted otherwise (the write was
//   never acknowledged).
// - Data queued for deletion (the index's GC queue) is deleted.
#pragma once

#include "meta/api/index.h"
#include "storage/api/data_store.h"

namespace sluice::server {

struct RecoveryStats {
  size_t republished = 0;
  size_t discarded = 0;
  size_t collected = 0;
};

Result<RecoveryStats> Recover(meta::Index* index, storage::DataStore* data);

// While serving, on a store shared with other writers: the intent logs of writers whose
// lease lapsed (DataStore::ClaimAbandoned), settled the same way, then dropped.
Result<RecoveryStats> SettleAbandoned(meta::Index* index, storage::DataStore* data);

}  // namespace sluice::server
