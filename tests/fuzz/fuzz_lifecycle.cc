// Bucket configurations kept in canonical form (PutBucketLifecycleConfiguration and
// PutBucketReplication bodies) and version ids (?versionId=, version-id-marker,
// DeleteObjects' <VersionId>): parse, and a configuration that parses must render to a
// canonical form that parses back to itself.
#include <cstdint>
#include <cstdlib>

#include "common/names.h"
#include "s3/lifecycle.h"
#include "s3/replication.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = s3::ParseLifecycle(in);
  if (c.ok()) {
    std::string canon = s3::RenderLifecycle(*c);
    auto again = s3::ParseLifecycle(canon);
    if (!again.ok() || s3::RenderLifecycle(*again) != canon) std::abort();
    meta::ObjectMeta m;
    m.size = size;
    m.mtime_micros = static_cast<int64_t>(size) * 1000003;
    if (auto e = s3::ExpiryOf(*c, in.substr(0, 16), m)) (void)s3::ExpirationHeader(*e);
  }
  auto r = s3::ParseReplication(in);
  if (r.ok()) {
    std::string canon = s3::RenderReplication(*r);
    auto again = s3::ParseReplication(canon);
    if (!again.ok() || s3::RenderReplication(*again) != canon) std::abort();
    meta::ObjectMeta m;
    s3::MarkForReplication(&*r, in.substr(0, 16), &m);
    (void)s3::ReplicatesMarker(&*r, in.substr(0, 16));
  }
  auto v = VersionId::Parse(in);
  if (v.ok() && !VersionId::Parse(v->ToString()).ok()) std::abort();
  if (v.ok() && v->ToString() != in) std::abort();
  (void)ParseBucketName(in);
  (void)ParseObjectKey(in);
  (void)ParseUploadId(in);
  return 0;
}
