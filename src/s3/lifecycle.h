// Bucket lifecycle configurations: the rule set S3 defines (Filter with Prefix, Tag, And and
// size bounds; Expiration by Days, Date or ExpiredObjectDeleteMarker;
// NoncurrentVersionExpiration with NoncurrentDays and NewerNoncurrentVersions;
// AbortIncompleteMultipartUpload), parsed and validated once and stored in canonical XML
// (bucket config "lifecycle"). Transitions ask for storage classes sluice does not have and
// are refused with 501. The worker that applies the rules is s3/lifecycle_worker.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::s3 {

inline constexpr char kLifecycleConfig[] = "lifecycle";

struct LifecycleFilter {
  std::string prefix;
  meta::HeaderList tags;            // every one must be on the object
  std::optional<uint64_t> size_gt;  // ObjectSizeGreaterThan (strict)
  std::optional<uint64_t> size_lt;  // ObjectSizeLessThan (strict)
  // Does an object with this key, size and tags fall under the filter?
  bool Matches(std::string_view key, uint64_t size, const meta::HeaderList& object_tags) const;
  bool NeedsTags() const { return !tags.empty(); }
};

struct LifecycleRule {
  std::string id;
  bool enabled = true;
  LifecycleFilter filter;
  std::optional<uint32_t> expiration_days;
  std::optional<int64_t> expiration_date;  // µs, midnight UTC
  bool expired_object_delete_marker = false;
  std::optional<uint32_t> noncurrent_days;
  std::optional<uint32_t> newer_noncurrent_versions;
  std::optional<uint32_t> abort_incomplete_days;
};

struct LifecycleConfig {
  std::vector<LifecycleRule> rules;
};

// kMalformedXML / kInvalidArgument for what S3 refuses; kNotImplemented for transitions.
Result<LifecycleConfig> ParseLifecycle(std::string_view xml);
std::string RenderLifecycle(const LifecycleConfig& c);

// S3's day arithmetic: `days` after `start`, rounded up to the next midnight UTC.
int64_t ExpiryAfterDays(int64_t start_micros, uint32_t days);

// When the current version `m` of `key` expires under the configuration, and by which rule
// (the earliest, for x-amz-expiration); nothing when no enabled Expiration rule covers it.
struct Expiry {
  int64_t at_micros;
  std::string rule_id;
};
std::optional<Expiry> ExpiryOf(const LifecycleConfig& c, std::string_view key,
                               const meta::ObjectMeta& m);
// The x-amz-expiration value: expiry-date="<HTTP date>", rule-id="<id>".
std::string ExpirationHeader(const Expiry& e);

}  // namespace sluice::s3
