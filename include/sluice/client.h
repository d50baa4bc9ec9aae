// The sluice client library's public surface (std only): where the endpoint and the
// credentials come from, and signed HTTP requests to any S3 endpoint.
//
// Resolution follows the AWS tools, first match wins:
//   endpoint: the flag, then AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then endpoint_url in
//             the profile's section of ~/.aws/config;
//   credentials: the flags, then AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
//             AWS_SESSION_TOKEN, then the profile (AWS_PROFILE, default "default") in
//             ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE) and ~/.aws/config
//             (AWS_CONFIG_FILE);
//   region: the flag, AWS_REGION / AWS_DEFAULT_REGION, the profile, then us-east-1.
//
// Thread safety: a Client is used by one thread at a time; make one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace sluice::client {

// A transport or configuration failure (no HTTP answer at all). HTTP error statuses are
// answers, returned in Response.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Settings {
  std::string endpoint;  // "http://127.0.0.1:9000"
  std::string access_key, secret_key, session_token;
  std::string region;
  std::string profile;
  std::string ca_file;    // PEM bundle for HTTPS (AWS_CA_BUNDLE); empty: the system's
  bool verify_tls = true;
};

// Fills what `flags` leaves empty from the environment and the AWS files. Throws
// ClientError naming what is missing (no endpoint, no credentials).
Settings Resolve(const Settings& flags);

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
};

class Client {
 public:
  explicit Client(Settings settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One SigV4-signed request; `path` and `query` are raw (percent-encoded as they go on
  // the wire). Keeps the connection alive between calls, reconnecting when the server
  // has closed it. Throws ClientError when no answer could be had.
  Response Send(const std::string& method, const std::string& path, const std::string& query,
                const std::string& body, const std::map<std::string, std::string>& headers = {},
                const std::string& service = "s3");

  const Settings& settings() const { return settings_; }

 private:
  struct Conn;
  Settings settings_;
  std::unique_ptr<Conn> conn_;
};

// Percent-encodes for a URL path ('/' kept) or a query value.
std::string UrlEncode(const std::string& s, bool keep_slash);

}  // namespace sluice::client
