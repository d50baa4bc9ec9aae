// Maps method + host/path + query to one S3 operation and its bucket and key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/names.h"
#include "common/status.h"
#include "s3/query.h"

namespace sluice::s3 {

enum class Op {
  kListBuckets,
  kCreateBucket,
  kHeadBucket,
  kDeleteBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kPutBucketVersioning,
  kListObjects,
  kListObjectsV2,
  kListMultipartUploads,
  kDeleteObjects,
  kBatchGet,  // sluice's own: POST /bucket?batch-get (ops/batch_get.cc)
  kPutObject,
  kCopyObject,
  kGetObject,
  kHeadObject,
  kGetObjectMember,    // sluice's own: GET|HEAD /bucket/shard.tar?member=NAME (ops/members.cc)
  kListObjectMembers,  // sluice's own: GET /bucket/shard.tar?members
  kGetBucketUsage,     // sluice's own: GET /bucket?usage (ops/bucket.cc)
  kDeleteObject,
  kCreateMultipartUpload,
  kUploadPart,
  kUploadPartCopy,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kPutObjectTagging,
  kGetObjectTagging,
  kDeleteObjectTagging,
  kGetBucketSubresource,     // a bucket configuration that is never set (route.subresource)
  kDeleteBucketSubresource,  // deleting one: nothing to delete
  kGetBucketAcl,
  kPutBucketAcl,
  kGetObjectAcl,
  kPutObjectAcl,
  kListObjectVersions,
  kPutBucketCors,
  kGetBucketCors,
  kDeleteBucketCors,
  kPutBucketEncryption,
  kGetBucketEncryption,
  kDeleteBucketEncryption,
  kPreflight,  // OPTIONS: a CORS preflight
  kGetObjectAttributes,
  kPutObjectLockConfiguration,
  kGetObjectLockConfiguration,
  kPutObjectRetention,
  kGetObjectRetention,
  kPutObjectLegalHold,
  kGetObjectLegalHold,
  kPutBucketReplication,
  kGetBucketReplication,
  kDeleteBucketReplication,
  kPutBucketLifecycle,
  kGetBucketLifecycle,
  kDeleteBucketLifecycle,
  kPostObject,  // a browser form upload; authenticated by its signed policy
  kPutBucketPolicy,
  kGetBucketPolicy,
  kDeleteBucketPolicy,
  kGetBucketPolicyStatus,
  kPutPublicAccessBlock,
  kGetPublicAccessBlock,
  kDeletePublicAccessBlock,
  kPutBucketOwnershipControls,
  kGetBucketOwnershipControls,
  kDeleteBucketOwnershipControls,
};

inline constexpr size_t kOpCount = static_cast<size_t>(Op::kDeleteBucketOwnershipControls) + 1;

std::string_view OpName(Op op);

struct Route {
  Op op{};
  std::string bucket;
  std::string key;
  bool virtual_host = false;  // the bucket came from the Host header
  std::string subresource;    // for k*BucketSubresource
};

// Routes a request. kNotImplemented for a known S3 feature this server lacks,
// kMethodNotAllowed for a method that makes no sense on the resource, kInvalidURI for a
// path that does not decode.
Result<Route> RouteRequest(std::string_view method, std::string_view host,
                           std::string_view raw_path, const Query& q,
                           const std::vector<std::string>& domains, bool has_copy_source);

// Whether an operation acts on one version named by ?versionId=.
bool TakesVersionId(Op op);

}  // namespace sluice::s3
