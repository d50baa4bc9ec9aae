// Authorization: the step between authentication and execution. Each operation maps to
// its IAM action and resource ARN; the caller's identity policies, the bucket's policy and
// canned-ACL grants decide (auth/authorizer.h has the logic).
//
// Bucket policies and bucket ACLs are compiled once and cached per bucket. The index tells
// the cache of every change to a bucket's record or configuration (meta::Index::Subscribe),
// those of other gateways on a shared backend included, and the cache drops its entries.
// A miss reads the index through AsyncIndex, so these checks are awaited.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/policy.h"
#include "meta/api/index.h"
#include "s3/context.h"
#include "s3/lifecycle.h"
#include "s3/replication.h"
#include "s3/router.h"

namespace sluice::s3 {

// A bucket's public access block (PutPublicAccessBlock), as S3 defines its four settings.
struct PublicAccessBlock {
  bool block_public_acls = false;        // refuse requests that set a public ACL (403)
  bool ignore_public_acls = false;       // public ACL grants admit nobody
  bool block_public_policy = false;      // refuse a public bucket policy (403)
  bool restrict_public_buckets = false;  // a public policy admits no anonymous caller
};
// Stored as four '0'/'1' characters in that order (bucket config "publicAccessBlock").
std::string EncodePublicAccessBlock(const PublicAccessBlock& b);
std::optional<PublicAccessBlock> DecodePublicAccessBlock(std::string_view stored);
// The bucket config names of the two settings.
inline constexpr char kPublicAccessBlockConfig[] = "publicAccessBlock";
inline constexpr char kOwnershipConfig[] = "ownership";  // ObjectOwnership value as sent

// BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter.
inline bool IsObjectOwnership(std::string_view v) {
  return v == "BucketOwnerEnforced" || v == "BucketOwnerPreferred" || v == "ObjectWriter";
}

// The checks a request that sets `acl` (as ParseCannedAcl stores it) on `bucket` or one of
// its objects must pass: with BucketOwnerEnforced ACLs are disabled and only the owner's
// own ACL is accepted (400 AccessControlListNotSupported); with BlockPublicAcls a public ACL
// is refused (403 AccessDenied).
Task<Status> CheckAclWrite(Ctx& ctx, const std::string& bucket, std::string_view acl);

// What a request needs to know of a bucket's access configuration, compiled once.
struct BucketAccessEntry {
  std::shared_ptr<const auth::Policy> policy;  // null: none
  std::string acl;                             // canned ACL; "" = private
  PublicAccessBlock block;                     // all false: none set
  bool acls_disabled = false;                  // ObjectOwnership BucketOwnerEnforced
  // Not access control, but read on the same requests (x-amz-expiration on GET, HEAD and
  // PUT) and changed as rarely: the lifecycle rules, null when none.
  std::shared_ptr<const LifecycleConfig> lifecycle;
  // Read by every write (which versions to queue), null when none.
  std::shared_ptr<const ReplicationConfig> replication;
  // Set when the bucket is a snapshot: reads go to `source` as of `at` (docs/snapshots.md).
  struct Snapshot {
    BucketName source;
    int64_t at = 0;
  };
  std::optional<Snapshot> snapshot;
  // Bucket default encryption (PutBucketEncryption): new objects written without
  // encryption headers are encrypted with SSE-S3.
  bool default_sse = false;
};

class BucketAccessCache {
 public:
  using Entry = BucketAccessEntry;
  // Listens to the index: any change to a bucket's record or configuration, made by this
  // process or (on a shared backend) another, drops the cached entries. The cache must
  // outlive the index's use.
  explicit BucketAccessCache(meta::AsyncIndex* index);
  // An empty entry for a bucket that does not exist (not cached). A stored policy that no
  // longer parses is an error (kCorruption), never "no policy". A hit costs no index call.
  Task<Result<std::shared_ptr<const Entry>>> Get(const std::string& bucket);
  // The entry when this thread has it cached, else null (then Get): no frame, no wait.
  std::shared_ptr<const Entry> Peek(const std::string& bucket) {
    return Cached(bucket, generation_.load(std::memory_order_acquire));
  }
  // Any change drops every thread's entries (changes are rare; reads are every request).
  void Invalidate(const std::string& bucket);

 private:
  // Each thread keeps its own map, so the request path takes no lock and touches no
  // shared cache line but the generation counter, which only changes on invalidation.
  struct Local {
    uint64_t cache = 0, generation = 0;
    std::unordered_map<std::string, std::shared_ptr<const Entry>> map;
  };
  static Local& Tl();
  std::shared_ptr<const Entry> Cached(const std::string& bucket, uint64_t gen);
  void Keep(const std::string& bucket, uint64_t gen, std::shared_ptr<const Entry> e);

  meta::AsyncIndex* index_;
  std::atomic<uint64_t> generation_{1};
  const uint64_t id_ = NextId();
  static uint64_t NextId();
};

// The request's own bucket's entry as the handler read it (LoadAccess), when `bucket` is
// that bucket; null otherwise (then await BucketAccessCache::Get).
// Valid while ctx lives (ctx.access holds it).
const BucketAccessEntry* AccessOfOwnBucket(const Ctx& ctx, std::string_view bucket);
// Reads the request's bucket's entry into ctx.access, once, after authentication (Peek
// first: a cached entry costs no frame). An index that cannot answer fails the request
// here, with its error (503 when the store is unavailable), rather than in every check.
Task<Status> LoadAccess(Ctx& ctx);

// The IAM action an operation needs ("s3:GetObject").
std::string_view ActionOf(Op op, std::string_view subresource);
// The action for the same operation on one named version (s3:GetObject ->
// s3:GetObjectVersion, ...); other actions unchanged.
std::string_view VersionAction(std::string_view action);

// kAccessDenied (logged with the identity, action and resource) unless the caller may run
// the routed operation. CopyObject/UploadPartCopy also need s3:GetObject on the source.
// A refused request in a bucket that does not exist is kNoSuchBucket instead, and a refused
// GET/HEAD of a missing key is kNoSuchKey for a caller allowed s3:ListBucket, as in S3.
Task<Status> AuthorizeRequest(Ctx& ctx, const Route& route);
// True when AuthorizeRequest would allow at once without reading anything: root or an
// admin without a session policy, on the request's own bucket (its entry read, with no
// bucket policy), and no second bucket involved (no copy source). The handler then skips
// the awaited call: the common case of the hot path costs no coroutine frame.
bool AllowedWithoutChecks(const Ctx& ctx, const Route& route);

// The other half of S3's rule: a GET/HEAD of a missing key that was authorized is
// kNoSuchKey only for a caller allowed s3:ListBucket; for others it is kAccessDenied, so
// keys cannot be probed. Returns `st` unchanged otherwise.
Task<Status> HideMissingKey(Ctx& ctx, Op op, Status st);

// kAccessDenied (logged) unless the caller may perform `action` on bucket/key.
Task<Status> Require(Ctx& ctx, std::string_view action, const std::string& bucket,
                     const std::string& key);

// Whether the caller may perform `action` on `bucket` (and `key`, for object actions).
// For checks inside an operation: DeleteObjects per key, ListBuckets per bucket.
Task<bool> IsAllowed(Ctx& ctx, std::string_view action, const std::string& bucket,
                     const std::string& key);

}  // namespace sluice::s3
