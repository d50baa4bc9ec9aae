// What the object operations share about versions: reading the version a request names,
// as S3 answers for delete markers, and the version headers of a response.
#pragma once

#include "common/names.h"
#include "http/http.h"
#include "meta/api/types.h"
#include "s3/context.h"

namespace sluice::s3 {

// The object version `version` (empty: the latest) of bucket/key, for reading. A delete
// marker is never returned: when it is the latest, kNoSuchKey; when named by its id,
// kMethodNotAllowed; both with x-amz-delete-marker: true (and the marker's
// x-amz-version-id) added to ctx.error_headers, as S3 sends them.
Result<meta::ObjectMeta> ReadObjectVersion(Ctx& ctx, const BucketName& bucket,
                                           const ObjectKey& key, const VersionId& version);
// The same for the request's own bucket, key and ?versionId=.
inline Result<meta::ObjectMeta> ReadObjectVersion(Ctx& ctx) {
  return ReadObjectVersion(ctx, ctx.bucket, ctx.key, ctx.version);
}

// A fresh version name for a write: now, and 64 random bits (the index raises the time
// above the key's latest version if the clock is behind it).
VersionId NewVersionStamp(const Services& svc, int64_t now_micros);

// x-amz-version-id when the object has a version (nothing in an unversioned bucket).
void AddVersionHeader(http::ResponseHead& head, const VersionId& v);

}  // namespace sluice::s3
