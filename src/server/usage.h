// Bucket usage (meta::BucketUsage) at the server's level: counting it once for an index
// written before usage was kept, and folding the delta records in the background.
#pragma once

#include "common/status.h"
#include "meta/api/index.h"

namespace sluice::server {

// Recounts every bucket's usage from its records unless the index says it has been done
// (the document usage/counted), then says so. Run at start, before serving.
Status CountUsageOnce(meta::Index* index);

// Reads every bucket's usage, which folds the deltas waiting (meta::Index::GetBucketUsage),
// so they stay few between scrapes. Errors are logged, never fatal.
void FoldAllUsage(meta::Index* index);

}  // namespace sluice::server
