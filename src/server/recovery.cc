#include "server/recovery.h"

namespace sluice::server {

namespace {
// Keeps what the index references, deletes the rest. `own`: the ids are this writer's, whose
// intents Published drops (another writer's log goes whole, with ForgetLog).
Status Settle(meta::Index* index, storage::DataStore* data,
              const std::vector<storage::DataStore::Unpublished>& ids, bool own,
              RecoveryStats* stats) {
  for (const auto& [id, owner] : ids) {
    SLUICE_ASSIGN_OR_RETURN(bool referenced, index->IsReferenced(id, owner));
    if (referenced) {
      if (own) data->Published(id);
      stats->republished++;
    } else {
      SLUICE_RETURN_IF_ERROR(data->Delete(id));
      stats->discarded++;
    }
  }
  return Status::Ok();
}
}  // namespace

Result<RecoveryStats> SettleAbandoned(meta::Index* index, storage::DataStore* data) {
  RecoveryStats stats;
  SLUICE_ASSIGN_OR_RETURN(auto logs, data->ClaimAbandoned());
  for (const auto& log : logs) {
    SLUICE_RETURN_IF_ERROR(Settle(index, data, log.ids, /*own=*/false, &stats));
    SLUICE_RETURN_IF_ERROR(data->ForgetLog(log.name));
  }
  return stats;
}

Result<RecoveryStats> Recover(meta::Index* index, storage::DataStore* data) {
  RecoveryStats stats;
  SLUICE_ASSIGN_OR_RETURN(auto pending, data->ListUnpublished());
  SLUICE_RETURN_IF_ERROR(Settle(index, data, pending, /*own=*/true, &stats));
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto ids, index->PendingGc(1024));
    if (ids.empty()) break;
    for (const auto& id : ids) SLUICE_RETURN_IF_ERROR(data->Delete(id));
    SLUICE_RETURN_IF_ERROR(index->GcDone(ids));
    stats.collected += ids.size();
  }
  return stats;
}

}  // namespace sluice::server
