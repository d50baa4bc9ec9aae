#include "s3/handler.h"

#include <fmt/compile.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/check.h"
#include "common/strings.h"
#include "s3/access_log.h"
#include "s3/audit.h"
#include "s3/authz.h"
#include "s3/error_table.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/request_metrics.h"
#include "s3/router.h"
#include "s3/unsupported.h"
#include "s3/versions.h"

namespace sluice::s3 {
namespace {

// The Date header changes once a second; format it once a second per thread.
const std::string& DateHeader(const io::Clock* clock) {
  thread_local int64_t last_sec = -1;
  thread_local std::string value;
  int64_t now = clock->NowMicros();
  if (now / 1000000 != last_sec) {
    last_sec = now / 1000000;
    value = FormatHttpDate(now);
  }
  return value;
}

// A key as one log token: quoted, with quotes, backslashes and control bytes escaped.
// Appends s in double quotes, with '"', '\\' and control characters escaped, so a key can
// never end or forge a log line.
void AppendQuoted(fmt::memory_buffer& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, esc + 4);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

// x-amz-expected-bucket-owner (and x-amz-source-expected-bucket-owner for a copy's source):
// a bucket owned by anyone else is refused with 403, as S3 does, so a client that names the
// wrong bucket cannot write into it. A missing bucket is left to the operation (404).
Task<Status> CheckExpectedOwner(Ctx& ctx, std::string_view expected, std::string_view bucket_name) {
  if (expected.empty() || bucket_name.empty()) co_return Status::Ok();
  auto bucket = ParseBucketName(bucket_name);
  if (!bucket.ok()) co_return Status::Ok();  // the operation refuses the name
  auto info = co_await ctx.svc.index->GetBucket(*bucket);
  if (!info.ok())
    co_return info.status().code() == Err::kNoSuchBucket ? Status::Ok() : info.status();
  if (info->owner != Trim(expected)) co_return Error(Err::kAccessDenied, "Access Denied");
  co_return Status::Ok();
}

// What a snapshot refuses: every change to its objects, their versions and protection, and
// to its versioning or lifecycle. Its policy, CORS, ACL and public access settings are its
// own and may change.
bool ChangesSnapshotData(Op op) {
  switch (op) {
    case Op::kCreateBucket:
    case Op::kDeleteBucket:
    case Op::kPutBucketVersioning:
    case Op::kDeleteObjects:
    case Op::kPutObject:
    case Op::kCopyObject:
    case Op::kDeleteObject:
    case Op::kCreateMultipartUpload:
    case Op::kUploadPart:
    case Op::kUploadPartCopy:
    case Op::kCompleteMultipartUpload:
    case Op::kAbortMultipartUpload:
    case Op::kPutObjectTagging:
    case Op::kDeleteObjectTagging:
    case Op::kPutObjectAcl:
    case Op::kPostObject:
    case Op::kPutObjectLockConfiguration:
    case Op::kPutObjectRetention:
    case Op::kPutObjectLegalHold:
    case Op::kPutBucketLifecycle:
    case Op::kDeleteBucketLifecycle:
    case Op::kPutBucketReplication:
      return true;
    default:
      return false;
  }
}

Status RefuseSnapshotWrite(const Ctx& ctx, const std::optional<BucketAccessEntry::Snapshot>& snap) {
  if (!snap) return Status::Ok();
  return Error(Err::kReadOnlySnapshot,
               "Access Denied: " + ctx.bucket.str() + " is a read-only snapshot of bucket " +
                   snap->source.str() + "; write to the source bucket instead.");
}

// From the entry the handler read when it has one (no frame), else from the cache.
Task<Status> RefuseSnapshotWrite(Ctx& ctx, Op op) {
  if (!ChangesSnapshotData(op)) co_return Status::Ok();
  auto snap = co_await SnapshotOf(ctx, ctx.bucket);
  co_return RefuseSnapshotWrite(ctx, snap);
}

Task<Status> CheckExpectedOwners(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(
      co_await CheckExpectedOwner(ctx, ctx.req.header("x-amz-expected-bucket-owner"), ctx.bucket));
  std::string_view src_owner = ctx.req.header("x-amz-source-expected-bucket-owner");
  if (src_owner.empty()) co_return Status::Ok();
  co_return co_await CheckExpectedOwner(ctx, src_owner,
                                        SplitCopySource(ctx.req.header("x-amz-copy-source")).first);
}

}  // namespace

// Adds the headers every S3 response carries.
class CommonHeaders final : public http::Responder {
 public:
  CommonHeaders(http::Responder& inner, const std::string& request_id, const io::Clock* clock)
      : inner_(inner), request_id_(request_id), clock_(clock) {}
  Task<Status> Send(const http::ResponseHead& h, std::string_view body,
                    std::optional<uint64_t> len = std::nullopt) override {
    co_return co_await inner_.Send(Decorate(h), body, len);
  }
  Task<Status> Begin(const http::ResponseHead& h, uint64_t len) override {
    co_return co_await inner_.Begin(Decorate(h), len);
  }
  Task<Status> Write(std::string_view d) override { co_return co_await inner_.Write(d); }
  Task<Status> SendFile(int fd, uint64_t off, uint64_t len) override {
    co_return co_await inner_.SendFile(fd, off, len);
  }
  bool started() const override { return inner_.started(); }
  int status() const override { return inner_.status(); }
  uint64_t bytes_sent() const override { return inner_.bytes_sent(); }
  // Headers for every response from here on, errors included (the CORS headers).
  void AddToEvery(std::vector<std::pair<std::string, std::string>> extra) {
    extra_ = std::move(extra);
  }

 private:
  // The common headers go out after h's, which is not copied (a 4 KiB GET's head was 6
  // allocations of copies).
  http::ResponseHead Decorate(const http::ResponseHead& h) {
    http::ResponseHead out;
    out.status = h.status;
    out.before = &h;
    out.Set(extra_);
    out.Set("x-amz-request-id", request_id_);
    out.Set("Date", DateHeader(clock_));
    out.Set("Server", "sluice");
    return out;
  }
  http::Responder& inner_;
  const std::string& request_id_;
  const io::Clock* clock_;
  std::vector<std::pair<std::string, std::string>> extra_;
};

S3Handler::S3Handler(const Services& svc)
    : svc_(svc), verifier_(svc.credentials, svc.clock), verifier_v2_(svc.credentials, svc.clock) {
  id_prefix_ = svc.random->HexString(4);
  for (auto& c : id_prefix_) c = static_cast<char>(std::toupper(c));
}

// A process-random prefix and a counter, in uppercase hex like S3's ids; no formatting
// library on this per-request path.
std::string S3Handler::NextRequestId() {
  static constexpr char kHexUpper[] = "0123456789ABCDEF";
  uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
  std::string id = id_prefix_;
  id.resize(id_prefix_.size() + 8);
  for (int i = 7; i >= 0; i--, n >>= 4) id[id_prefix_.size() + i] = kHexUpper[n & 15];
  return id;
}

void S3Handler::RenderProtocolError(Err code, std::string_view message, http::ResponseHead* head,
                                    std::string* body) {
  const S3Error& e = LookupError(code);
  std::string id = NextRequestId();
  head->status = e.http_status;
  head->Set("Content-Type", "application/xml");
  head->Set("x-amz-request-id", id);
  *body = RenderErrorXml(code, message, "", id);
  spdlog::info("protocol error {} ({}): {}", e.code, id, message);
}

Task<Status> S3Handler::Execute(Ctx& ctx, CommonHeaders& resp) {
  using namespace ops;
  auto q = Query::Parse(ctx.req.query());
  if (!q.ok()) co_return q.status();
  ctx.query = std::move(q).value();
  SLUICE_CO_ASSIGN_OR_RETURN(
      Route route, RouteRequest(ctx.req.method(), ctx.req.header("host"), ctx.req.path(), ctx.query,
                                svc_.domains, ctx.req.has_header("x-amz-copy-source")));
  ctx.metrics_slot = RequestMetrics::Slot(route.op);
  ctx.op = route.op;
  // Names are validated here, once; below this point they travel as their types.
  Status bucket_ok = Status::Ok();
  if (!route.bucket.empty()) {
    auto b = ParseBucketName(route.bucket);
    if (b.ok())
      ctx.bucket = std::move(b).value();
    else
      bucket_ok = b.status();
  }
  const bool valid_bucket = !ctx.bucket.empty();

  // Cross-origin requests from browsers: the preflight is answered without credentials,
  // and actual requests (even refused ones, so the page can read the error) carry the
  // headers of the bucket's matching CORS rule.
  if (route.op == Op::kPreflight) {
    SLUICE_CO_RETURN_IF_ERROR(bucket_ok);
    co_return co_await PreflightCors(ctx);
  }
  if (valid_bucket) {
    if (std::string_view origin = ctx.req.header("origin"); !origin.empty())
      resp.AddToEvery(co_await CorsHeadersFor(svc_, ctx.bucket, origin, ctx.req.method()));
  }

  // A form upload carries its authentication in the form (a signed policy).
  if (route.op == Op::kPostObject) {
    SLUICE_CO_RETURN_IF_ERROR(bucket_ok);
    SLUICE_CO_RETURN_IF_ERROR(co_await RefuseSnapshotWrite(ctx, route.op));
    co_return co_await PostObject(ctx);
  }

  // Authentication before anything else touches the store.
  auth::RequestView view{ctx.req.method(), ctx.req.path(), ctx.req.query(),
                         [&](std::string_view n) { return ctx.req.header(n); },
                         [&](std::map<std::string, std::string>* out) {
                           ctx.req.ForEachHeader([&](std::string_view n, std::string_view v) {
                             if (StartsWithIgnoreCase(n, "x-amz-"))
                               (*out)[ToLower(n)] = std::string(Trim(v));
                           });
                         }};
  auth::AuthFailureDetails details;
  // No signature at all: an anonymous request, which only a bucket policy or a public
  // canned ACL can admit (AuthorizeRequest below).
  Result<auth::AuthResult> auth = auth::AuthResult{};
  // SigV2 first: its "AWS " header is specific, while SigV4 claims any Authorization
  // header (to answer an unknown scheme with S3's InvalidRequest).
  if (auth::SigV2Verifier::HasAuth(view)) {
    auth = verifier_v2_.Verify(view, route.virtual_host ? route.bucket : "", &details);
  } else if (auth::SigV4Verifier::HasAuth(view)) {
    auth = verifier_.Verify(view, &details);
  }
  if (!auth.ok()) {
    ctx.error_fields = std::move(details.fields);
    co_return auth.status();
  }
  ctx.auth = std::move(auth).value();

  SLUICE_CO_RETURN_IF_ERROR(bucket_ok);
  if (!route.key.empty()) {
    SLUICE_CO_ASSIGN_OR_RETURN(ctx.key, ParseObjectKey(route.key));
  }
  if (ctx.query.Has("versionId")) {
    SLUICE_CO_ASSIGN_OR_RETURN(ctx.version, VersionId::Parse(ctx.query.Get("versionId")));
  }
  if (svc_.cache) SLUICE_CO_RETURN_IF_ERROR(co_await PrepareCachedRequest(ctx, route.op));
  if (svc_.access && valid_bucket) {
    ctx.access = svc_.access->Peek(ctx.bucket);
    if (!ctx.access) SLUICE_CO_RETURN_IF_ERROR(co_await LoadAccess(ctx));
  }
  if (!AllowedWithoutChecks(ctx, route))
    SLUICE_CO_RETURN_IF_ERROR(co_await AuthorizeRequest(ctx, route));
  // A header asking for a feature this server lacks: 501, never a silent success.
  {
    Status unsupported = Status::Ok();
    const bool appends = route.op == Op::kPutObject;
    SseFields sse = SseFields::kNone;
    switch (route.op) {
      case Op::kPutObject:
      case Op::kCreateMultipartUpload:
        sse = SseFields::kWrite;
        break;
      case Op::kGetObject:
      case Op::kHeadObject:
      case Op::kUploadPart:
      case Op::kCompleteMultipartUpload:
        sse = SseFields::kRead;
        break;
      case Op::kCopyObject:
        sse = SseFields::kCopy;
        break;
      case Op::kUploadPartCopy:
        sse = SseFields::kPartCopy;
        break;
      default:
        break;
    }
    ctx.req.ForEachHeader([&](std::string_view n, std::string_view v) {
      if (unsupported.ok()) unsupported = CheckRequestField(n, v, appends, sse, &ctx.sse_headers);
    });
    SLUICE_CO_RETURN_IF_ERROR(unsupported);
  }
  // Each awaited only where it can apply: an awaited call costs a coroutine frame, and
  // these run on every request.
  if (ctx.req.has_header("x-amz-expected-bucket-owner") ||
      ctx.req.has_header("x-amz-source-expected-bucket-owner"))
    SLUICE_CO_RETURN_IF_ERROR(co_await CheckExpectedOwners(ctx));
  if (ChangesSnapshotData(route.op)) {
    if (ctx.access)
      SLUICE_CO_RETURN_IF_ERROR(RefuseSnapshotWrite(ctx, ctx.access->snapshot));
    else
      SLUICE_CO_RETURN_IF_ERROR(co_await RefuseSnapshotWrite(ctx, route.op));
  }

  if (svc_.cache) {
    switch (route.op) {
      case Op::kListBuckets:
      case Op::kListObjects:
      case Op::kListObjectsV2:
        co_return co_await ForwardToOrigin(ctx);
      case Op::kGetObject:
      case Op::kHeadObject: {
        Status st = co_await CachedGetObject(ctx, route.op == Op::kHeadObject);
        if (st.code() == Err::kNoSuchKey)
          st = co_await HideMissingKey(ctx, route.op, std::move(st));
        co_return st;
      }
      default:
        break;  // HeadBucket, GetBucketLocation: the local bucket answers
    }
  }
  switch (route.op) {
    case Op::kListBuckets:
      co_return co_await ListBuckets(ctx);
    case Op::kCreateBucket:
      co_return co_await CreateBucket(ctx);
    case Op::kHeadBucket:
      co_return co_await HeadBucket(ctx);
    case Op::kDeleteBucket:
      co_return co_await DeleteBucket(ctx);
    case Op::kGetBucketLocation:
      co_return co_await GetBucketLocation(ctx);
    case Op::kGetBucketVersioning:
      co_return co_await GetBucketVersioning(ctx);
    case Op::kPutBucketVersioning:
      co_return co_await PutBucketVersioning(ctx);
    case Op::kListObjects:
      co_return co_await ListObjects(ctx, false);
    case Op::kListObjectsV2:
      co_return co_await ListObjects(ctx, true);
    case Op::kListMultipartUploads:
      co_return co_await ListMultipartUploads(ctx);
    case Op::kDeleteObjects:
      co_return co_await DeleteObjects(ctx);
    case Op::kBatchGet:
      co_return co_await BatchGet(ctx);
    case Op::kPutObject:
      co_return co_await PutObject(ctx);
    case Op::kCopyObject:
      co_return co_await CopyObject(ctx);
    // A missing key is 404 only for a caller who may list the bucket (HideMissingKey).
    case Op::kGetObject:
    case Op::kHeadObject: {
      Status st = co_await GetObject(ctx, route.op == Op::kHeadObject);
      if (st.code() == Err::kNoSuchKey) st = co_await HideMissingKey(ctx, route.op, std::move(st));
      co_return st;
    }
    case Op::kGetObjectMember:
      co_return co_await GetObjectMember(ctx, ctx.req.method() == "HEAD");
    case Op::kListObjectMembers:
      co_return co_await ListObjectMembers(ctx);
    case Op::kGetBucketUsage:
      co_return co_await GetBucketUsage(ctx);
    case Op::kDeleteObject:
      co_return co_await DeleteObject(ctx);
    case Op::kCreateMultipartUpload:
      co_return co_await CreateMultipartUpload(ctx);
    case Op::kUploadPart:
      co_return co_await UploadPart(ctx);
    case Op::kUploadPartCopy:
      co_return co_await UploadPartCopy(ctx);
    case Op::kCompleteMultipartUpload:
      co_return co_await CompleteMultipartUpload(ctx);
    case Op::kAbortMultipartUpload:
      co_return co_await AbortMultipartUpload(ctx);
    case Op::kListParts:
      co_return co_await ListParts(ctx);
    case Op::kPutObjectTagging:
      co_return co_await PutObjectTagging(ctx);
    case Op::kGetObjectTagging:
      co_return co_await GetObjectTagging(ctx);
    case Op::kDeleteObjectTagging:
      co_return co_await DeleteObjectTagging(ctx);
    case Op::kGetBucketSubresource:
      co_return co_await GetBucketSubresource(ctx, route.subresource);
    case Op::kDeleteBucketSubresource:
      co_return co_await DeleteBucketSubresource(ctx);
    case Op::kGetBucketAcl:
      co_return co_await GetBucketAcl(ctx);
    case Op::kPutBucketAcl:
      co_return co_await PutBucketAcl(ctx);
    case Op::kGetObjectAcl:
      co_return co_await GetObjectAcl(ctx);
    case Op::kPutObjectAcl:
      co_return co_await PutObjectAcl(ctx);
    case Op::kListObjectVersions:
      co_return co_await ListObjectVersions(ctx);
    case Op::kPutBucketCors:
      co_return co_await PutBucketCors(ctx);
    case Op::kGetBucketCors:
      co_return co_await GetBucketCors(ctx);
    case Op::kDeleteBucketCors:
      co_return co_await DeleteBucketCors(ctx);
    case Op::kPutBucketEncryption:
      co_return co_await PutBucketEncryption(ctx);
    case Op::kGetBucketEncryption:
      co_return co_await GetBucketEncryption(ctx);
    case Op::kDeleteBucketEncryption:
      co_return co_await DeleteBucketEncryption(ctx);
    case Op::kPreflight:
      co_return co_await PreflightCors(ctx);
    case Op::kGetObjectAttributes:
      co_return co_await GetObjectAttributes(ctx);
    case Op::kPutObjectLockConfiguration:
      co_return co_await PutObjectLockConfiguration(ctx);
    case Op::kGetObjectLockConfiguration:
      co_return co_await GetObjectLockConfiguration(ctx);
    case Op::kPutObjectRetention:
      co_return co_await PutObjectRetention(ctx);
    case Op::kGetObjectRetention:
      co_return co_await GetObjectRetention(ctx);
    case Op::kPutObjectLegalHold:
      co_return co_await PutObjectLegalHold(ctx);
    case Op::kGetObjectLegalHold:
      co_return co_await GetObjectLegalHold(ctx);
    case Op::kPutBucketReplication:
      co_return co_await PutBucketReplication(ctx);
    case Op::kGetBucketReplication:
      co_return co_await GetBucketReplication(ctx);
    case Op::kDeleteBucketReplication:
      co_return co_await DeleteBucketReplication(ctx);
    case Op::kPutBucketLifecycle:
      co_return co_await PutBucketLifecycle(ctx);
    case Op::kGetBucketLifecycle:
      co_return co_await GetBucketLifecycle(ctx);
    case Op::kDeleteBucketLifecycle:
      co_return co_await DeleteBucketLifecycle(ctx);
    case Op::kPostObject:
      co_return co_await PostObject(ctx);
    case Op::kPutBucketPolicy:
      co_return co_await PutBucketPolicy(ctx);
    case Op::kGetBucketPolicy:
      co_return co_await GetBucketPolicy(ctx);
    case Op::kDeleteBucketPolicy:
      co_return co_await DeleteBucketPolicy(ctx);
    case Op::kGetBucketPolicyStatus:
      co_return co_await GetBucketPolicyStatus(ctx);
    case Op::kPutPublicAccessBlock:
      co_return co_await PutPublicAccessBlock(ctx);
    case Op::kGetPublicAccessBlock:
      co_return co_await GetPublicAccessBlock(ctx);
    case Op::kDeletePublicAccessBlock:
      co_return co_await DeletePublicAccessBlock(ctx);
    case Op::kPutBucketOwnershipControls:
      co_return co_await PutBucketOwnershipControls(ctx);
    case Op::kGetBucketOwnershipControls:
      co_return co_await GetBucketOwnershipControls(ctx);
    case Op::kDeleteBucketOwnershipControls:
      co_return co_await DeleteBucketOwnershipControls(ctx);
  }
  co_return Error(Err::kNotImplemented, "");
}

// The readiness checks, on the blocking pool: an index read (a round trip to the cluster on
// RADOS), then a write probe of the data store.
static Task<Status> Readiness(const Services& svc) {
  meta::Index* index = &svc.index->backend();
  storage::DataStore* data = &svc.data->backend();
  auto check = [index, data]() -> Status {
    auto docs = index->ListDocs("ready-probe");
    if (!docs.ok())
      return Status(docs.status().code(),
                    "the index does not answer: " + std::string(docs.status().message()));
    Status w = data->CheckWritable();
    if (!w.ok()) return Status(w.code(), "new data cannot be written: " + std::string(w.message()));
    return Status::Ok();
  };
  co_return co_await svc.data->Blocking(check);
}

Task<void> S3Handler::Handle(http::Request& req, http::Body& body, http::Responder& raw) {
  int64_t start = svc_.clock->MonotonicNanos();
  std::string request_id = NextRequestId();
  CommonHeaders resp(raw, request_id, svc_.clock);
  if (svc_.metrics) svc_.metrics->Started();
  // Counts and times the request once it is answered (a plain call: no coroutine frame).
  auto record = [&](size_t slot, Err error, std::string_view bucket) {
    if (!svc_.metrics) return;
    RequestMetrics::Outcome o;
    o.slot = slot;
    o.status = resp.status();
    o.error = error;
    o.bucket = bucket;
    o.bytes_in = body.bytes_read();
    o.bytes_out = resp.bytes_sent();
    o.nanos = svc_.clock->MonotonicNanos() - start;
    svc_.metrics->Finished(o);
  };

  // Liveness probe: unauthenticated, only for an unsigned GET/HEAD of exactly /health.
  if (req.path() == "/health" && req.query().empty() &&
      (req.method() == "GET" || req.method() == "HEAD") && !req.has_header("authorization")) {
    http::ResponseHead head;
    head.Set("Content-Type", "text/plain");
    (co_await resp.Send(head, "ok\n")).IgnoreError();
    record(RequestMetrics::Slot(Endpoint::kHealth), Err::kOk, {});
    co_return;
  }

  // Readiness probe, the same way: 200 when the index answers and new data can be written
  // (a full or read-only disk, a cluster out of reach), else 503 with the reason.
  if (req.path() == "/ready" && req.query().empty() &&
      (req.method() == "GET" || req.method() == "HEAD") && !req.has_header("authorization")) {
    Status ready = co_await Readiness(svc_);
    http::ResponseHead head;
    head.Set("Content-Type", "text/plain");
    head.status = ready.ok() ? 200 : 503;
    if (!ready.ok()) {
      head.Set("Retry-After", "5");
      spdlog::warn("not ready: {}", ready.ToString());
    }
    const std::string text = ready.ok() ? "ready\n" : "not ready: " + ready.ToString() + "\n";
    (co_await resp.Send(head, text)).IgnoreError();
    record(RequestMetrics::Slot(Endpoint::kReady), ready.ok() ? Err::kOk : Err::kServiceUnavailable,
           {});
    co_return;
  }

  Ctx ctx{svc_, req, body, resp, {}, {}, {}, {}, request_id, {}, {}, {}, {}, {}};
  Status st = Status::Ok();
  try {
    st = co_await Execute(ctx, resp);
  } catch (const std::exception& e) {
    // Errors are values below here; an exception that still escapes (OpenSSL failing
    // inside a hash, an allocation failing) becomes a 500 the client sees, not a
    // connection closed without an answer.
    st = SLUICE_BUG(std::string("unexpected failure: ") + e.what());
  }
  Err answered = Err::kOk;
  if (!st.ok()) {
    const Err answer = AnswerCode(st);
    answered = answer;
    const S3Error& e = LookupError(answer);
    if (resp.started()) {
      // Too late for an error document: the HTTP layer closes the connection because
      // the body is short, which is how the client learns.
      spdlog::warn("request {} failed after the response began: {}", request_id, st.ToString());
    } else {
      http::ResponseHead head;
      head.status = e.http_status;
      for (auto& [n, v] : ctx.error_headers) head.Set(n, v);
      if (e.http_status == 304) {
        (co_await resp.Send(head, "")).IgnoreError();
      } else {
        head.Set("Content-Type", "application/xml");
        std::string resource(req.path());
        if (answer == Err::kSlowDown) head.Set("Retry-After", "1");
        std::string xml =
            RenderErrorXml(answer, st.message(), resource, request_id, ctx.error_fields);
        (co_await resp.Send(head, xml)).IgnoreError();
      }
    }
    if (e.http_status >= 500 && e.http_status != 501)
      spdlog::error("request {}: {}", request_id, st.ToString());
  }
  record(
      ctx.metrics_slot != SIZE_MAX ? ctx.metrics_slot : RequestMetrics::Slot(Endpoint::kUnrouted),
      answered, ctx.bucket.str());
  if (svc_.audit && ctx.op && IsAudited(*ctx.op)) {
    AuditRecord a;
    a.time_micros = svc_.clock->NowMicros();
    a.request_id = request_id;
    const auto& id = ctx.auth.credential.identity;
    a.principal = id ? id->arn : "anonymous";
    a.access_key = ctx.auth.credential.access_key;
    a.remote_ip = req.remote_ip;
    a.action = std::string(OpName(*ctx.op));
    a.bucket = ctx.bucket.str();
    a.key = ctx.key.str();
    a.version = ctx.query.Get("versionId");
    a.detail = std::move(ctx.audit_detail);
    a.status = resp.status();
    if (answered != Err::kOk) a.error = std::string(LookupError(answered).code);
    svc_.audit->Record(a);
  }
  if (svc_.access_log) {
    // Formatted with compiled format strings into one buffer and handed to the log as text
    // (no format parsing per request); the log writes it off the request path.
    int64_t us = (svc_.clock->MonotonicNanos() - start) / 1000;
    fmt::memory_buffer line;
    auto out = std::back_inserter(line);
    fmt::format_to(out, FMT_COMPILE("method={} bucket={} key="), req.method(),
                   ctx.bucket.empty() ? std::string_view("-") : std::string_view(ctx.bucket.str()));
    AppendQuoted(line, ctx.key);
    fmt::format_to(out, FMT_COMPILE(" status={} in={} out={} ms={}.{:03} id={} remote={} ak={}"),
                   resp.status(), body.bytes_read(), resp.bytes_sent(), us / 1000, us % 1000,
                   request_id, req.remote_ip,
                   ctx.auth.credential.access_key.empty()
                       ? std::string_view("-")
                       : std::string_view(ctx.auth.credential.access_key));
    if (!req.proxy_ip.empty()) fmt::format_to(out, FMT_COMPILE(" via={}"), req.proxy_ip);
    if (!st.ok()) {
      fmt::format_to(out, FMT_COMPILE(" error={}"), LookupError(AnswerCode(st)).code);
    }
    svc_.access_log->Write(svc_.clock->NowMicros(), std::string_view(line.data(), line.size()));
  }
}

}  // namespace sluice::s3
