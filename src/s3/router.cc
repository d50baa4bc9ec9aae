#include "s3/router.h"

#include "common/strings.h"

namespace sluice::s3 {
namespace {

// Subresources of real S3 that this server does not implement yet: they get 501
// NotImplemented rather than being mistaken for a plain GET or PUT.
// Bucket configurations this server never holds yet: GET answers as S3 does for a bucket
// without one (ops/bucket_config.cc), DELETE has nothing to delete, PUT is 501.
constexpr std::string_view kBucketConfigs[] = {"website",        "logging",    "notification",
                                               "requestPayment", "accelerate", "tagging"};

// Subresources of real S3 that this server does not implement yet: they get 501
// NotImplemented rather than being mistaken for a plain GET or PUT.
constexpr std::string_view kUnsupported[] = {
    "torrent", "analytics", "inventory", "metrics", "intelligent-tiering",
    "restore", "select",    "session"};

Status NotImplemented(std::string_view what) {
  return Error(Err::kNotImplemented, std::string(what) + " is not implemented yet");
}

}  // namespace

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kListBuckets:
      return "ListBuckets";
    case Op::kCreateBucket:
      return "CreateBucket";
    case Op::kHeadBucket:
      return "HeadBucket";
    case Op::kDeleteBucket:
      return "DeleteBucket";
    case Op::kGetBucketLocation:
      return "GetBucketLocation";
    case Op::kGetBucketVersioning:
      return "GetBucketVersioning";
    case Op::kPutBucketVersioning:
      return "PutBucketVersioning";
    case Op::kListObjects:
      return "ListObjects";
    case Op::kListObjectsV2:
      return "ListObjectsV2";
    case Op::kListMultipartUploads:
      return "ListMultipartUploads";
    case Op::kDeleteObjects:
      return "DeleteObjects";
    case Op::kBatchGet:
      return "BatchGet";
    case Op::kPutObject:
      return "PutObject";
    case Op::kCopyObject:
      return "CopyObject";
    case Op::kGetObject:
      return "GetObject";
    case Op::kHeadObject:
      return "HeadObject";
    case Op::kGetObjectMember:
      return "GetObjectMember";
    case Op::kListObjectMembers:
      return "ListObjectMembers";
    case Op::kGetBucketUsage:
      return "GetBucketUsage";
    case Op::kDeleteObject:
      return "DeleteObject";
    case Op::kCreateMultipartUpload:
      return "CreateMultipartUpload";
    case Op::kUploadPart:
      return "UploadPart";
    case Op::kUploadPartCopy:
      return "UploadPartCopy";
    case Op::kCompleteMultipartUpload:
      return "CompleteMultipartUpload";
    case Op::kAbortMultipartUpload:
      return "AbortMultipartUpload";
    case Op::kListParts:
      return "ListParts";
    case Op::kPutObjectTagging:
      return "PutObjectTagging";
    case Op::kGetObjectTagging:
      return "GetObjectTagging";
    case Op::kDeleteObjectTagging:
      return "DeleteObjectTagging";
    case Op::kGetBucketSubresource:
      return "GetBucketConfiguration";
    case Op::kDeleteBucketSubresource:
      return "DeleteBucketConfiguration";
    case Op::kGetBucketAcl:
      return "GetBucketAcl";
    case Op::kPutBucketAcl:
      return "PutBucketAcl";
    case Op::kGetObjectAcl:
      return "GetObjectAcl";
    case Op::kPutObjectAcl:
      return "PutObjectAcl";
    case Op::kListObjectVersions:
      return "ListObjectVersions";
    case Op::kPutBucketCors:
      return "PutBucketCors";
    case Op::kGetBucketCors:
      return "GetBucketCors";
    case Op::kDeleteBucketCors:
      return "DeleteBucketCors";
    case Op::kPutBucketEncryption:
      return "PutBucketEncryption";
    case Op::kGetBucketEncryption:
      return "GetBucketEncryption";
    case Op::kDeleteBucketEncryption:
      return "DeleteBucketEncryption";
    case Op::kPreflight:
      return "PreflightCors";
    case Op::kGetObjectAttributes:
      return "GetObjectAttributes";
    case Op::kPutObjectLockConfiguration:
      return "PutObjectLockConfiguration";
    case Op::kGetObjectLockConfiguration:
      return "GetObjectLockConfiguration";
    case Op::kPutObjectRetention:
      return "PutObjectRetention";
    case Op::kGetObjectRetention:
      return "GetObjectRetention";
    case Op::kPutObjectLegalHold:
      return "PutObjectLegalHold";
    case Op::kGetObjectLegalHold:
      return "GetObjectLegalHold";
    case Op::kPutBucketReplication:
      return "PutBucketReplication";
    case Op::kGetBucketReplication:
      return "GetBucketReplication";
    case Op::kDeleteBucketReplication:
      return "DeleteBucketReplication";
    case Op::kPutBucketLifecycle:
      return "PutBucketLifecycleConfiguration";
    case Op::kGetBucketLifecycle:
      return "GetBucketLifecycleConfiguration";
    case Op::kDeleteBucketLifecycle:
      return "DeleteBucketLifecycle";
    case Op::kPostObject:
      return "PostObject";
    case Op::kPutBucketPolicy:
      return "PutBucketPolicy";
    case Op::kGetBucketPolicy:
      return "GetBucketPolicy";
    case Op::kDeleteBucketPolicy:
      return "DeleteBucketPolicy";
    case Op::kGetBucketPolicyStatus:
      return "GetBucketPolicyStatus";
    case Op::kPutPublicAccessBlock:
      return "PutPublicAccessBlock";
    case Op::kGetPublicAccessBlock:
      return "GetPublicAccessBlock";
    case Op::kDeletePublicAccessBlock:
      return "DeletePublicAccessBlock";
    case Op::kPutBucketOwnershipControls:
      return "PutBucketOwnershipControls";
    case Op::kGetBucketOwnershipControls:
      return "GetBucketOwnershipControls";
    case Op::kDeleteBucketOwnershipControls:
      return "DeleteBucketOwnershipControls";
  }
  return "Unknown";
}

namespace {
Result<Route> RouteByShape(std::string_view method, std::string_view host,
                           std::string_view raw_path, const Query& q,
                           const std::vector<std::string>& domains, bool has_copy_source) {
  auto path = UriDecode(raw_path);
  if (!path || path->empty() || (*path)[0] != '/')
    return Error(Err::kInvalidURI, "Couldn't parse the specified URI.");
  Route r;
  // Virtual-hosted style: "<bucket>.<domain>[:port]".
  std::string_view h = host;
  if (size_t colon = h.rfind(':');
      colon != std::string_view::npos && h.find(']') == std::string_view::npos)
    h = h.substr(0, colon);
  bool vhost = false;
  for (const auto& d : domains) {
    if (h.size() > d.size() + 1 && EqualsIgnoreCase(h.substr(h.size() - d.size()), d) &&
        h[h.size() - d.size() - 1] == '.') {
      r.bucket = ToLower(h.substr(0, h.size() - d.size() - 1));
      r.key = path->substr(1);
      r.virtual_host = vhost = true;
      break;
    }
  }
  if (!vhost) {
    std::string_view p = std::string_view(*path).substr(1);
    size_t slash = p.find('/');
    r.bucket = std::string(p.substr(0, slash));
    if (slash != std::string_view::npos) r.key = std::string(p.substr(slash + 1));
  }
  for (auto sub : kUnsupported)
    if (q.Has(sub)) return NotImplemented("the '" + std::string(sub) + "' subresource");

  const bool has_bucket = !r.bucket.empty();
  const bool has_key = !r.key.empty();
  auto deny = [&] {
    return Error(Err::kMethodNotAllowed,
                 "The specified method is not allowed against this resource.");
  };
  if (method == "OPTIONS") {
    if (!has_bucket) return deny();
    r.op = Op::kPreflight;
    return r;
  }
  if (!has_bucket) {
    if (method == "GET") {
      r.op = Op::kListBuckets;
      return r;
    }
    return deny();
  }
  if (!has_key) {
    if (q.Has("acl")) {
      if (method == "GET")
        r.op = Op::kGetBucketAcl;
      else if (method == "PUT")
        r.op = Op::kPutBucketAcl;
      else
        return deny();
      return r;
    }
    if (q.Has("policy")) {
      if (method == "GET")
        r.op = Op::kGetBucketPolicy;
      else if (method == "PUT")
        r.op = Op::kPutBucketPolicy;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketPolicy;
      else
        return deny();
      return r;
    }
    if (q.Has("policyStatus")) {
      if (method == "GET")
        r.op = Op::kGetBucketPolicyStatus;
      else
        return deny();
      return r;
    }
    if (q.Has("publicAccessBlock")) {
      if (method == "GET")
        r.op = Op::kGetPublicAccessBlock;
      else if (method == "PUT")
        r.op = Op::kPutPublicAccessBlock;
      else if (method == "DELETE")
        r.op = Op::kDeletePublicAccessBlock;
      else
        return deny();
      return r;
    }
    if (q.Has("ownershipControls")) {
      if (method == "GET")
        r.op = Op::kGetBucketOwnershipControls;
      else if (method == "PUT")
        r.op = Op::kPutBucketOwnershipControls;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketOwnershipControls;
      else
        return deny();
      return r;
    }
    if (q.Has("lifecycle")) {
      if (method == "GET")
        r.op = Op::kGetBucketLifecycle;
      else if (method == "PUT")
        r.op = Op::kPutBucketLifecycle;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketLifecycle;
      else
        return deny();
      return r;
    }
    if (q.Has("replication")) {
      if (method == "GET")
        r.op = Op::kGetBucketReplication;
      else if (method == "PUT")
        r.op = Op::kPutBucketReplication;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketReplication;
      else
        return deny();
      return r;
    }
    if (q.Has("object-lock")) {
      if (method == "GET")
        r.op = Op::kGetObjectLockConfiguration;
      else if (method == "PUT")
        r.op = Op::kPutObjectLockConfiguration;
      else
        return deny();
      return r;
    }
    if (q.Has("cors")) {
      if (method == "GET")
        r.op = Op::kGetBucketCors;
      else if (method == "PUT")
        r.op = Op::kPutBucketCors;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketCors;
      else
        return deny();
      return r;
    }
    if (q.Has("encryption")) {
      if (method == "GET")
        r.op = Op::kGetBucketEncryption;
      else if (method == "PUT")
        r.op = Op::kPutBucketEncryption;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketEncryption;
      else
        return deny();
      return r;
    }
    if (q.Has("usage")) {  // sluice's own: what the bucket holds (docs/metrics.md)
      if (method == "GET")
        r.op = Op::kGetBucketUsage;
      else
        return deny();
      return r;
    }
    for (auto sub : kBucketConfigs) {
      if (!q.Has(sub)) continue;
      r.subresource = std::string(sub);
      if (method == "GET")
        r.op = Op::kGetBucketSubresource;
      else if (method == "DELETE")
        r.op = Op::kDeleteBucketSubresource;
      else if (method == "PUT")
        return NotImplemented("setting the bucket's " + std::string(sub) + " configuration");
      else
        return deny();
      return r;
    }
    if (method == "GET") {
      if (q.Has("location"))
        r.op = Op::kGetBucketLocation;
      else if (q.Has("versioning"))
        r.op = Op::kGetBucketVersioning;
      else if (q.Has("uploads"))
        r.op = Op::kListMultipartUploads;
      else if (q.Has("versions"))
        r.op = Op::kListObjectVersions;
      else if (q.Get("list-type") == "2")
        r.op = Op::kListObjectsV2;
      else
        r.op = Op::kListObjects;
    } else if (method == "PUT") {
      r.op = q.Has("versioning") ? Op::kPutBucketVersioning : Op::kCreateBucket;
    } else if (method == "HEAD") {
      r.op = Op::kHeadBucket;
    } else if (method == "DELETE") {
      r.op = Op::kDeleteBucket;
    } else if (method == "POST" && q.Has("delete")) {
      r.op = Op::kDeleteObjects;
    } else if (method == "POST" && q.Has("batch-get")) {
      r.op = Op::kBatchGet;
    } else if (method == "POST") {
      r.op = Op::kPostObject;
    } else {
      return deny();
    }
    return r;
  }
  const bool upload_id = q.Has("uploadId");
  if (q.Has("retention")) {
    if (method == "GET")
      r.op = Op::kGetObjectRetention;
    else if (method == "PUT")
      r.op = Op::kPutObjectRetention;
    else
      return deny();
    return r;
  }
  if (q.Has("legal-hold")) {
    if (method == "GET")
      r.op = Op::kGetObjectLegalHold;
    else if (method == "PUT")
      r.op = Op::kPutObjectLegalHold;
    else
      return deny();
    return r;
  }
  if (q.Has("acl")) {
    if (method == "GET")
      r.op = Op::kGetObjectAcl;
    else if (method == "PUT")
      r.op = Op::kPutObjectAcl;
    else
      return deny();
    return r;
  }
  if (method == "GET") {
    r.op = q.Has("tagging")      ? Op::kGetObjectTagging
           : q.Has("attributes") ? Op::kGetObjectAttributes
           : upload_id           ? Op::kListParts
           : q.Has("member")     ? Op::kGetObjectMember
           : q.Has("members")    ? Op::kListObjectMembers
                                 : Op::kGetObject;
  } else if (method == "HEAD") {
    r.op = q.Has("member") ? Op::kGetObjectMember : Op::kHeadObject;
  } else if (method == "PUT") {
    if (q.Has("tagging"))
      r.op = Op::kPutObjectTagging;
    else if (q.Has("partNumber") && upload_id)
      r.op = has_copy_source ? Op::kUploadPartCopy : Op::kUploadPart;
    else if (upload_id || q.Has("partNumber"))
      return Error(Err::kInvalidRequest, "UploadPart needs both partNumber and uploadId");
    else
      r.op = has_copy_source ? Op::kCopyObject : Op::kPutObject;
  } else if (method == "DELETE") {
    r.op = q.Has("tagging") ? Op::kDeleteObjectTagging
           : upload_id      ? Op::kAbortMultipartUpload
                            : Op::kDeleteObject;
  } else if (method == "POST") {
    if (q.Has("uploads"))
      r.op = Op::kCreateMultipartUpload;
    else if (upload_id)
      r.op = Op::kCompleteMultipartUpload;
    else
      return NotImplemented("this POST operation");
  } else {
    return deny();
  }
  return r;
}

}  // namespace

// Operations on one version of an object take ?versionId=; any other operation refuses it
// rather than acting on the latest version by mistake.
bool TakesVersionId(Op op) {
  switch (op) {
    case Op::kGetObject:
    case Op::kHeadObject:
    case Op::kGetObjectMember:
    case Op::kListObjectMembers:
    case Op::kDeleteObject:
    case Op::kGetObjectTagging:
    case Op::kPutObjectTagging:
    case Op::kDeleteObjectTagging:
    case Op::kGetObjectAcl:
    case Op::kPutObjectAcl:
    case Op::kGetObjectAttributes:
    case Op::kPutObjectRetention:
    case Op::kGetObjectRetention:
    case Op::kPutObjectLegalHold:
    case Op::kGetObjectLegalHold:
      return true;
    default:
      return false;
  }
}

Result<Route> RouteRequest(std::string_view method, std::string_view host,
                           std::string_view raw_path, const Query& q,
                           const std::vector<std::string>& domains, bool has_copy_source) {
  SLUICE_ASSIGN_OR_RETURN(Route r,
                          RouteByShape(method, host, raw_path, q, domains, has_copy_source));
  if (q.Has("versionId") && !TakesVersionId(r.op))
    return Error(Err::kInvalidArgument,
                 "versionId is not accepted by " + std::string(OpName(r.op)));
  return r;
}

}  // namespace sluice::s3
