#include "s3/versions.h"

#include "common/strings.h"

namespace sluice::s3 {

Result<meta::ObjectMeta> ReadObjectVersion(Ctx& ctx, const BucketName& bucket,
                                           const ObjectKey& key, const VersionId& version) {
  SLUICE_ASSIGN_OR_RETURN(meta::ObjectMeta m, ctx.svc.index->GetObject(bucket, key, version));
  if (!m.delete_marker) return m;
  ctx.error_headers.emplace_back("x-amz-delete-marker", "true");
  ctx.error_headers.emplace_back("x-amz-version-id", m.version.ToString());
  if (version.empty()) return Error(Err::kNoSuchKey, "The specified key does not exist.");
  ctx.error_headers.emplace_back("Allow", "DELETE");
  ctx.error_headers.emplace_back("Last-Modified", FormatHttpDate(m.mtime_micros));
  return Error(Err::kMethodNotAllowed, "The specified method is not allowed against this resource.");
}

VersionId NewVersionStamp(const Services& svc, int64_t now_micros) {
  uint64_t rand = 0;
  svc.random->Fill(&rand, sizeof rand);
  return VersionId::Of(now_micros > 0 ? static_cast<uint64_t>(now_micros) : 1, rand);
}

void AddVersionHeader(http::ResponseHead& head, const VersionId& v) {
  if (!v.empty()) head.Set("x-amz-version-id", v.ToString());
}

}  // namespace sluice::s3
