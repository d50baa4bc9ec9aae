#include <sluice/client.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <optional>
#include <variant>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"
#include "io/env.h"

namespace sluice::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Home() { return Env("HOME"); }

// The keys of one section of an AWS INI file ("default", or "profile NAME" in config).
std::map<std::string, std::string> IniSection(const std::string& path, const std::string& section) {
  std::map<std::string, std::string> out;
  auto text = io::PosixFileSystem()->ReadWholeFile(path);
  if (!text.ok()) return out;  // no such file: nothing from it
  std::string_view rest = *text;
  std::string cur;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view l = Trim(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      cur = std::string(Trim(l.substr(1, l.size() - 2)));
      continue;
    }
    if (cur != section) continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    out[ToLower(Trim(l.substr(0, eq)))] = std::string(Trim(l.substr(eq + 1)));
  }
  return out;
}

struct Url {
  bool tls = false;
  std::string host, port, host_header;
};

Url ParseEndpoint(const std::string& e) {
  Url u;
  std::string_view s = e;
  if (s.starts_with("https://")) {
    u.tls = true;
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else {
    throw ClientError("the endpoint '" + e + "' must start with http:// or https://");
  }
  s = s.substr(0, s.find('/'));
  u.host_header = std::string(s);
  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos && s.find(']', colon) == std::string_view::npos) {
    u.host = std::string(s.substr(0, colon));
    u.port = std::string(s.substr(colon + 1));
  } else {
    u.host = std::string(s);
    u.port = u.tls ? "443" : "80";
  }
  if (u.host.size() > 2 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty()) throw ClientError("the endpoint '" + e + "' names no host");
  return u;
}

}  // namespace

std::string UrlEncode(const std::string& s, bool keep_slash) { return UriEncode(s, !keep_slash); }

Settings Resolve(const Settings& flags) {
  Settings s = flags;
  std::string profile = !s.profile.empty() ? s.profile : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string cred_file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (cred_file.empty()) cred_file = Home() + "/.aws/credentials";
  std::string config_file = Env("AWS_CONFIG_FILE");
  if (config_file.empty()) config_file = Home() + "/.aws/config";
  auto creds = IniSection(cred_file, profile);
  auto config = IniSection(config_file, profile == "default" ? "default" : "profile " + profile);

  if (s.endpoint.empty()) s.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (s.endpoint.empty()) s.endpoint = Env("AWS_ENDPOINT_URL");
  if (s.endpoint.empty()) s.endpoint = config["endpoint_url"];
  if (s.access_key.empty() && s.secret_key.empty()) {
    s.access_key = Env("AWS_ACCESS_KEY_ID");
    s.secret_key = Env("AWS_SECRET_ACCESS_KEY");
    if (s.session_token.empty()) s.session_token = Env("AWS_SESSION_TOKEN");
  }
  for (auto* src : {&creds, &config}) {
    if (s.access_key.empty() && s.secret_key.empty()) {
      s.access_key = (*src)["aws_access_key_id"];
      s.secret_key = (*src)["aws_secret_access_key"];
      if (s.session_token.empty()) s.session_token = (*src)["aws_session_token"];
    }
  }
  if (s.region.empty()) s.region = Env("AWS_REGION");
  if (s.region.empty()) s.region = Env("AWS_DEFAULT_REGION");
  if (s.region.empty()) s.region = config["region"];
  if (s.region.empty()) s.region = "us-east-1";
  if (s.ca_file.empty()) s.ca_file = Env("AWS_CA_BUNDLE");
  if (s.endpoint.empty())
    throw ClientError("no endpoint: pass --endpoint, or set AWS_ENDPOINT_URL or endpoint_url in ~/.aws/config");
  if (s.access_key.empty() || s.secret_key.empty())
    throw ClientError("no credentials: pass --access-key and --secret-key, set AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY, or add profile '" + profile + "' to " + cred_file);
  ParseEndpoint(s.endpoint);  // validates
  return s;
}

struct Client::Conn {
  asio::io_context io;
  std::optional<asio::ssl::context> ssl_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buf;
  Url url;
  bool open = false;

  void Connect(const Settings& s) {
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto addrs = resolver.resolve(url.host, url.port, ec);
    if (ec) throw ClientError("cannot resolve " + url.host + ": " + ec.message());
    if (url.tls) {
      if (!ssl_ctx) {
        ssl_ctx.emplace(asio::ssl::context::tls_client);
        if (!s.ca_file.empty()) ssl_ctx->load_verify_file(s.ca_file, ec);
        else ssl_ctx->set_default_verify_paths(ec);
        if (ec) throw ClientError("cannot load CA certificates: " + ec.message());
        ssl_ctx->set_verify_mode(s.verify_tls ? asio::ssl::verify_peer : asio::ssl::verify_none);
      }
      tls.emplace(io, *ssl_ctx);
      SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str());
      if (s.verify_tls) tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
      beast::get_lowest_layer(*tls).expires_after(std::chrono::seconds(30));
      beast::get_lowest_layer(*tls).connect(addrs, ec);
      if (!ec) tls->handshake(asio::ssl::stream_base::client, ec);
    } else {
      plain.emplace(io);
      plain->expires_after(std::chrono::seconds(30));
      plain->connect(addrs, ec);
    }
    if (ec) throw ClientError("cannot connect to " + s.endpoint + ": " + ec.message());
    open = true;
  }

  template <typename F>
  auto WithStream(F&& f) {
    if (url.tls) return f(*tls);
    return f(*plain);
  }
};

Client::Client(Settings settings) : settings_(std::move(settings)), conn_(std::make_unique<Conn>()) {
  conn_->url = ParseEndpoint(settings_.endpoint);
}

Client::~Client() = default;

Response Client::Send(const std::string& method, const std::string& path, const std::string& query,
                      const std::string& body, const std::map<std::string, std::string>& headers,
                      const std::string& service) {
  std::string date = FormatAmzDate(io::SystemClock()->NowMicros());
  std::string payload = Sha256Hex(body);
  std::map<std::string, std::string> signed_headers;
  for (const auto& [k, v] : headers) signed_headers[ToLower(k)] = v;
  signed_headers["host"] = conn_->url.host_header;
  signed_headers["x-amz-date"] = date;
  signed_headers["x-amz-content-sha256"] = payload;
  if (!settings_.session_token.empty()) signed_headers["x-amz-security-token"] = settings_.session_token;
  std::string creq = method + "\n" + auth::CanonicalUri(path) + "\n" + auth::CanonicalQuery(query) + "\n";
  std::string names;
  for (const auto& [k, v] : signed_headers) {
    creq += k + ":" + auth::CanonicalHeaderValue(v) + "\n";
    names += (names.empty() ? "" : ";") + k;
  }
  creq += "\n" + names + "\n" + payload;
  std::string scope = date.substr(0, 8) + "/" + settings_.region + "/" + service + "/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  std::string key = auth::DeriveSigningKey(settings_.secret_key, date.substr(0, 8), settings_.region, service);
  std::string auth = "AWS4-HMAC-SHA256 Credential=" + settings_.access_key + "/" + scope +
                     ", SignedHeaders=" + names + ", Signature=" + HexEncode(HmacSha256(key, sts));

  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(query.empty() ? path : path + "?" + query);
  req.version(11);
  for (const auto& [k, v] : signed_headers) req.set(k, v);
  req.set(bhttp::field::authorization, auth);
  req.set(bhttp::field::user_agent, "sluice-cli");
  req.body() = body;
  req.prepare_payload();

  for (int attempt = 0;; attempt++) {
    if (!conn_->open) conn_->Connect(settings_);
    beast::error_code ec;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ULL << 30);
    conn_->WithStream([&](auto& stream) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(120));
      bhttp::write(stream, req, ec);
      if (!ec) bhttp::read(stream, conn_->buf, parser, ec);
      return 0;
    });
    if (ec) {
      conn_->open = false;
      conn_->buf.clear();
      // A kept-alive connection the server closed meanwhile: one fresh try.
      if (attempt == 0 && (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                           ec == asio::error::broken_pipe || ec == asio::error::eof))
        continue;
      throw ClientError("request to " + settings_.endpoint + " failed: " + ec.message());
    }
    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers[ToLower(std::string(f.name_string()))] = std::string(f.value());
    out.body = std::move(res.body());
    if (!res.keep_alive()) conn_->open = false;
    return out;
  }
}

}  // namespace sluice::client
