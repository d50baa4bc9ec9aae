// GetObjectAttributes: an object's ETag, checksum, parts, storage class and size in one
// XML document, chosen by x-amz-object-attributes.
#include "common/checksum.h"
#include "common/strings.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

constexpr std::string_view kAttributes[] = {"ETag", "Checksum", "ObjectParts", "StorageClass",
                                            "ObjectSize"};

}  // namespace

Task<Status> GetObjectAttributes(Ctx& ctx) {
  // Which attributes: a comma-separated list, possibly over several headers' worth.
  std::vector<std::string> wanted;
  std::string_view list = ctx.req.header("x-amz-object-attributes");
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view a = Trim(list.substr(0, comma));
    if (!a.empty()) {
      if (std::find(std::begin(kAttributes), std::end(kAttributes), a) == std::end(kAttributes))
        co_return Error(Err::kInvalidArgument,
                        "Invalid attribute name specified: " + std::string(a));
      wanted.emplace_back(a);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (wanted.empty())
    co_return Error(Err::kInvalidArgument,
                    "Must specify at least one of the following attributes: "
                    "ETag, Checksum, ObjectParts, StorageClass, ObjectSize");
  auto want = [&](std::string_view a) {
    return std::find(wanted.begin(), wanted.end(), a) != wanted.end();
  };
  uint64_t max_parts = 1000, marker = 0;
  if (ctx.req.has_header("x-amz-max-parts")) {
    auto v = ParseUint(Trim(ctx.req.header("x-amz-max-parts")));
    if (!v) co_return Error(Err::kInvalidArgument, "x-amz-max-parts must be a number");
    max_parts = std::min<uint64_t>(*v, 1000);
  }
  if (ctx.req.has_header("x-amz-part-number-marker")) {
    auto v = ParseUint(Trim(ctx.req.header("x-amz-part-number-marker")));
    if (!v || *v > 10000)
      co_return Error(Err::kInvalidArgument, "x-amz-part-number-marker must be a part number");
    marker = *v;
  }

  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  SLUICE_CO_RETURN_IF_ERROR(CheckReadPreconditions(ctx.req, m));

  XmlDoc doc("GetObjectAttributesResponse");
  XmlNode root = doc.root();
  if (want("ETag")) root.Add("ETag", m.etag);  // unquoted, as S3 returns it here
  if (want("Checksum") && !m.checksum_algo.empty()) {
    root.Child("Checksum")
        .Add("Checksum" + m.checksum_algo, m.checksum_value)
        .Add("ChecksumType", m.checksum_type.empty() ? "FULL_OBJECT" : m.checksum_type);
  }
  if (want("ObjectParts") && m.parts_count > 0) {
    XmlNode parts = root.Child("ObjectParts");
    uint64_t total = m.segments.size();
    uint64_t end = std::min<uint64_t>(total, marker + max_parts);
    parts.Add("PartNumberMarker", marker);
    parts.Add("NextPartNumberMarker", end > marker ? end : marker);
    parts.Add("MaxParts", max_parts);
    parts.AddBool("IsTruncated", end < total);
    parts.Add("PartsCount", m.parts_count);
    bool checksums = m.part_checksums.size() == m.segments.size() && !m.checksum_algo.empty();
    for (uint64_t i = marker; i < end; i++) {
      XmlNode p = parts.Child("Part");
      if (checksums) p.Add("Checksum" + m.checksum_algo, m.part_checksums[i]);
      p.Add("PartNumber", i + 1).Add("Size", m.segments[i].size);
    }
  }
  if (want("StorageClass")) root.Add("StorageClass", "STANDARD");
  if (want("ObjectSize")) root.Add("ObjectSize", m.size);
  http::ResponseHead head;
  head.Set("Content-Type", "application/xml");
  head.Set("Last-Modified", FormatHttpDate(m.mtime_micros));
  AddVersionHeader(head, m.version);
  co_return co_await ctx.resp.Send(head, doc.Render());
}

}  // namespace sluice::s3::ops
