// The S3 operations, one family per file. Each parses what it needs from the request,
// executes against the index and data store, and renders its response; errors are
// returned as a Status and rendered by the dispatcher (s3/handler.cc).
#pragma once

#include "s3/context.h"
#include "s3/sse.h"

namespace sluice::s3 {
enum class Op;  // s3/router.h
}

namespace sluice::s3::ops {

// cache.cc: a read-through cache (svc.cache set). Refuses what it does not serve (501) and
// anonymous requests, and creates the request's bucket when the origin has it; then the
// reads of objects and the listings the origin answers.
Task<Status> PrepareCachedRequest(Ctx& ctx, Op op);
Task<Status> CachedGetObject(Ctx& ctx, bool head);
Task<Status> ForwardToOrigin(Ctx& ctx);

// bucket.cc
Task<Status> ListBuckets(Ctx& ctx);
Task<Status> CreateBucket(Ctx& ctx);
Task<Status> HeadBucket(Ctx& ctx);
Task<Status> DeleteBucket(Ctx& ctx);
Task<Status> GetBucketLocation(Ctx& ctx);
Task<Status> GetBucketVersioning(Ctx& ctx);
Task<Status> PutBucketVersioning(Ctx& ctx);
// list.cc
Task<Status> ListObjects(Ctx& ctx, bool v2);
Task<Status> ListObjectVersions(Ctx& ctx);
Task<Status> ListMultipartUploads(Ctx& ctx);
// object.cc
Task<Status> PutObject(Ctx& ctx);
Task<Status> GetObject(Ctx& ctx, bool head);
Task<Status> DeleteObject(Ctx& ctx);
// append.cc: PutObject with x-amz-write-offset-bytes
Task<Status> AppendObject(Ctx& ctx);
// members.cc: tar members of an object (docs/tar-members.md)
Task<Status> GetObjectMember(Ctx& ctx, bool head);
Task<Status> ListObjectMembers(Ctx& ctx);
// GET /bucket?usage: the bucket's objects, versions and bytes as the index keeps them.
Task<Status> GetBucketUsage(Ctx& ctx);
// delete_objects.cc
Task<Status> DeleteObjects(Ctx& ctx);
// batch_get.cc
Task<Status> BatchGet(Ctx& ctx);
// copy.cc
Task<Status> CopyObject(Ctx& ctx);
Task<Status> UploadPartCopy(Ctx& ctx);
// multipart.cc
Task<Status> CreateMultipartUpload(Ctx& ctx);
Task<Status> UploadPart(Ctx& ctx);
Task<Status> CompleteMultipartUpload(Ctx& ctx);
Task<Status> AbortMultipartUpload(Ctx& ctx);
Task<Status> ListParts(Ctx& ctx);
// bucket_config.cc
Task<Status> GetBucketSubresource(Ctx& ctx, const std::string& subresource);
Task<Status> DeleteBucketSubresource(Ctx& ctx);
Task<Status> GetBucketAcl(Ctx& ctx);
Task<Status> PutBucketAcl(Ctx& ctx);
Task<Status> GetObjectAcl(Ctx& ctx);
Task<Status> PutObjectAcl(Ctx& ctx);
// attributes.cc
Task<Status> GetObjectAttributes(Ctx& ctx);
// post_object.cc
Task<Status> PostObject(Ctx& ctx);
// encryption.cc
Task<Status> PutBucketEncryption(Ctx& ctx);
Task<Status> GetBucketEncryption(Ctx& ctx);
Task<Status> DeleteBucketEncryption(Ctx& ctx);
// Whether new objects of ctx.bucket are encrypted (SSE-S3) when a write asks for nothing.
Task<Result<bool>> BucketEncryptsByDefault(Ctx& ctx);
// The encryption a write of new object data gets: what its headers ask for (when the
// operation takes them, ctx.sse_headers), else the bucket's default.
Task<Result<SseRequest>> WriteEncryption(Ctx& ctx);
// cors.cc
Task<Status> PutBucketCors(Ctx& ctx);
Task<Status> GetBucketCors(Ctx& ctx);
Task<Status> DeleteBucketCors(Ctx& ctx);
Task<Status> PreflightCors(Ctx& ctx);
// The Access-Control-* headers for an actual request from `origin` (none when the bucket
// has no rule for it).
Task<std::vector<std::pair<std::string, std::string>>> CorsHeadersFor(const Services& svc,
                                                                      const BucketName& bucket,
                                                                      std::string_view origin,
                                                                      std::string_view method);
// policy.cc
Task<Status> PutBucketPolicy(Ctx& ctx);
Task<Status> GetBucketPolicy(Ctx& ctx);
Task<Status> DeleteBucketPolicy(Ctx& ctx);
Task<Status> GetBucketPolicyStatus(Ctx& ctx);

// public_access.cc: bucket-level public access block and object ownership controls.
Task<Status> PutPublicAccessBlock(Ctx& ctx);
Task<Status> GetPublicAccessBlock(Ctx& ctx);
Task<Status> DeletePublicAccessBlock(Ctx& ctx);
Task<Status> PutBucketOwnershipControls(Ctx& ctx);
Task<Status> GetBucketOwnershipControls(Ctx& ctx);
Task<Status> DeleteBucketOwnershipControls(Ctx& ctx);
// object_lock.cc
Task<Status> PutObjectLockConfiguration(Ctx& ctx);
Task<Status> GetObjectLockConfiguration(Ctx& ctx);
Task<Status> PutObjectRetention(Ctx& ctx);
Task<Status> GetObjectRetention(Ctx& ctx);
Task<Status> PutObjectLegalHold(Ctx& ctx);
Task<Status> GetObjectLegalHold(Ctx& ctx);
// lifecycle.cc
Task<Status> PutBucketReplication(Ctx& ctx);
Task<Status> GetBucketReplication(Ctx& ctx);
Task<Status> DeleteBucketReplication(Ctx& ctx);
Task<Status> PutBucketLifecycle(Ctx& ctx);
Task<Status> GetBucketLifecycle(Ctx& ctx);
Task<Status> DeleteBucketLifecycle(Ctx& ctx);
// tagging.cc
Task<Status> PutObjectTagging(Ctx& ctx);
Task<Status> GetObjectTagging(Ctx& ctx);
Task<Status> DeleteObjectTagging(Ctx& ctx);

}  // namespace sluice::s3::ops
