// The admin API: user, access-key and policy management as JSON over HTTP, under the
// reserved path /_sluice/admin/v1/ (no bucket can be named "_sluice"), and the STS
// AssumeRole endpoint (POST / with a form body, AWS's query protocol).
//
// Every admin request is SigV4-signed by root or an admin user; sessions may not
// administer. Errors use the S3 error table's status and code, as JSON
// {"code": ..., "message": ...}; STS errors use STS's ErrorResponse XML.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auth/iam.h"
#include "auth/sigv4.h"
#include "common/async.h"
#include "http/http.h"
#include "io/env.h"
#include "meta/api/index.h"
#include "s3/audit.h"
#include "s3/replication_worker.h"
#include "server/replication_targets.h"

namespace sluice::server {

inline constexpr std::string_view kAdminPrefix = "/_sluice/admin/v1/";

class AdminApi {
 public:
  // `blocking` runs IAM changes (synced writes) off the I/O threads.
  AdminApi(auth::Iam* iam, const io::Clock* clock, boost::asio::thread_pool* blocking)
      : iam_(iam),
        clock_(clock),
        blocking_(blocking),
        s3_verifier_(iam, clock, "s3"),
        sts_verifier_(iam, clock, "sts") {}

  // Snapshots (snapshots[/NAME]) go to the index; `access` is told when one appears or goes.
  // (The index tells the S3 layer's caches of the snapshot records it writes.)
  void EnableSnapshots(meta::Index* index) { index_ = index; }

  // Replication (replication/targets[/NAME], replication/status[/BUCKET],
  // replication/resync/BUCKET): remote targets and the worker's state.
  void EnableReplication(RemoteReplicationTargets* targets, s3::ReplicationWorker* worker) {
    targets_ = targets;
    worker_ = worker;
  }

  // Every admin change (all but GET) and every AssumeRole, allowed or refused, goes to
  // `audit` (docs/security.md).
  void EnableAudit(s3::AuditLog* audit) { audit_ = audit; }

  static bool IsAdminRequest(const http::Request& req);
  // POST / with an application/x-www-form-urlencoded body: an STS call.
  static bool IsStsRequest(const http::Request& req);

  Task<void> HandleAdmin(http::Request& req, http::Body& body, http::Responder& resp);
  Task<void> HandleSts(http::Request& req, http::Body& body, http::Responder& resp);

 private:
  Result<auth::AuthResult> Authenticate(const http::Request& req, const std::string& body,
                                        const auth::SigV4Verifier& verifier) const;
  Result<nlohmann::json> Dispatch(std::string_view method, const std::vector<std::string>& seg,
                                  const std::string& body);
  Result<nlohmann::json> Snapshots(std::string_view method, const std::vector<std::string>& seg,
                                   const nlohmann::json& in);
  Result<nlohmann::json> Replication(std::string_view method, const std::vector<std::string>& seg,
                                     const nlohmann::json& in);
  auth::Iam* iam_;
  meta::Index* index_ = nullptr;
  RemoteReplicationTargets* targets_ = nullptr;
  s3::ReplicationWorker* worker_ = nullptr;
  const io::Clock* clock_;
  boost::asio::thread_pool* blocking_;
  auth::SigV4Verifier s3_verifier_;
  auth::SigV4Verifier sts_verifier_;
  s3::AuditLog* audit_ = nullptr;
};

}  // namespace sluice::server
