// A read-through cache's operations (`sluice server --cache-of URL`, docs/cache.md): GET
// and HEAD of objects from the local copy or a fill in flight (s3/read_cache.h), listings
// passed on to the origin, and a clear 501 for everything else.
#include "common/strings.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/parse.h"
#include "s3/read_cache.h"
#include "s3/respond.h"
#include "s3/router.h"

namespace sluice::s3::ops {
namespace {

// A request served from a fill waits for this much more of the object (or its end) before
// it sends again, so a waiter wakes once per piece rather than once per network read.
constexpr uint64_t kFillStep = 1 << 20;

bool ServedByCache(Op op) {
  switch (op) {
    case Op::kListBuckets:
    case Op::kHeadBucket:
    case Op::kGetBucketLocation:
    case Op::kListObjects:
    case Op::kListObjectsV2:
    case Op::kGetObject:
    case Op::kHeadObject:
      return true;
    default:
      return false;
  }
}

// The query of a presigned request without its signature: the origin gets the cache's.
std::string UnsignedQuery(std::string_view raw) {
  static constexpr std::string_view kAuth[] = {
      "x-amz-algorithm",     "x-amz-credential", "x-amz-date",           "x-amz-expires",
      "x-amz-signedheaders", "x-amz-signature",  "x-amz-security-token", "awsaccesskeyid",
      "signature",           "expires"};
  std::string out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t amp = raw.find('&', start);
    std::string_view part =
        raw.substr(start, amp == std::string_view::npos ? raw.npos : amp - start);
    std::string name = ToLower(part.substr(0, part.find('=')));
    bool auth = false;
    for (auto a : kAuth) auth = auth || name == a;
    if (!part.empty() && !auth) {
      if (!out.empty()) out += '&';
      out += part;
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

// A fill's failure as its readers' answer: the origin's 404 and 503 stand; anything else
// (the object changed under the fill's If-Match, the local disk failed) is a 503 to retry,
// never the client's own 412 or a 500 it cannot act on.
Status FillFailed(const Status& st) {
  if (st.code() == Err::kNoSuchKey || st.code() == Err::kServiceUnavailable) return st;
  return Error(Err::kServiceUnavailable,
               "the read-through cache could not fetch the object: " + std::string(st.message()));
}

meta::ObjectMeta MetaOf(const OriginObject& o) {
  meta::ObjectMeta m;
  m.size = o.size;
  m.etag = o.etag;
  m.mtime_micros = o.mtime_micros;
  m.content_type = o.content_type;
  m.headers = o.headers;
  return m;
}

// GET or HEAD answered from a fill in flight: the head from what the origin said, the
// bytes as they land.
Task<Status> ServeFill(Ctx& ctx, const std::shared_ptr<CacheFill>& fill, bool head_only) {
  const meta::ObjectMeta m = MetaOf(fill->object);
  Status pre = CheckReadPreconditions(ctx.req, m);
  if (pre.code() == Err::kNotModified) {
    http::ResponseHead head;
    head.Set("ETag", QuoteEtag(m.etag));
    head.Set("Last-Modified", FormatHttpDate(m.mtime_micros));
    co_return co_await SendEmpty(ctx, 304, std::move(head));
  }
  SLUICE_CO_RETURN_IF_ERROR(pre);
  http::ResponseHead head;
  AddObjectHeaders(head, m, ctx.query);
  uint64_t offset = 0, length = m.size;
  SLUICE_CO_ASSIGN_OR_RETURN(std::optional<uint32_t> pn, ParsePartNumber(ctx.req, ctx.query));
  if (pn) {
    if (*pn > 1) co_return Error(Err::kInvalidPartNumber, "");  // the copy is one part
    head.Set("x-amz-mp-parts-count", "1");
  } else {
    SLUICE_CO_RETURN_IF_ERROR(ApplyRange(ctx.req, m.size, head, &offset, &length));
  }
  if (head_only || length == 0) co_return co_await ctx.resp.Send(head, std::string_view(), length);

  // The first bytes of the range first, so a fill that fails at once is still a clean error;
  // from a store that cannot read data still being written, the whole fill first.
  const uint64_t end = offset + length;
  const bool as_it_lands = ctx.svc.data->backend().ReadsWhileWriting();
  const uint64_t first_wanted = as_it_lands ? std::min(end, offset + 1) : UINT64_MAX;
  co_await fill->WaitFor(first_wanted, *ctx.svc.blocking);
  if (auto p = fill->Snapshot(); p.done && !p.status.ok()) co_return FillFailed(p.status);
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.Begin(head, length));
  std::unique_ptr<storage::DataReader> reader;
  uint64_t pos = offset;
  while (pos < end) {
    co_await fill->WaitFor(std::min(end, pos + kFillStep), *ctx.svc.blocking);
    const CacheFill::Progress p = fill->Snapshot();
    if (p.done && !p.status.ok()) co_return FillFailed(p.status);
    if (p.written <= pos) {
      if (p.done) co_return Status(Err::kInternal, "the fill ended short of the object");
      continue;
    }
    if (!reader) {
      auto r = co_await ctx.svc.data->Open(p.data_id);
      // Published while this request opened it: the file moved under objects/.
      if (!r.ok() && fill->Snapshot().done) r = co_await ctx.svc.data->Open(p.data_id);
      if (!r.ok()) co_return DataOpenFailed(r.status(), p.data_id);
      reader = std::move(r).value();
    }
    const uint64_t n = std::min(end, p.written) - pos;
    SLUICE_CO_RETURN_IF_ERROR(co_await SendData(ctx, *reader, pos, n));
    pos += n;
  }
  co_return Status::Ok();
}

}  // namespace

Task<Status> PrepareCachedRequest(Ctx& ctx, Op op) {
  ReadCache& cache = *ctx.svc.cache;
  if (!ServedByCache(op))
    co_return Error(Err::kNotImplemented, std::string(OpName(op)) +
                                              " is not served here: this server is a read-through "
                                              "cache of " +
                                              cache.origin().endpoint() +
                                              ", which serves GET and HEAD of "
                                              "objects and listings; send writes to the origin");
  if (ctx.auth.credential.access_key.empty())
    co_return Error(Err::kAccessDenied,
                    "Access Denied: a read-through cache serves signed requests only");
  if (!ctx.bucket.empty())
    SLUICE_CO_RETURN_IF_ERROR(
        co_await cache.EnsureBucket(ctx.bucket, ctx.auth.credential.owner_id));
  co_return Status::Ok();
}

Task<Status> CachedGetObject(Ctx& ctx, bool head_only) {
  SLUICE_CO_RETURN_IF_ERROR(
      CheckResponseOverrides(ctx.query, ctx.auth.credential.access_key.empty()));
  if (!ctx.version.empty())
    co_return Error(Err::kNotImplemented,
                    "a read-through cache serves the latest version of an object only; read "
                    "other versions at the origin");
  ReadCache& cache = *ctx.svc.cache;
  for (int attempt = 0;; ++attempt) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto fill, co_await cache.Resolve(ctx.bucket, ctx.key));
    if (fill) co_return co_await ServeFill(ctx, fill, head_only);
    Status st = co_await GetObject(ctx, head_only);
    // Evicted between the check and the read: fill it again, once.
    if (st.code() != Err::kNoSuchKey || ctx.resp.started() || attempt > 0) co_return st;
    cache.Lost(ctx.bucket, ctx.key);
    ctx.error_headers.clear();
  }
}

Task<Status> ForwardToOrigin(Ctx& ctx) {
  Origin& origin = ctx.svc.cache->origin();
  const std::string method(ctx.req.method());
  const std::string path = ctx.bucket.empty() ? "/" : "/" + ctx.bucket.str();
  const std::string query = UnsignedQuery(ctx.req.query());
  SLUICE_CO_ASSIGN_OR_RETURN(OriginAnswer answer, co_await Offload(*ctx.svc.blocking, [&] {
                               return origin.Forward(method, path, query);
                             }));
  http::ResponseHead head;
  head.status = answer.status;
  if (!answer.content_type.empty()) head.Set("Content-Type", answer.content_type);
  co_return co_await ctx.resp.Send(head, answer.body);
}

}  // namespace sluice::s3::ops
