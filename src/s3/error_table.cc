#include "s3/error_table.h"

#include "s3/xml.h"

namespace sluice::s3 {

const S3Error& LookupError(Err e) {
  switch (e) {
#define E(err, status, code, msg)              \
  case Err::err: {                             \
    static const S3Error v{status, code, msg}; \
    return v;                                  \
  }
    E(kOk, 200, "OK", "")
    E(kNoSuchBucket, 404, "NoSuchBucket", "The specified bucket does not exist")
    E(kBucketAlreadyOwnedByYou, 409, "BucketAlreadyOwnedByYou",
      "Your previous request to create the named bucket succeeded and you already own it.")
    E(kBucketAlreadyExists, 409, "BucketAlreadyExists",
      "The requested bucket name is not available.")
    E(kBucketNotEmpty, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
    E(kInvalidBucketName, 400, "InvalidBucketName", "The specified bucket is not valid.")
    E(kNoSuchKey, 404, "NoSuchKey", "The specified key does not exist.")
    E(kNoSuchVersion, 404, "NoSuchVersion", "The specified version does not exist.")
    E(kObjectLocked, 403, "AccessDenied", "Access Denied because object protected by object lock.")
    E(kVersionHeld, 403, "AccessDenied", "Access Denied: a snapshot holds this version.")
    E(kReadOnlySnapshot, 403, "AccessDenied", "Access Denied: the bucket is a read-only snapshot.")
    E(kInvalidBucketState, 409, "InvalidBucketState",
      "The request is not valid with the current state of the bucket.")
    E(kNoSuchObjectLockConfiguration, 404, "NoSuchObjectLockConfiguration",
      "The specified object does not have a ObjectLock configuration")
    E(kKeyTooLong, 400, "KeyTooLongError", "Your key is too long")
    E(kInvalidObjectKey, 400, "InvalidArgument", "Object keys must be valid UTF-8 without NUL")
    E(kInvalidRange, 416, "InvalidRange", "The requested range is not satisfiable")
    E(kInvalidPartNumber, 416, "InvalidPartNumber", "The requested partnumber is not satisfiable")
    E(kEntityTooLarge, 400, "EntityTooLarge",
      "Your proposed upload exceeds the maximum allowed object size.")
    E(kEntityTooSmall, 400, "EntityTooSmall",
      "Your proposed upload is smaller than the minimum allowed object size.")
    E(kMetadataTooLarge, 400, "MetadataTooLarge",
      "Your metadata headers exceed the maximum allowed metadata size.")
    E(kInvalidTag, 400, "InvalidTag", "The tag provided was not a valid tag.")
    E(kPreconditionFailed, 412, "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold")
    E(kNotModified, 304, "NotModified", "Not Modified")
    E(kInvalidWriteOffset, 400, "InvalidWriteOffset",
      "The write offset value that you specified does not match the current object size.")
    E(kConditionalRequestConflict, 409, "ConditionalRequestConflict",
      "A conflicting operation occurred. If using PutObject you can retry the request.")
    E(kNoSuchUpload, 404, "NoSuchUpload",
      "The specified multipart upload does not exist. The upload ID might not be valid, or the "
      "multipart upload might have been aborted or completed.")
    E(kNoSuchLifecycleConfiguration, 404, "NoSuchLifecycleConfiguration",
      "The lifecycle configuration does not exist")
    E(kNoSuchBucketPolicy, 404, "NoSuchBucketPolicy", "The bucket policy does not exist")
    E(kNoSuchCORSConfiguration, 404, "NoSuchCORSConfiguration",
      "The CORS configuration does not exist")
    E(kCorsForbidden, 403, "AccessForbidden",
      "CORSResponse: This CORS request is not allowed. This is usually because the evaluation "
      "of Origin, request method / Access-Control-Request-Method or "
      "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
    E(kNoSuchTagSet, 404, "NoSuchTagSet", "The TagSet does not exist")
    E(kNoSuchWebsiteConfiguration, 404, "NoSuchWebsiteConfiguration",
      "The specified bucket does not have a website configuration")
    E(kServerSideEncryptionConfigurationNotFound, 404,
      "ServerSideEncryptionConfigurationNotFoundError",
      "The server side encryption configuration was not found")
    E(kReplicationConfigurationNotFound, 404, "ReplicationConfigurationNotFoundError",
      "The replication configuration was not found")
    E(kObjectLockConfigurationNotFound, 404, "ObjectLockConfigurationNotFoundError",
      "Object Lock configuration does not exist for this bucket")
    E(kOwnershipControlsNotFound, 404, "OwnershipControlsNotFoundError",
      "The bucket ownership controls were not found")
    E(kNoSuchPublicAccessBlockConfiguration, 404, "NoSuchPublicAccessBlockConfiguration",
      "The public access block configuration was not found")
    E(kInvalidPart, 400, "InvalidPart",
      "One or more of the specified parts could not be found. The part might not have been "
      "uploaded, or the specified entity tag might not have matched the part's entity tag.")
    E(kInvalidPartOrder, 400, "InvalidPartOrder",
      "The list of parts was not in ascending order. The parts list must be specified in order "
      "by part number.")
    E(kInvalidArgument, 400, "InvalidArgument", "Invalid Argument")
    E(kAccessControlListNotSupported, 400, "AccessControlListNotSupported",
      "The bucket does not allow ACLs")
    E(kInvalidBucketAclWithObjectOwnership, 400, "InvalidBucketAclWithObjectOwnership",
      "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    E(kUnresolvableGrantByEmailAddress, 400, "UnresolvableGrantByEmailAddress",
      "The email address you provided does not match any account on record.")
    E(kInvalidRequest, 400, "InvalidRequest", "Invalid Request")
    E(kMalformedXML, 400, "MalformedXML",
      "The XML you provided was not well-formed or did not validate against our published "
      "schema.")
    E(kMissingContentLength, 411, "MissingContentLength",
      "You must provide the Content-Length HTTP header.")
    E(kIncompleteBody, 400, "IncompleteBody",
      "You did not provide the number of bytes specified by the Content-Length HTTP header.")
    E(kRequestHeaderSectionTooLarge, 400, "RequestHeaderSectionTooLarge",
      "Your request header section exceeds the maximum allowed size.")
    E(kBadRequest, 400, "BadRequest", "The request could not be parsed.")
    E(kInvalidURI, 400, "InvalidURI", "Couldn't parse the specified URI.")
    E(kMethodNotAllowed, 405, "MethodNotAllowed",
      "The specified method is not allowed against this resource.")
    E(kNotImplemented, 501, "NotImplemented",
      "A header or query you provided implies functionality that is not implemented.")
    E(kRequestTimeout, 400, "RequestTimeout",
      "Your socket connection to the server was not read from or written to within the "
      "timeout period.")
    E(kBadDigest, 400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    E(kInvalidDigest, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    E(kContentSha256Mismatch, 400, "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.")
    E(kAccessDenied, 403, "AccessDenied", "Access Denied")
    E(kSignatureDoesNotMatch, 403, "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided.")
    E(kInvalidPolicyDocument, 400, "InvalidPolicyDocument",
      "The content of the form does not meet the conditions specified in the policy document.")
    E(kMalformedPOSTRequest, 400, "MalformedPOSTRequest",
      "The body of your POST request is not well-formed multipart/form-data.")
    E(kMaxPostPreDataLengthExceeded, 400, "MaxPostPreDataLengthExceeded",
      "Your POST request fields preceding the upload file were too large.")
    E(kIncorrectNumberOfFilesInPostRequest, 400, "IncorrectNumberOfFilesInPostRequest",
      "POST requires exactly one file upload per request.")
    E(kInvalidAccessKeyId, 403, "InvalidAccessKeyId",
      "The AWS Access Key Id you provided does not exist in our records.")
    E(kAuthorizationHeaderMalformed, 400, "AuthorizationHeaderMalformed",
      "The authorization header you provided is invalid.")
    E(kAuthorizationQueryParametersError, 400, "AuthorizationQueryParametersError",
      "Error parsing the X-Amz-Credential parameter.")
    E(kRequestTimeTooSkewed, 403, "RequestTimeTooSkewed",
      "The difference between the request time and the current time is too large.")
    E(kExpiredPresignedRequest, 403, "AccessDenied", "Request has expired")
    E(kInvalidToken, 400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    E(kExpiredToken, 400, "ExpiredToken", "The provided token has expired.")
    E(kMalformedPolicy, 400, "MalformedPolicy", "Policies must be valid JSON.")
    E(kNoSuchUser, 404, "NoSuchEntity", "The user does not exist.")
    E(kNoSuchPolicy, 404, "NoSuchEntity", "The policy does not exist.")
    E(kUserAlreadyExists, 409, "EntityAlreadyExists", "The user already exists.")
    E(kPolicyInUse, 409, "DeleteConflict", "The policy is attached to users; detach it first.")
    E(kNotFound, 404, "NoSuchKey", "Not found")
    E(kAlreadyExists, 409, "OperationAborted", "A conflicting operation is in progress.")
    E(kIoError, 500, "InternalError", "We encountered an internal error. Please try again.")
    E(kNoSpace, 507, "InsufficientStorage", "The server has no space left to store the object.")
    E(kCorruption, 500, "InternalError", "We encountered an internal error. Please try again.")
    E(kSlowDown, 503, "SlowDown", "Please reduce your request rate.")
    E(kServiceUnavailable, 503, "ServiceUnavailable", "Please reduce your request rate.")
    E(kInternal, 500, "InternalError", "We encountered an internal error. Please try again.")
#undef E
  }
  static const S3Error unknown{500, "InternalError", "We encountered an internal error."};
  return unknown;
}

Err AnswerCode(const Status& st) {
  if (st.retryable() && LookupError(st.code()).http_status == 500) return Err::kSlowDown;
  return st.code();
}

std::string RenderErrorXml(Err e, std::string_view message, std::string_view resource,
                           std::string_view request_id,
                           const std::vector<std::pair<std::string, std::string>>& extra) {
  const S3Error& info = LookupError(e);
  XmlDoc doc("Error", /*with_namespace=*/false);
  doc.root().Add("Code", info.code);
  doc.root().Add("Message", message.empty() ? info.message : message);
  for (const auto& [k, v] : extra) doc.root().Add(k, v);
  doc.root().Add("Resource", resource);
  doc.root().Add("RequestId", request_id);
  return doc.Render();
}

}  // namespace sluice::s3
