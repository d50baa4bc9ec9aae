#include "server/origin_client.h"

#include <sluice/client.h>

#include "common/strings.h"
#include "server/remote_s3.h"

namespace sluice::server {
namespace {

// The sink refused bytes (a local write failed): carries its reason out of the client.
struct SinkFailed {
  Status status;
};

std::string ObjectPath(const BucketName& bucket, const ObjectKey& key) {
  return "/" + bucket.str() + "/" + UriEncode(key.str(), false);
}

// An origin's answer other than 2xx, as the cache's error.
Status FromAnswer(int status, const std::string& code, const std::string& what) {
  std::string why = what + ": the origin answered " + std::to_string(status) +
                    (code.empty() ? std::string() : " " + code);
  if (status == 404 && code == "NoSuchBucket")
    return Error(Err::kNoSuchBucket, "The specified bucket does not exist");
  if (status == 404) return Error(Err::kNoSuchKey, "The specified key does not exist.");
  if (status == 412) return Error(Err::kPreconditionFailed, why);
  if (status == 403) return Error(Err::kAccessDenied, "Access Denied: " + why);
  return Error(Err::kServiceUnavailable, why);
}

Status FromException(const client::ClientError& e, const std::string& what) {
  if (e.http_status() == 0) return Error(Err::kServiceUnavailable, what + ": " + e.what());
  return FromAnswer(e.http_status(), e.code(), what + " (" + e.what() + ")");
}

}  // namespace

S3Origin::S3Origin(const OriginSpec& spec) : endpoint_(spec.endpoint) {
  client::Settings s;
  s.endpoint = spec.endpoint;
  s.access_key = spec.access_key;
  s.secret_key = spec.secret_key;
  s.session_token = spec.session_token;
  s.region = spec.region.empty() ? "us-east-1" : spec.region;
  s.ca_file = spec.ca_file;
  s.timeout_s = spec.timeout_s;
  s.max_attempts = 3;  // a cache miss waits on these: give up soon and answer 503
  client_ = std::make_unique<client::Client>(s);
}

S3Origin::~S3Origin() = default;

Result<s3::OriginObject> S3Origin::Head(const BucketName& bucket, const ObjectKey& key) {
  const std::string path = ObjectPath(bucket, key);
  client::Response r;
  try {
    r = client_->Send("HEAD", path, "", "");
  } catch (const client::ClientError& e) {
    return FromException(e, "HEAD " + path);
  }
  if (r.status != 200) return FromAnswer(r.status, S3ErrorCode(r), "HEAD " + path);
  s3::OriginObject o;
  o.etag = UnquoteEtag(r.header("etag"));
  auto size = ParseUint(r.header("content-length"));
  if (o.etag.empty() || !size)
    return Error(Err::kServiceUnavailable, "HEAD " + path + ": the origin sent no ETag or size");
  o.size = *size;
  if (auto t = ParseHttpDate(r.header("last-modified"))) o.mtime_micros = *t;
  o.content_type = r.header("content-type");
  for (const auto& [name, value] : r.headers) {
    if (name == "content-encoding" || name == "content-disposition" || name == "cache-control" ||
        name == "expires" || name == "content-language" ||
        StartsWithIgnoreCase(name, "x-amz-meta-"))
      o.headers.emplace_back(name, value);
  }
  return o;
}

Result<bool> S3Origin::HasBucket(const BucketName& bucket) {
  const std::string path = "/" + bucket.str();
  client::Response r;
  try {
    r = client_->Send("HEAD", path, "", "");
  } catch (const client::ClientError& e) {
    return FromException(e, "HEAD " + path);
  }
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return FromAnswer(r.status, S3ErrorCode(r), "HEAD " + path);
}

Status S3Origin::Get(const BucketName& bucket, const ObjectKey& key, const std::string& etag,
                     const Sink& sink) {
  const std::string path = ObjectPath(bucket, key);
  client::Response r;
  try {
    r = client_->Get(path, "", {{"if-match", "\"" + etag + "\""}},
                     [&](const char* data, size_t n, uint64_t offset) {
                       Status st = sink(data, n, offset);
                       if (!st.ok()) throw SinkFailed{std::move(st)};
                     });
  } catch (const SinkFailed& f) {
    return f.status;
  } catch (const client::ClientError& e) {
    return FromException(e, "GET " + path);
  }
  if (r.status / 100 != 2) return FromAnswer(r.status, S3ErrorCode(r), "GET " + path);
  return Status::Ok();
}

Result<s3::OriginAnswer> S3Origin::Forward(const std::string& method, const std::string& path,
                                           const std::string& query) {
  client::Response r;
  try {
    r = client_->Send(method, path, query, "");
  } catch (const client::ClientError& e) {
    return FromException(e, method + " " + path);
  }
  return s3::OriginAnswer{r.status, r.header("content-type"), std::move(r.body)};
}

}  // namespace sluice::server
