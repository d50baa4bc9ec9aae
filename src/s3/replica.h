// Writes sent by another sluice's replication worker (docs/replication.md): a PutObject,
// CompleteMultipartUpload or DeleteObject with the headers below keeps the source's version
// id and modification time and is stored with replication status REPLICA, which is never
// replicated again (so A -> B -> A does not ping-pong). Only a caller allowed
// s3:ReplicateObject (s3:ReplicateDelete for a delete marker) on the key may send them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/async.h"
#include "common/names.h"
#include "common/status.h"
#include "s3/context.h"

namespace sluice::s3 {

inline constexpr std::string_view kReplicaVersionHeader = "x-sluice-replica-version-id";
inline constexpr std::string_view kReplicaMtimeHeader = "x-sluice-replica-mtime";  // microseconds

struct ReplicaWrite {
  VersionId version;
  int64_t mtime_micros = 0;
};

// std::nullopt for an ordinary write. kInvalidArgument for headers that do not parse or
// come alone, kInvalidRequest unless the bucket has versioning Enabled, kAccessDenied
// unless the caller may `action`.
Task<Result<std::optional<ReplicaWrite>>> ReadReplicaHeaders(Ctx& ctx, std::string_view action);

// A replica sent again (the source crashed after the copy, or two gateways of one cluster
// sent it at once) is stored once: the index refuses a replica's id that exists
// (kAlreadyExists), and the operation then answers with what is held when it is this
// replica, of the same kind and ETag, and with kInvalidRequest when that version id is taken
// by something else. `etag` is ignored for a delete marker.
Task<Result<std::optional<meta::ObjectMeta>>> ReplicaAlreadyHeld(Ctx& ctx, const ReplicaWrite& w,
                                                                 bool marker,
                                                                 const std::string& etag);

}  // namespace sluice::s3
