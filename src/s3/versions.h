// What the object operations share about versions: reading the version a request names,
// as S3 answers for delete markers, and the version headers of a response.
#pragma once

#include "common/names.h"
#include "http/http.h"
#include "meta/api/types.h"
#include "s3/authz.h"
#include "s3/context.h"

namespace sluice::s3 {

// When `bucket` is a snapshot: its source and instant (nothing for a plain bucket).
Task<std::optional<BucketAccessCache::Entry::Snapshot>> SnapshotOf(const Ctx& ctx,
                                                                   const BucketName& bucket);

// The version record `version` (empty: the latest) of bucket/key as the index has it,
// delete markers included; a snapshot bucket shows its source's version as of its instant
// (and only that one: another version id is kNoSuchVersion).
Task<Result<meta::ObjectMeta>> LookupVersion(const Ctx& ctx, const BucketName& bucket,
                                             const ObjectKey& key, const VersionId& version);

// LookupVersion of the latest version of each of `keys`, in their order: for the request's
// own plain bucket one index call (Index::GetObjects, one read on a networked index).
Task<std::vector<Result<meta::ObjectMeta>>> LookupLatest(const Ctx& ctx, const BucketName& bucket,
                                                         const std::vector<ObjectKey>& keys);

// The object version `version` (empty: the latest) of bucket/key, for reading. A delete
// marker is never returned: when it is the latest, kNoSuchKey; when named by its id,
// kMethodNotAllowed; both with x-amz-delete-marker: true (and the marker's
// x-amz-version-id) added to ctx.error_headers, as S3 sends them.
Task<Result<meta::ObjectMeta>> ReadObjectVersion(Ctx& ctx, const BucketName& bucket,
                                                 const ObjectKey& key, const VersionId& version);
// The half of ReadObjectVersion after the lookup: kOk when `found` is an object; else its
// error, or the delete marker's, with the headers above. For GET, which awaits
// LookupVersion itself and keeps the record where it landed (no frame, no moves).
Status ReadableVersion(Ctx& ctx, const Result<meta::ObjectMeta>& found, const VersionId& version);
// The same for the request's own bucket, key and ?versionId=.
inline Task<Result<meta::ObjectMeta>> ReadObjectVersion(Ctx& ctx) {
  return ReadObjectVersion(ctx, ctx.bucket, ctx.key, ctx.version);
}

// The version an attribute change (tags, ACL, retention, legal hold) applies to: the one the
// request read, so a write landing in between cannot receive it; for an unversioned object,
// the version the request named (none, or null).
inline VersionId ChangeTarget(const Ctx& ctx, const meta::ObjectMeta& read) {
  return read.version.empty() ? ctx.version : read.version;
}

// A fresh version name for a write: now, and 64 random bits (the index raises the time
// above the key's latest version if the clock is behind it).
VersionId NewVersionStamp(const Services& svc, int64_t now_micros);

// x-amz-version-id when the object has a version (nothing in an unversioned bucket).
void AddVersionHeader(http::ResponseHead& head, const VersionId& v);

// Object Lock settings for a new version: the x-amz-object-lock-* headers (or form fields,
// through a request built from them), else the bucket's default retention. Refused when the
// bucket has no Object Lock (kInvalidRequest), when mode and date do not come together, or
// when the date is not in the future (kInvalidArgument).
Status ObjectLockForWrite(const http::Request& req, const meta::BucketInfo& bucket,
                          int64_t now_micros, meta::Retention* retention, bool* legal_hold);

// x-amz-object-lock-mode, -retain-until-date and -legal-hold of a version that has them.
void AddObjectLockHeaders(http::ResponseHead& head, const meta::ObjectMeta& m);

// x-amz-bypass-governance-retention: true, from a caller allowed s3:BypassGovernanceRetention.
// A caller without the permission gets no bypass (and the lock then refuses).
Task<bool> BypassGovernance(Ctx& ctx);

}  // namespace sluice::s3
