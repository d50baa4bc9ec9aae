// Bucket replication configurations (docs/replication.md): S3's ReplicationConfiguration
// (rules with ID, Priority, Status, Filter with Prefix, Tag or And, DeleteMarkerReplication,
// ExistingObjectReplication and Destination with Bucket and StorageClass), validated once
// and stored in canonical XML (bucket config "replication"). What sluice does not do yet
// is refused with 501, never accepted and ignored. The worker that copies is
// s3/replication_worker.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::s3 {

inline constexpr char kReplicationConfig[] = "replication";

struct ReplicationFilter {
  std::string prefix;
  meta::HeaderList tags;  // every one must be on the object
  bool Matches(std::string_view key, const meta::HeaderList& object_tags) const;
};

struct ReplicationRule {
  std::string id;
  uint32_t priority = 0;  // the higher, the first to apply
  bool enabled = true;
  // The V1 schema (a rule-level Prefix) replicates delete markers and has no Priority.
  bool legacy = false;
  ReplicationFilter filter;
  bool delete_markers = false;
  bool existing_objects = false;
  std::string dest_bucket;  // a bucket of this server ("arn:aws:s3:::NAME"), or
  std::string dest_target;  // a registered remote target ("arn:sluice:replication:::NAME")
  std::string storage_class;
};

struct ReplicationConfig {
  std::string role;
  std::vector<ReplicationRule> rules;  // by priority, highest first
  // The enabled rule that applies to a new version of `key` with `tags`, if any.
  const ReplicationRule* RuleFor(std::string_view key, const meta::HeaderList& tags) const;
  // The enabled rule that applies to a delete marker of `key` and replicates markers.
  const ReplicationRule* MarkerRuleFor(std::string_view key) const;
};

// Marks a new version of `key` PENDING when an enabled rule of `c` (null: none) selects it,
// so the index queues it with the write.
void MarkForReplication(const ReplicationConfig* c, std::string_view key, meta::ObjectMeta* m);
// Whether a delete marker of `key` is to be replicated.
bool ReplicatesMarker(const ReplicationConfig* c, std::string_view key);

// kMalformedXML / kInvalidArgument / kInvalidRequest for what S3 refuses; kNotImplemented
// for what sluice does not offer yet (Replication Time Control, ...).
Result<ReplicationConfig> ParseReplication(std::string_view xml);
std::string RenderReplication(const ReplicationConfig& c);

// A replication target's name: 1 to 64 of [A-Za-z0-9._-], starting with a letter or digit.
bool ValidTargetName(std::string_view name);

// The bucket an ARN of the form "arn:aws:s3:::NAME" names.
std::optional<std::string> BucketOfArn(std::string_view arn);

}  // namespace sluice::s3
