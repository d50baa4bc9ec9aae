// Browser form uploads (S3 POST Object): the signed policy document and the form fields it
// constrains. The signature covers the base64 policy itself: SigV4 (x-amz-algorithm,
// x-amz-credential, x-amz-date, x-amz-signature) or SigV2 (AWSAccessKeyId, Signature).
// Pure functions of the fields; the form is read by s3/ops/post_object.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/credentials.h"
#include "common/status.h"
#include "io/env.h"

namespace sluice::auth {

// Form fields by lowercased name (S3 matches field names case-insensitively), without
// the file.
using FormFields = std::map<std::string, std::string>;

struct PostCondition {
  enum Kind { kEq, kStartsWith, kLengthRange } kind;
  std::string field;  // lowercased, without '$'
  std::string value;
  uint64_t min = 0, max = 0;  // kLengthRange
  std::string text;           // as written, for error messages
};

struct PostPolicy {
  int64_t expiration_micros = 0;
  std::vector<PostCondition> conditions;
};

// Decodes and parses the base64 JSON policy: kInvalidPolicyDocument when malformed.
Result<PostPolicy> ParsePostPolicy(std::string_view policy_b64);

// Who signed the form: kAccessDenied when unsigned (anonymous uploads need a bucket
// policy, which does not exist yet), kInvalidAccessKeyId, kSignatureDoesNotMatch,
// kInvalidArgument for a malformed credential or date.
Result<Credential> VerifyPostSignature(const FormFields& fields, const CredentialStore* creds);

// The policy holds for this form and bucket at `now`: not expired, every condition met,
// and every field covered by a condition (kAccessDenied with S3's "Invalid according to
// Policy" messages otherwise). The content-length-range, if any, is returned for the
// file, whose size is known only after reading it.
Result<std::optional<std::pair<uint64_t, uint64_t>>> CheckPostPolicy(const PostPolicy& policy,
                                                                     const FormFields& fields,
                                                                     std::string_view bucket,
                                                                     int64_t now_micros);

}  // namespace sluice::auth
