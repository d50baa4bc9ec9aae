// Authorization: the step between authentication and execution. Each operation maps to
// its IAM action and resource ARN; the caller's identity policies, the bucket's policy and
// canned-ACL grants decide (auth/authorizer.h has the logic).
//
// Bucket policies and bucket ACLs are compiled once and cached per bucket. The operations
// that change them (and DeleteBucket/CreateBucket) invalidate the entry; on one server
// that is every writer. Several gateways over one shared index would need a TTL here.
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
Status CheckAclWrite(Ctx& ctx, const std::string& bucket, std::string_view acl);


class BucketAccessCache {
 public:
  struct Entry {
    std::shared_ptr<const auth::Policy> policy;  // null: none
    std::string acl;                             // canned ACL; "" = private
    PublicAccessBlock block;                     // all false: none set
    bool acls_disabled = false;                  // ObjectOwnership BucketOwnerEnforced
    // Not access control, but read on the same requests (x-amz-expiration on GET, HEAD and
    // PUT) and changed as rarely: the lifecycle rules, null when none.
    std::shared_ptr<const LifecycleConfig> lifecycle;
    // Set when the bucket is a snapshot: reads go to `source` as of `at` (docs/snapshots.md).
    struct Snapshot {
      BucketName source;
      int64_t at = 0;
    };
    std::optional<Snapshot> snapshot;
  };
  explicit BucketAccessCache(meta::Index* index) : index_(index) {}
  // The entry stays valid until this thread's next Get. An empty entry for a bucket that
  // does not exist (not cached). A stored policy that no longer parses is an error
  // (kCorruption), never "no policy".
  Result<const Entry*> Get(const std::string& bucket);
  // Any change drops every thread's entries (changes are rare; reads are every request).
  void Invalidate(const std::string& bucket);

 private:
  // Each thread keeps its own map, so the request path takes no lock and touches no
  // shared cache line but the generation counter, which only changes on invalidation.
  meta::Index* index_;
  std::atomic<uint64_t> generation_{1};
  const uint64_t id_ = NextId();
  static uint64_t NextId();
};

// The IAM action an operation needs ("s3:GetObject").
std::string_view ActionOf(Op op, std::string_view subresource);
// The action for the same operation on one named version (s3:GetObject ->
// s3:GetObjectVersion, ...); other actions unchanged.
std::string_view VersionAction(std::string_view action);

// kAccessDenied (logged with the identity, action and resource) unless the caller may run
// the routed operation. CopyObject/UploadPartCopy also need s3:GetObject on the source.
// A refused request in a bucket that does not exist is kNoSuchBucket instead, and a refused
// GET/HEAD of a missing key is kNoSuchKey for a caller allowed s3:ListBucket, as in S3.
Status AuthorizeRequest(Ctx& ctx, const Route& route);

// The other half of S3's rule: a GET/HEAD of a missing key that was authorized is
// kNoSuchKey only for a caller allowed s3:ListBucket; for others it is kAccessDenied, so
// keys cannot be probed. Returns `st` unchanged otherwise.
Status HideMissingKey(Ctx& ctx, Op op, Status st);

// kAccessDenied (logged) unless the caller may perform `action` on bucket/key.
Status Require(Ctx& ctx, std::string_view action, const std::string& bucket, const std::string& key);

// Whether the caller may perform `action` on `bucket` (and `key`, for object actions).
// For checks inside an operation: DeleteObjects per key, ListBuckets per bucket.
bool IsAllowed(Ctx& ctx, std::string_view action, const std::string& bucket,
               const std::string& key);

}  // namespace sluice::s3
