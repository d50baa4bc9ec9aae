// What every S3 operation receives: the services it may use (interfaces only; the
// server wiring chooses the implementations) and the request being served.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "http/http.h"
#include "io/env.h"
#include "meta/api/async_index.h"
#include "s3/append_locks.h"
#include "s3/query.h"
#include "s3/router.h"
#include "storage/api/async_data_store.h"

namespace sluice::s3 {

struct Limits {
  uint64_t inline_threshold = uint64_t{64} * 1024;  // objects up to this size live in the index
  uint64_t max_object_size = 5ULL << 30;            // single PUT and CopyObject
  uint64_t min_part_size = 5ULL << 20;              // every part but the last
  size_t max_user_metadata = 2048;
  size_t io_buffer = size_t{128} * 1024;  // per-request streaming buffer
};

class BucketAccessCache;   // s3/authz.h
struct BucketAccessEntry;  // s3/authz.h
class ReplicationTargets;  // s3/replication_target.h
class ReadCache;           // s3/read_cache.h
class RequestMetrics;      // s3/request_metrics.h
class AuditLog;            // s3/audit.h
class AccessLog;           // s3/access_log.h
class SseKeyring;          // s3/sse.h

struct Services {
  // The backends as the I/O threads call them: every call awaited (docs/architecture.md).
  meta::AsyncIndex* index = nullptr;
  storage::AsyncDataStore* data = nullptr;
  const io::Clock* clock = nullptr;
  io::Random* random = nullptr;
  boost::asio::thread_pool* blocking = nullptr;  // CPU work off the I/O threads (hashing)
  const auth::CredentialStore* credentials = nullptr;
  BucketAccessCache* access = nullptr;  // bucket policies and ACLs; null: none are kept
  ReplicationTargets* replication_targets = nullptr;  // remote targets; null: none offered
  // Set when this server is a read-through cache of another endpoint (--cache-of): it then
  // serves reads of that endpoint's objects and refuses writes (ops/cache.cc).
  ReadCache* cache = nullptr;
  // Where every answered request is counted and timed, for /metrics; null: nowhere.
  RequestMetrics* metrics = nullptr;
  // Where audited actions are recorded (s3/audit.h); null: nowhere.
  AuditLog* audit = nullptr;
  // Where every answered request gets its access-log line (s3/access_log.h); null: nowhere.
  AccessLog* access_log = nullptr;
  // The SSE-S3 master keys (s3/sse.h); null: SSE-S3 is refused (501).
  const SseKeyring* sse_keys = nullptr;
  // Appends in flight, one per object (s3/ops/append.cc).
  std::shared_ptr<AppendLocks> append_locks = std::make_shared<AppendLocks>();
  std::string region = "us-east-1";
  std::vector<std::string> domains;  // for virtual-hosted-style: "<bucket>.<domain>"
  Limits limits;
};

struct Ctx {
  const Services& svc;
  http::Request& req;
  http::Body& body;
  http::Responder& resp;
  Query query;
  BucketName bucket;  // validated by the handler; empty for ListBuckets
  ObjectKey key;      // validated by the handler (PostObject: by the operation)
  VersionId version;  // ?versionId=, validated; empty when absent
  std::string request_id;
  auth::AuthResult auth;
  // The tags this request sets, once an operation has read them from its body
  // (PutObjectTagging): s3:RequestObjectTag conditions read them here, or else from the
  // x-amz-tagging header.
  std::optional<meta::HeaderList> request_tags;
  // Extra fields for the error document (signature debugging).
  std::vector<std::pair<std::string, std::string>> error_fields;
  // The access configuration of `bucket` (policy, ACLs, lifecycle, snapshot), read once
  // after authentication (LoadAccess); null before.
  std::shared_ptr<const BucketAccessEntry> access;
  // Extra headers for an error response (x-amz-delete-marker on a 404 or 405).
  std::vector<std::pair<std::string, std::string>> error_headers;
  // The operation, once routed (RequestMetrics::Slot); Slot(Endpoint::kUnrouted) before.
  size_t metrics_slot = SIZE_MAX;
  // The operation, once routed, for the audit log; and what an operation adds to its
  // audit record (DeleteObjects: the keys it deleted).
  std::optional<Op> op = std::nullopt;
  std::string audit_detail = {};
  // The request carries server-side encryption headers its operation takes (s3/sse.h).
  bool sse_headers = false;
};

}  // namespace sluice::s3
