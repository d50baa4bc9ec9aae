// The S3 endpoint a read-through cache serves from (`sluice server --cache-of URL`,
// docs/cache.md): AWS, Ceph RGW, another sluice. The S3 layer sees only this interface;
// the server wires in the implementation (server/origin_client.h, over the client
// library). Calls block: the cache makes them on its own threads or the blocking pool.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/names.h"
#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::s3 {

// What the origin says of the current version of an object.
struct OriginObject {
  std::string etag;  // without quotes
  uint64_t size = 0;
  int64_t mtime_micros = 0;
  std::string content_type;
  // content-encoding, content-disposition, cache-control, expires, content-language and
  // x-amz-meta-*, lowercase, as meta::ObjectMeta::headers keeps them.
  meta::HeaderList headers;
};

// An answer passed on to the client as the origin gave it (a listing).
struct OriginAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Errors: kNoSuchKey and kNoSuchBucket as the origin says them; kAccessDenied when it
// refuses the cache's credentials; kServiceUnavailable when it is down, slow or answers
// with a 5xx (the cache then serves what it holds).
class Origin {
 public:
  virtual ~Origin() = default;
  // The endpoint, for messages ("http://10.0.0.5:9000").
  virtual const std::string& endpoint() const = 0;
  virtual Result<OriginObject> Head(const BucketName& bucket, const ObjectKey& key) = 0;
  // Whether the bucket exists there (false: NoSuchBucket).
  virtual Result<bool> HasBucket(const BucketName& bucket) = 0;
  // Streams the bytes of the version whose ETag is `etag` to `sink(data, n, offset)` in
  // order. kPreconditionFailed when the object has changed since. After a retry inside
  // the call the sink sees bytes again from an earlier offset; it skips what it has.
  using Sink = std::function<Status(const char* data, size_t n, uint64_t offset)>;
  virtual Status Get(const BucketName& bucket, const ObjectKey& key, const std::string& etag,
                     const Sink& sink) = 0;
  // A read-only request (a listing) sent with the cache's credentials: `path` and `query`
  // raw, as they go on the wire.
  virtual Result<OriginAnswer> Forward(const std::string& method, const std::string& path,
                                       const std::string& query) = 0;
};

}  // namespace sluice::s3
