#include "server/recovery.h"

namespace sluice::server {

Result<RecoveryStats> Recover(meta::Index* index, storage::DataStore* data) {
  RecoveryStats stats;
  SLUICE_ASSIGN_OR_RETURN(auto pending, data->ListUnpublished());
  for (const auto& [id, owner] : pending) {
    SLUICE_ASSIGN_OR_RETURN(bool referenced, index->IsReferenced(id, owner));
    if (referenced) {
      data->Published(id);
      stats.republished++;
    } else {
      SLUICE_RETURN_IF_ERROR(data->Delete(id));
      stats.discarded++;
    }
  }
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
