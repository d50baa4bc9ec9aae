// AWS Signature Version 2 verification (HMAC-SHA1), header ("AWS AK:sig") and query
// (AWSAccessKeyId, Expires, Signature) forms. Deprecated by AWS, but still what
// boto3/botocore before 1.36 use for generate_presigned_url by default, and what older
// tools send; users expect those URLs to work. New code should sign with SigV4.
#pragma once

#include "auth/sigv4.h"

namespace sluice::auth {

class SigV2Verifier {
 public:
  SigV2Verifier(const CredentialStore* creds, const io::Clock* clock)
      : creds_(creds), clock_(clock) {}
  static bool HasAuth(const RequestView& r);
  // `resource_bucket` is the bucket named by the Host header in virtual-hosted-style
  // requests ("" for path-style); SigV2 signs "/bucket" + path in that case.
  Result<AuthResult> Verify(const RequestView& r, std::string_view resource_bucket,
                            AuthFailureDetails* details) const;

 private:
  const CredentialStore* creds_;
  const io::Clock* clock_;
};

// The StringToSign, exposed for tests.
std::string SigV2StringToSign(const RequestView& r, std::string_view date_or_expires,
                              std::string_view resource_bucket);

}  // namespace sluice::auth
