// The origin of a read-through cache (`sluice server --cache-of URL`): any S3 endpoint,
// reached with the client library (SigV4, pooled connections, retries).
#pragma once

#include <memory>
#include <string>

#include "s3/origin.h"

namespace sluice::client {
class Client;
}

namespace sluice::server {

struct OriginSpec {
  std::string endpoint;  // http(s)://host:port
  std::string access_key, secret_key, session_token;
  std::string region = "us-east-1";
  std::string ca_file;  // PEM bundle for an HTTPS origin; empty: the system's
  int timeout_s = 30;   // without progress on one request
};

class S3Origin final : public s3::Origin {
 public:
  explicit S3Origin(const OriginSpec& spec);
  ~S3Origin() override;
  const std::string& endpoint() const override { return endpoint_; }
  Result<s3::OriginObject> Head(const BucketName& bucket, const ObjectKey& key) override;
  Result<bool> HasBucket(const BucketName& bucket) override;
  Status Get(const BucketName& bucket, const ObjectKey& key, const std::string& etag,
             const Sink& sink) override;
  Result<s3::OriginAnswer> Forward(const std::string& method, const std::string& path,
                                   const std::string& query) override;

 private:
  std::string endpoint_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace sluice::server
