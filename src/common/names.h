// Strong types for the names S3 requests carry: BucketName, ObjectKey, UploadId and
// VersionId. Each is validated once, where it enters the server (the S3 handler, or the
// index when it decodes its own records), and then passed by type, so a call such as
// index->GetObject(bucket, key, version) cannot mix its arguments up and nothing below the
// edge validates again.
//
// Reading one as a string is implicit (const std::string&); making one from a string is
// explicit: Parse() validates, Trusted() is for names that were validated before (read
// back from the index, built by tests).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace sluice {

template <typename Tag>
class Name {
 public:
  Name() = default;
  static Name Trusted(std::string s) { return Name(std::move(s)); }
  const std::string& str() const { return s_; }
  operator const std::string&() const { return s_; }  // NOLINT: reading is always safe
  operator std::string_view() const { return s_; }    // NOLINT
  bool empty() const { return s_.empty(); }
  size_t size() const { return s_.size(); }
  auto operator<=>(const Name&) const = default;
  bool operator==(const Name&) const = default;
  friend bool operator==(const Name& a, std::string_view b) { return a.s_ == b; }

 private:
  explicit Name(std::string s) : s_(std::move(s)) {}
  std::string s_;
};

struct BucketNameTag {};
struct ObjectKeyTag {};
struct UploadIdTag {};

// S3 bucket naming rules (3-63 chars of a-z 0-9 . -, start and end alphanumeric, no "..",
// not an IP address, no reserved prefixes or suffixes). kInvalidBucketName.
using BucketName = Name<BucketNameTag>;
Status ValidateBucketName(std::string_view name);
Result<BucketName> ParseBucketName(std::string_view name);

// At most 1024 bytes of UTF-8 without NUL. kKeyTooLong, kInvalidObjectKey.
using ObjectKey = Name<ObjectKeyTag>;
Status ValidateObjectKey(std::string_view key);
Result<ObjectKey> ParseObjectKey(std::string_view key);

// Multipart upload ids are server-made: 32 lowercase hex digits. Anything else names no
// upload (kNoSuchUpload) and never reaches an index key.
using UploadId = Name<UploadIdTag>;
Result<UploadId> ParseUploadId(std::string_view id);

// A version: when it was written (µs) and 64 random bits, which keep ids made in the same
// microsecond by different gateways apart. Versions of one key are ordered by `micros`
// (the index makes each new version's micros larger than the latest one's), so the id
// sorts by time; clients see it as 32 lowercase hex digits and treat it as opaque.
// The "null" version (written while versioning was off or suspended) still has a stamp
// for its place in the order; only its name is "null".
class VersionId {
 public:
  VersionId() = default;  // empty: "no version" (the latest, or an unversioned bucket)
  static VersionId Null() { return VersionId(true, 0, 0); }
  // The null version with its place in the order (as the index stores it).
  static VersionId NullAt(uint64_t micros, uint64_t rand) { return VersionId(true, micros, rand); }
  static VersionId Of(uint64_t micros, uint64_t rand) { return VersionId(false, micros, rand); }
  // "null" or 32 hex digits; kInvalidArgument ("Invalid version id specified") otherwise.
  static Result<VersionId> Parse(std::string_view s);

  bool empty() const { return !null_ && micros_ == 0 && rand_ == 0; }
  bool is_null() const { return null_; }
  uint64_t micros() const { return micros_; }
  uint64_t rand() const { return rand_; }
  // "null", the 32 hex digits, or "" when empty.
  std::string ToString() const;
  // Same name: both null, or the same id (a null version's stamp is not part of its name).
  bool SameName(const VersionId& o) const {
    return null_ ? o.null_ : (!o.null_ && micros_ == o.micros_ && rand_ == o.rand_);
  }
  bool operator==(const VersionId&) const = default;

 private:
  VersionId(bool null, uint64_t micros, uint64_t rand)
      : null_(null), micros_(micros), rand_(rand) {}
  bool null_ = false;
  uint64_t micros_ = 0;
  uint64_t rand_ = 0;
};

}  // namespace sluice
