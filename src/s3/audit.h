// The audit log (docs/security.md): one record for every request that changes who may do
// what (IAM, policies, ACLs, public access), what is protected (object lock, versioning,
// snapshots), where data goes (replication, lifecycle), or what is deleted. Who, from
// where, what, and the result: refusals too. Separate from the access log, which is for
// traffic; append-only.
#pragma once

#include <cstdint>
#include <string>

#include "s3/router.h"

namespace sluice::s3 {

struct AuditRecord {
  int64_t time_micros = 0;
  std::string request_id;
  std::string principal;   // the identity's ARN; "anonymous" when unsigned
  std::string access_key;  // the key that signed, if any (never a secret)
  std::string remote_ip;
  std::string
      action;  // the S3 operation ("DeleteObject"), or the admin API's ("admin PUT users/x")
  std::string bucket;
  std::string key;
  std::string version;
  std::string detail;  // what else identifies the action (DeleteObjects: the keys)
  int status = 0;      // the HTTP status answered
  std::string error;   // the S3 error code; empty on success
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Appends the record. Never fails the request: a log that cannot be written is logged
  // and counted by the implementation.
  virtual void Record(const AuditRecord& r) = 0;
};

// Whether requests of this operation are audited.
bool IsAudited(Op op);

// One JSON object on one line, with a trailing newline.
std::string RenderAuditLine(const AuditRecord& r);

}  // namespace sluice::s3
