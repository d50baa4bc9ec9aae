#include "s3/unsupported.h"

#include <cctype>

#include "common/checksum.h"
#include "common/strings.h"

namespace sluice::s3 {
namespace {

Status Refuse(std::string_view name, std::string_view why) {
  return Error(Err::kNotImplemented,
               "the " + std::string(name) + " header asks for " + std::string(why) +
                   ", which this server does not implement yet; the request was not carried out");
}

// Headers that ask for a feature sluice lacks, whatever the operation. A header whose
// value can ask for nothing (e.g. "false") is checked below instead.
struct Unsupported {
  std::string_view name;
  std::string_view feature;
};
constexpr Unsupported kAlways[] = {
    {"x-amz-server-side-encryption", "server-side encryption"},
    {"x-amz-server-side-encryption-aws-kms-key-id", "SSE-KMS encryption"},
    {"x-amz-server-side-encryption-context", "SSE-KMS encryption"},
    {"x-amz-server-side-encryption-customer-algorithm", "SSE-C encryption"},
    {"x-amz-server-side-encryption-customer-key", "SSE-C encryption"},
    {"x-amz-server-side-encryption-customer-key-md5", "SSE-C encryption"},
    {"x-amz-copy-source-server-side-encryption-customer-algorithm", "SSE-C encryption"},
    {"x-amz-copy-source-server-side-encryption-customer-key", "SSE-C encryption"},
    {"x-amz-copy-source-server-side-encryption-customer-key-md5", "SSE-C encryption"},
    {"x-amz-website-redirect-location", "static website redirects"},
    {"x-amz-mfa", "MFA delete"},
    {"x-amz-bucket-object-lock-token", "Object Lock tokens (for replication)"},
    {"x-amz-if-match-last-modified-time", "a conditional delete (S3 Express)"},
    {"x-amz-if-match-size", "a conditional delete (S3 Express)"},
    {"x-amz-if-match-initiated-time", "a conditional abort (S3 Express)"},
    {"x-amz-rename-source", "RenameObject (S3 Express)"},
};

bool IsCustomerField(std::string_view rest) {  // after "x-amz-"
  return EqualsIgnoreCase(rest, "server-side-encryption-customer-algorithm") ||
         EqualsIgnoreCase(rest, "server-side-encryption-customer-key") ||
         EqualsIgnoreCase(rest, "server-side-encryption-customer-key-md5");
}

bool TakesSse(std::string_view name, SseFields sse) {
  std::string_view rest = name.substr(6);
  const bool copies = sse == SseFields::kCopy || sse == SseFields::kPartCopy;
  if (copies && StartsWithIgnoreCase(rest, "copy-source-")) return IsCustomerField(rest.substr(12));
  if (IsCustomerField(rest)) return true;
  return (sse == SseFields::kWrite || sse == SseFields::kCopy) &&
         EqualsIgnoreCase(rest, "server-side-encryption");
}

}  // namespace

Status CheckRequestField(std::string_view name, std::string_view value, bool appends, SseFields sse,
                         bool* sse_seen) {
  if (!StartsWithIgnoreCase(name, "x-amz-")) return Status::Ok();
  if (sse != SseFields::kNone &&
      (StartsWithIgnoreCase(name, "x-amz-server-side-encryption") ||
       StartsWithIgnoreCase(name, "x-amz-copy-source-server-side-encryption")) &&
      TakesSse(name, sse)) {
    if (sse_seen) *sse_seen = true;
    return Status::Ok();
  }
  for (const auto& u : kAlways)
    if (EqualsIgnoreCase(name, u.name)) return Refuse(u.name, u.feature);
  if (EqualsIgnoreCase(name, "x-amz-write-offset-bytes")) {
    if (!appends)
      return Refuse(name, "an append, which only PutObject (without a copy source) can make");
  } else if (EqualsIgnoreCase(name, "x-amz-server-side-encryption-bucket-key-enabled")) {
    if (!EqualsIgnoreCase(Trim(value), "false"))
      return Refuse("x-amz-server-side-encryption-bucket-key-enabled", "S3 Bucket Keys");
  } else if (StartsWithIgnoreCase(name, "x-amz-checksum-") &&
             !EqualsIgnoreCase(name, "x-amz-checksum-mode") &&
             !EqualsIgnoreCase(name, "x-amz-checksum-type") &&
             !EqualsIgnoreCase(name, "x-amz-checksum-algorithm")) {
    // A checksum of an algorithm this server cannot verify (SHA512, MD5, the xxHashes):
    // accepting it unverified would promise an integrity check that never ran.
    std::string algo(name.substr(15));
    for (char& c : algo) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!ChecksumAlgoFromName(algo)) return Refuse(name, "the checksum algorithm " + algo);
  } else if (EqualsIgnoreCase(name, "x-amz-storage-class")) {
    // Every object is STANDARD: other classes (archive tiers, one-zone, reduced redundancy)
    // promise a cost or durability this server does not give.
    if (!EqualsIgnoreCase(Trim(value), "STANDARD"))
      return Refuse("x-amz-storage-class", "the storage class '" + std::string(Trim(value)) + "'");
  }
  return Status::Ok();
}

}  // namespace sluice::s3
