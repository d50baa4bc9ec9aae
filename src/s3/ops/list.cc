// ListObjects (v1), ListObjectsV2, ListObjectVersions, ListMultipartUploads.
#include "common/strings.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

Result<uint32_t> ParseMax(const Query& q, std::string_view name) {
  if (!q.Has(name)) return 1000u;
  auto v = ParseUint(q.Get(name));
  if (!v)
    return Error(Err::kInvalidArgument,
                 "Provided " + std::string(name) + " must be an integer between 0 and 2147483647");
  return static_cast<uint32_t>(std::min<uint64_t>(*v, 1000));
}

Result<bool> UrlEncoding(const Query& q) {
  if (!q.Has("encoding-type")) return false;
  if (q.Get("encoding-type") != "url")
    return Error(Err::kInvalidArgument, "Invalid Encoding Method specified in Request");
  return true;
}

}  // namespace

Task<Status> ListObjects(Ctx& ctx, bool v2) {
  const Query& q = ctx.query;
  meta::ListQuery lq;
  lq.prefix = q.Get("prefix");
  lq.delimiter = q.Get("delimiter");
  SLUICE_CO_ASSIGN_OR_RETURN(lq.max_keys, ParseMax(q, "max-keys"));
  SLUICE_CO_ASSIGN_OR_RETURN(bool url, UrlEncoding(q));
  auto enc = [url](std::string_view s) { return url ? UriEncode(s, false) : std::string(s); };
  std::string token;
  if (v2) {
    if (q.Has("continuation-token")) {
      auto t = Base64Decode(q.Get("continuation-token"));
      if (!t || q.Get("continuation-token").empty())
        co_return Error(Err::kInvalidArgument, "The continuation token provided is incorrect");
      token = std::move(*t);
      lq.start_after = token;
    } else {
      lq.start_after = q.Get("start-after");
    }
  } else {
    lq.start_after = q.Get("marker");
  }
  // A snapshot lists its source as of its instant.
  BucketName listed = ctx.bucket;
  if (auto snap = co_await SnapshotOf(ctx, ctx.bucket)) {
    listed = snap->source;
    lq.as_of_micros = snap->at;
  }
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ListPage page, co_await ctx.svc.index->ListObjects(listed, lq));

  // Written as it goes (XmlWriter), without an allocation per entry where it can: a page
  // has a thousand.
  XmlWriter w("ListBucketResult");
  w.Add("Name", ctx.bucket.str()).Add("Prefix", enc(lq.prefix));
  if (v2) {
    if (q.Has("continuation-token")) w.Add("ContinuationToken", q.Get("continuation-token"));
    if (q.Has("start-after")) w.Add("StartAfter", enc(q.Get("start-after")));
    w.Add("KeyCount", page.objects.size() + page.common_prefixes.size());
  } else {
    w.Add("Marker", enc(lq.start_after));
  }
  w.Add("MaxKeys", lq.max_keys);
  if (!lq.delimiter.empty()) w.Add("Delimiter", enc(lq.delimiter));
  if (url) w.Add("EncodingType", "url");
  w.AddBool("IsTruncated", page.truncated);
  if (page.truncated) {
    if (v2)
      w.Add("NextContinuationToken", Base64Encode(page.next_marker));
    else
      w.Add("NextMarker", enc(page.next_marker));
  }
  bool owner = !v2 || q.Get("fetch-owner") == "true";
  char mtime[32];
  std::string etag;
  for (const auto& e : page.objects) {
    w.Open("Contents");
    if (url) {
      w.Add("Key", UriEncode(e.key, false));
    } else {
      w.Add("Key", e.key);
    }
    etag.assign(1, '"').append(e.meta.etag).push_back('"');
    w.Add("LastModified", FormatIso8601(e.meta.mtime_micros, mtime))
        .Add("ETag", etag)
        .Add("Size", e.meta.size)
        .Add("StorageClass", "STANDARD");
    if (owner) AddOwner(w, ctx);
    w.Close("Contents");
  }
  for (const auto& p : page.common_prefixes)
    w.Open("CommonPrefixes").Add("Prefix", enc(p)).Close("CommonPrefixes");
  co_return co_await SendXml(ctx, w);
}

// Every version and delete marker, newest first within a key. An object written while the
// bucket was unversioned is its key's "null" version.
Task<Status> ListObjectVersions(Ctx& ctx) {
  const Query& q = ctx.query;
  meta::VersionListQuery lq;
  lq.prefix = q.Get("prefix");
  lq.delimiter = q.Get("delimiter");
  lq.key_marker = q.Get("key-marker");
  const std::string version_marker(q.Get("version-id-marker"));
  if (!version_marker.empty()) {
    if (lq.key_marker.empty())
      co_return Error(Err::kInvalidArgument,
                      "A version-id marker cannot be specified without a key marker.");
    SLUICE_CO_ASSIGN_OR_RETURN(lq.version_id_marker, VersionId::Parse(version_marker));
  }
  SLUICE_CO_ASSIGN_OR_RETURN(lq.max_keys, ParseMax(q, "max-keys"));
  SLUICE_CO_ASSIGN_OR_RETURN(bool url, UrlEncoding(q));
  auto enc = [url](std::string_view s) { return url ? UriEncode(s, false) : std::string(s); };
  meta::VersionListPage page;
  if (auto snap = co_await SnapshotOf(ctx, ctx.bucket)) {
    // A snapshot shows one version per key: the one in its view, as the latest.
    meta::ListQuery view{lq.prefix, lq.delimiter, lq.key_marker, lq.max_keys, snap->at};
    SLUICE_CO_ASSIGN_OR_RETURN(meta::ListPage lp,
                               co_await ctx.svc.index->ListObjects(snap->source, view));
    for (auto& o : lp.objects) {
      if (o.meta.version.empty()) o.meta.version = VersionId::Null();
      page.entries.push_back({std::move(o.key), std::move(o.meta), true});
    }
    page.common_prefixes = std::move(lp.common_prefixes);
    page.truncated = lp.truncated;
    page.next_key_marker = lp.next_marker;
    if (lp.truncated && !page.entries.empty() && page.entries.back().key == lp.next_marker)
      page.next_version_id_marker = page.entries.back().meta.version;
  } else {
    SLUICE_CO_ASSIGN_OR_RETURN(page, co_await ctx.svc.index->ListObjectVersions(ctx.bucket, lq));
  }
  XmlWriter w("ListVersionsResult");
  w.Add("Name", ctx.bucket.str())
      .Add("Prefix", enc(lq.prefix))
      .Add("KeyMarker", enc(lq.key_marker))
      .Add("VersionIdMarker", version_marker);
  if (page.truncated) {
    w.Add("NextKeyMarker", enc(page.next_key_marker));
    if (!page.next_version_id_marker.empty())
      w.Add("NextVersionIdMarker", page.next_version_id_marker.ToString());
  }
  w.Add("MaxKeys", lq.max_keys);
  if (!lq.delimiter.empty()) w.Add("Delimiter", enc(lq.delimiter));
  if (url) w.Add("EncodingType", "url");
  w.AddBool("IsTruncated", page.truncated);
  char mtime[32];
  std::string etag;
  for (const auto& e : page.entries) {
    const bool marker = e.meta.delete_marker;
    const char* name = marker ? "DeleteMarker" : "Version";
    w.Open(name);
    w.Add("Key", enc(e.key))
        .Add("VersionId", e.meta.version.ToString())
        .AddBool("IsLatest", e.is_latest)
        .Add("LastModified", FormatIso8601(e.meta.mtime_micros, mtime));
    if (!marker) {
      etag.assign(1, '"').append(e.meta.etag).push_back('"');
      w.Add("ETag", etag).Add("Size", e.meta.size).Add("StorageClass", "STANDARD");
    }
    AddOwner(w, ctx);
    w.Close(name);
  }
  for (const auto& p : page.common_prefixes)
    w.Open("CommonPrefixes").Add("Prefix", enc(p)).Close("CommonPrefixes");
  co_return co_await SendXml(ctx, w);
}

Task<Status> ListMultipartUploads(Ctx& ctx) {
  const Query& q = ctx.query;
  meta::UploadListQuery lq;
  lq.prefix = q.Get("prefix");
  lq.delimiter = q.Get("delimiter");
  lq.key_marker = q.Get("key-marker");
  lq.upload_id_marker = q.Get("upload-id-marker");
  SLUICE_CO_ASSIGN_OR_RETURN(lq.max_uploads, ParseMax(q, "max-uploads"));
  SLUICE_CO_ASSIGN_OR_RETURN(bool url, UrlEncoding(q));
  auto enc = [url](std::string_view s) { return url ? UriEncode(s, false) : std::string(s); };
  SLUICE_CO_ASSIGN_OR_RETURN(meta::UploadListPage page,
                             co_await ctx.svc.index->ListUploads(ctx.bucket, lq));

  XmlDoc doc("ListMultipartUploadsResult");
  XmlNode r = doc.root();
  r.Add("Bucket", ctx.bucket)
      .Add("KeyMarker", enc(lq.key_marker))
      .Add("UploadIdMarker", lq.upload_id_marker)
      .Add("NextKeyMarker", page.truncated ? enc(page.next_key_marker) : "")
      .Add("NextUploadIdMarker", page.truncated ? page.next_upload_id_marker : "")
      .Add("Prefix", enc(lq.prefix));
  if (!lq.delimiter.empty()) r.Add("Delimiter", enc(lq.delimiter));
  r.Add("MaxUploads", lq.max_uploads);
  if (url) r.Add("EncodingType", "url");
  r.AddBool("IsTruncated", page.truncated);
  for (const auto& u : page.uploads) {
    XmlNode n = r.Child("Upload");
    n.Add("Key", enc(u.key)).Add("UploadId", u.upload_id);
    AddOwner(n, ctx, "Initiator");
    AddOwner(n, ctx);
    n.Add("StorageClass", "STANDARD").Add("Initiated", FormatIso8601(u.initiated_micros));
  }
  for (const auto& p : page.common_prefixes) r.Child("CommonPrefixes").Add("Prefix", enc(p));
  co_return co_await SendXml(ctx, doc);
}

}  // namespace sluice::s3::ops
