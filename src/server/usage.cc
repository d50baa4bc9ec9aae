#include "server/usage.h"

#include <spdlog/spdlog.h>

namespace sluice::server {

Status CountUsageOnce(meta::Index* index) {
  SLUICE_ASSIGN_OR_RETURN(auto docs, index->ListDocs("usage"));
  for (const auto& [name, doc] : docs)
    if (name == "counted") return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(auto buckets, index->ListBuckets());
  size_t counted = 0;
  for (const auto& b : buckets) {
    if (!b.snapshot_of.empty()) continue;  // a snapshot holds nothing of its own
    Status s = index->RecountUsage(b.name);
    if (s.code() == Err::kNoSuchBucket) continue;  // deleted meanwhile (another gateway)
    SLUICE_RETURN_IF_ERROR(s);
    counted++;
  }
  if (counted)
    spdlog::info("counted the usage of {} buckets (once: kept exact from now on)", counted);
  return index->WriteDocs({{"usage", "counted", std::string("1")}});
}

void FoldAllUsage(meta::Index* index) {
  auto buckets = index->ListBuckets();
  if (!buckets.ok()) {
    spdlog::warn("usage: listing buckets: {}", buckets.status().ToString());
    return;
  }
  for (const auto& b : *buckets) {
    if (!b.snapshot_of.empty()) continue;
    auto u = index->GetBucketUsage(b.name);
    if (!u.ok() && u.status().code() != Err::kNoSuchBucket)
      spdlog::warn("usage of bucket {}: {}", b.name.str(), u.status().ToString());
  }
}

}  // namespace sluice::server
