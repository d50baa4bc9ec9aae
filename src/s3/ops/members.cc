// The members of a tar object (sluice's own, docs/tar-members.md): one member read by name
// (`GET|HEAD /bucket/shard.tar?member=NAME`, ranges and conditions as for a GET), and the
// member table (`GET /bucket/shard.tar?members`: name, offset and size of each, a page at a
// time), from which any S3 client can also read a member with a plain ranged GET.
// Authorized as a GET of the archive (s3:GetObject, s3:GetObjectVersion with a version).
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/parse.h"
#include "s3/respond.h"
#include "s3/tar_members.h"
#include "s3/versions.h"
#include "s3/xml.h"

namespace sluice::s3::ops {
namespace {

constexpr size_t kDefaultMaxMembers = 1000;
constexpr size_t kMaxMaxMembers = 10000;

}  // namespace

Task<Status> GetObjectMember(Ctx& ctx, bool head_only) {
  const std::string name(ctx.query.Get("member"));
  if (name.empty())
    co_return Error(Err::kInvalidArgument, "member= must name a member of the tar archive");
  const Result<meta::ObjectMeta> found =
      co_await LookupVersion(ctx, ctx.bucket, ctx.key, ctx.version);
  Status readable = ReadableVersion(ctx, found, ctx.version);
  if (!readable.ok()) co_return co_await HideMissingKey(ctx, Op::kGetObject, std::move(readable));
  const meta::ObjectMeta& m = *found;
  SLUICE_CO_ASSIGN_OR_RETURN(TarEntry e, co_await FindMember(ctx, ctx.key, m, name));
  if (e.offset > m.size || e.size > m.size - e.offset)
    co_return Status(Err::kCorruption, "member " + name + " lies past the end of its archive");

  // The member as a GET sees an object: its own ETag, the archive's time.
  meta::ObjectMeta view;
  view.etag = MemberEtag(m, e);
  view.mtime_micros = m.mtime_micros;
  view.size = e.size;
  http::ResponseHead head;
  head.Set("ETag", QuoteEtag(view.etag));
  head.Set("Last-Modified", FormatHttpDate(m.mtime_micros));
  AddVersionHeader(head, m.version);
  Status pre = CheckReadPreconditions(ctx.req, view);
  if (pre.code() == Err::kNotModified) co_return co_await SendEmpty(ctx, 304, std::move(head));
  SLUICE_CO_RETURN_IF_ERROR(pre);
  head.Set("Content-Type", "application/octet-stream");
  head.Set("Accept-Ranges", "bytes");
  uint64_t offset = 0, length = e.size;
  SLUICE_CO_RETURN_IF_ERROR(ApplyRange(ctx.req, e.size, head, &offset, &length));
  const uint64_t at = e.offset + offset;  // in the archive
  if (head_only || length == 0 || m.segments.empty()) {
    std::string_view body = head_only || length == 0
                                ? std::string_view()
                                : std::string_view(m.inline_data).substr(at, length);
    co_return co_await ctx.resp.Send(head, body, length);
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto first, co_await OpenFirstSegment(ctx, m, at, length));
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.Begin(head, length));
  co_return co_await SendObjectRange(ctx, m, at, length, std::move(first));
}

Task<Status> ListObjectMembers(Ctx& ctx) {
  size_t max = kDefaultMaxMembers;
  if (ctx.query.Has("max-members")) {
    auto v = ParseUint(ctx.query.Get("max-members"));
    if (!v || *v < 1 || *v > kMaxMaxMembers)
      co_return Error(Err::kInvalidArgument,
                      "max-members must be an integer from 1 to " + std::to_string(kMaxMaxMembers));
    max = *v;
  }
  const std::string after(ctx.query.Get("start-after"));
  const Result<meta::ObjectMeta> found =
      co_await LookupVersion(ctx, ctx.bucket, ctx.key, ctx.version);
  Status readable = ReadableVersion(ctx, found, ctx.version);
  if (!readable.ok()) co_return co_await HideMissingKey(ctx, Op::kGetObject, std::move(readable));
  const meta::ObjectMeta& m = *found;
  // One more than asked says whether the page is the last.
  SLUICE_CO_ASSIGN_OR_RETURN(auto page, co_await ListMembersOf(ctx, ctx.key, m, after, max + 1));
  const bool truncated = page.size() > max;
  if (truncated) page.resize(max);

  XmlDoc doc("ListMembersResult");
  XmlNode& root = doc.root();
  root.Add("Key", ctx.key.str());
  if (!m.version.empty()) root.Add("VersionId", m.version.ToString());
  root.Add("ETag", QuoteEtag(m.etag));
  root.Add("Size", m.size);
  if (m.tar_members) root.Add("MemberCount", m.tar_members);
  if (!after.empty()) root.Add("StartAfter", after);
  root.Add("MaxMembers", max);
  root.AddBool("IsTruncated", truncated);
  if (truncated) root.Add("NextStartAfter", page.back().name);
  for (const auto& e : page) {
    XmlNode member = root.Child("Member");
    member.Add("Name", e.name);
    member.Add("Offset", e.offset);
    member.Add("Size", e.size);
    member.Add("ETag", QuoteEtag(MemberEtag(m, e)));
  }
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendXml(ctx, doc, std::move(head));
}

}  // namespace sluice::s3::ops
