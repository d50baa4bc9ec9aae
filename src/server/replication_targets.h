// Remote replication targets (docs/replication.md): S3 endpoints an admin registers with
// `sluice admin replication target add`, named by a bucket's replication rules as
// "arn:sluice:replication:::NAME". Each is kept as a document (namespace
// "replication-target") with its secret key sealed by the IAM key (auth::SecretBox), as
// users' secrets are; the worker reaches it through the client library, one pool of
// keep-alive connections per target.
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/secret_box.h"
#include "io/env.h"
#include "meta/api/index.h"
#include "s3/replication_target.h"
#include "server/address_policy.h"

namespace sluice::server {

inline constexpr char kReplicationTargetNs[] = "replication-target";

struct ReplicationTargetSpec {
  std::string name;
  std::string endpoint;  // http(s)://host[:port]
  std::string bucket;
  std::string access_key, secret_key;
  std::string region;     // empty: us-east-1
  std::string ca_bundle;  // PEM text for an HTTPS endpoint; empty: the system's CAs
};

struct ReplicationTargetInfo {
  std::string name, arn, endpoint, bucket, access_key, region;
  bool has_ca_bundle = false;
  bool sluice = false;  // the target is a sluice server: version ids and times are kept
  int64_t created_micros = 0;
  // Health as this process saw it: the last success and the last failure.
  int64_t last_ok_micros = 0, last_error_micros = 0;
  std::string last_error;
};

class RemoteReplicationTargets : public s3::ReplicationTargets {
 public:
  RemoteReplicationTargets(meta::Index* index, const auth::SecretBox* box, const io::Clock* clock);

  // The addresses targets may be reached at (--replication-allow), checked at every
  // connection, so a name that resolves elsewhere later is refused then too. Before the
  // first Add or Find.
  void SetAddressPolicy(AddressPolicy policy) { policy_ = std::move(policy); }

  // Checks the target before keeping it: it answers, its bucket exists with versioning
  // Enabled, and the key may write (a multipart upload started and aborted, which leaves
  // no object). kInvalidRequest saying which check failed; kAlreadyExists for a name in use.
  Result<ReplicationTargetInfo> Add(const ReplicationTargetSpec& spec);
  Result<std::vector<ReplicationTargetInfo>> List();
  Result<ReplicationTargetInfo> Get(std::string_view name);
  // kNotFound; kInvalidRequest while a bucket's replication configuration names it.
  Status Remove(std::string_view name);

  Result<std::shared_ptr<s3::ReplicationTarget>> Find(std::string_view name) override;

  struct Entry;  // one registered target with its client; defined in the .cc

 private:
  Result<std::shared_ptr<Entry>> Load(std::string_view name);
  ReplicationTargetInfo InfoOf(const Entry& e) const;

  meta::Index* index_;
  AddressPolicy policy_ = *AddressPolicy::Parse("");
  const auth::SecretBox* box_;
  const io::Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> cache_;  // by name
};

}  // namespace sluice::server
