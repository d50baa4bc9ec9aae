// The one list of domain errors. Each layer returns these as values (see status.h);
// s3/error_table.cc is the single place that maps them to an HTTP status and S3 Code.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

#define SLUICE_ERROR_LIST(X)                    \
  X(kOk)                                        \
  /* buckets */                                 \
  X(kNoSuchBucket)                              \
  X(kBucketAlreadyOwnedByYou)                   \
  X(kBucketAlreadyExists)                       \
  X(kBucketNotEmpty)                            \
  X(kInvalidBucketName)                         \
  /* objects and keys */                        \
  X(kNoSuchKey)                                 \
  X(kNoSuchVersion)                             \
  X(kObjectLocked)                              \
  X(kVersionHeld)                               \
  X(kReadOnlySnapshot)                          \
  X(kInvalidBucketState)                        \
  X(kNoSuchObjectLockConfiguration)             \
  X(kKeyTooLong)                                \
  X(kInvalidObjectKey)                          \
  X(kInvalidRange)                              \
  X(kInvalidPartNumber)                         \
  X(kEntityTooLarge)                            \
  X(kEntityTooSmall)                            \
  X(kMetadataTooLarge)                          \
  X(kInvalidTag)                                \
  X(kPreconditionFailed)                        \
  X(kNotModified)                               \
  X(kInvalidWriteOffset)                        \
  X(kConditionalRequestConflict)                \
  /* multipart */                               \
  X(kNoSuchUpload)                              \
  /* bucket configurations never set */         \
  X(kNoSuchLifecycleConfiguration)              \
  X(kNoSuchBucketPolicy)                        \
  X(kNoSuchCORSConfiguration)                   \
  X(kCorsForbidden)                             \
  X(kNoSuchTagSet)                              \
  X(kNoSuchWebsiteConfiguration)                \
  X(kServerSideEncryptionConfigurationNotFound) \
  X(kReplicationConfigurationNotFound)          \
  X(kObjectLockConfigurationNotFound)           \
  X(kOwnershipControlsNotFound)                 \
  X(kNoSuchPublicAccessBlockConfiguration)      \
  X(kInvalidPart)                               \
  X(kInvalidPartOrder)                          \
  /* request shape */                           \
  X(kInvalidArgument)                           \
  X(kUnresolvableGrantByEmailAddress)           \
  X(kAccessControlListNotSupported)             \
  X(kInvalidBucketAclWithObjectOwnership)       \
  X(kInvalidRequest)                            \
  X(kMalformedXML)                              \
  X(kMissingContentLength)                      \
  X(kIncompleteBody)                            \
  X(kRequestHeaderSectionTooLarge)              \
  X(kBadRequest)                                \
  X(kInvalidURI)                                \
  X(kMethodNotAllowed)                          \
  X(kNotImplemented)                            \
  X(kRequestTimeout)                            \
  /* integrity */                               \
  X(kBadDigest)                                 \
  X(kInvalidDigest)                             \
  X(kContentSha256Mismatch)                     \
  /* authentication */                          \
  X(kAccessDenied)                              \
  X(kSignatureDoesNotMatch)                     \
  X(kInvalidPolicyDocument)                     \
  X(kMalformedPOSTRequest)                      \
  X(kMaxPostPreDataLengthExceeded)              \
  X(kIncorrectNumberOfFilesInPostRequest)       \
  X(kInvalidAccessKeyId)                        \
  X(kAuthorizationHeaderMalformed)              \
  X(kAuthorizationQueryParametersError)         \
  X(kRequestTimeTooSkewed)                      \
  X(kExpiredPresignedRequest)                   \
  X(kInvalidToken)                              \
  X(kExpiredToken)                              \
  /* access control */                          \
  X(kMalformedPolicy)                           \
  X(kNoSuchUser)                                \
  X(kNoSuchPolicy)                              \
  X(kUserAlreadyExists)                         \
  X(kPolicyInUse)                               \
  /* storage and internal */                    \
  X(kNotFound)                                  \
  X(kAlreadyExists)                             \
  X(kIoError)                                   \
  X(kNoSpace)                                   \
  X(kCorruption)                                \
  X(kSlowDown)                                  \
  X(kServiceUnavailable)                        \
  X(kInternal)

enum class Err : uint16_t {
#define SLUICE_ERR_ENUM(name) name,
  SLUICE_ERROR_LIST(SLUICE_ERR_ENUM)
#undef SLUICE_ERR_ENUM
};

// The enumerator's name, for logs and tests ("kNoSuchKey").
std::string_view ErrName(Err e);

}  // namespace sluice
