// The client library: settings resolution, the connection pool, signing, retries, and
// the plain S3 calls. Transfers (parallel ranged GET, multipart upload, the reader) are in
// transfer.cc.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sluice/client.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <pugixml.hpp>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>
#include <type_traits>

#include "auth/sigv4.h"
#include "client/internal.h"
#include "common/hash.h"
#include "common/strings.h"
#include "io/env.h"

namespace sluice::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// Receives until `*got` reaches `need`, straight into buf. The socket carries SO_RCVTIMEO
// (set at connect), so a peer that goes silent ends this with timed_out rather than a hang.
beast::error_code RecvAll(int fd, char* buf, uint64_t need, uint64_t* got, int timeout_s) {
  while (*got < need) {
    ssize_t r = ::recv(fd, buf + *got, need - *got, MSG_WAITALL);
    if (r > 0) {
      *got += static_cast<uint64_t>(r);
      continue;
    }
    if (r == 0) return asio::error::eof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // On a blocking socket this is SO_RCVTIMEO expiring; on a non-blocking one, wait
      // for bytes up to the timeout.
      if (!(::fcntl(fd, F_GETFL) & O_NONBLOCK)) return asio::error::timed_out;
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, timeout_s * 1000);
      if (n == 0) return asio::error::timed_out;
      if (n < 0 && errno != EINTR) return {errno, boost::system::system_category()};
      continue;
    }
    return {errno, boost::system::system_category()};
  }
  return {};
}

std::string Env(const char* name) {
  // The library never sets the environment; a program that does so on another thread while
  // a client starts is the caller's race.
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return v ? v : "";
}

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
  std::string unix_path;  // unix:///PATH: a server's Unix-domain socket on this host
};

Url ParseEndpoint(const std::string& e) {
  Url u;
  std::string_view s = e;
  if (s.starts_with("unix://")) {
    // A server on this host (sluice server --unix-socket PATH): plain HTTP, "localhost"
    // in the Host header and the signature.
    u.unix_path = std::string(s.substr(7));
    if (u.unix_path.empty() || u.unix_path.front() != '/' ||
        u.unix_path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw ClientError("the endpoint '" + e + "' must be unix:// and an absolute socket path");
    u.host = u.host_header = "localhost";
    return u;
  }
  if (s.starts_with("https://")) {
    u.tls = true;
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else {
    throw ClientError("the endpoint '" + e + "' must start with http://, https:// or unix://");
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

bool Idempotent(const std::string& m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE";
}
bool Retryable(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

// Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)).
void Backoff(int attempt) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  int64_t cap = std::min<int64_t>(5000, 100LL << std::min(attempt, 10));
  std::uniform_int_distribution<int64_t> d(0, cap);
  std::this_thread::sleep_for(std::chrono::milliseconds(d(rng)));
}

}  // namespace

std::string UrlEncode(const std::string& s, bool keep_slash) { return UriEncode(s, !keep_slash); }

bool ParseS3Url(const std::string& url, std::string* bucket, std::string* key) {
  if (!url.starts_with("s3://")) return false;
  std::string_view rest = std::string_view(url).substr(5);
  size_t slash = rest.find('/');
  *bucket = std::string(rest.substr(0, slash));
  *key = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  return !bucket->empty();
}

std::string DescribeError(const Response& r) {
  std::string code, message;
  pugi::xml_document doc;
  if (!r.body.empty() && doc.load_buffer(r.body.data(), r.body.size())) {
    code = doc.document_element().child("Code").text().as_string();
    message = doc.document_element().child("Message").text().as_string();
  }
  if (code.empty()) {
    switch (r.status) {
      case 400:
        code = "BadRequest";
        break;
      case 403:
        code = "AccessDenied";
        break;
      case 404:
        code = "NotFound";
        break;
      case 412:
        code = "PreconditionFailed";
        break;
      default:
        code = "HTTP" + std::to_string(r.status);
    }
  }
  return code + (message.empty() ? "" : ": " + message) + " (HTTP " + std::to_string(r.status) +
         ")";
}

Settings Resolve(const Settings& flags) {
  Settings s = flags;
  std::string profile = !s.profile.empty() ? s.profile : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string home = Env("HOME");
  std::string cred_file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (cred_file.empty()) cred_file = home + "/.aws/credentials";
  std::string config_file = Env("AWS_CONFIG_FILE");
  if (config_file.empty()) config_file = home + "/.aws/config";
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
    throw ClientError(
        "no endpoint: pass --endpoint, or set AWS_ENDPOINT_URL or endpoint_url in ~/.aws/config");
  if (s.access_key.empty() || s.secret_key.empty())
    throw ClientError(
        "no credentials: pass --access-key and --secret-key, set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or add profile '" +
        profile + "' to " + cred_file);
  if (s.part_size < (5ULL << 20)) s.part_size = 5ULL << 20;  // S3's multipart minimum
  if (s.parallelism < 1) s.parallelism = 1;
  if (s.max_attempts < 1) s.max_attempts = 1;
  ParseEndpoint(s.endpoint);  // validates
  return s;
}

struct Client::Conn {
  asio::io_context io;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buf;
  bool open = false;
};

struct Client::Pool {
  Url url;
  std::optional<asio::ssl::context> ssl_ctx;
  std::mutex mu;
  std::vector<std::unique_ptr<Conn>> idle;

  std::unique_ptr<Conn> Take() {
    std::lock_guard l(mu);
    if (idle.empty()) return std::make_unique<Conn>();
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }
  void Give(std::unique_ptr<Conn> c) {
    if (!c->open) return;
    std::lock_guard l(mu);
    if (idle.size() < 64) idle.push_back(std::move(c));
  }
  // Closes every idle connection: when one the server had closed fails, the others most
  // likely went with it (a restart, a load balancer's idle timeout), and trying them one by
  // one would spend the request's attempts on dead sockets.
  void DropIdle() {
    std::vector<std::unique_ptr<Conn>> dead;
    std::lock_guard l(mu);
    dead.swap(idle);
  }
  uint32_t RoundTripUs() {
    if (!url.unix_path.empty()) return 0;  // no TCP
    std::lock_guard l(mu);
    for (auto& c : idle) {
      if (!c->open) continue;
      auto& sock = url.tls ? beast::get_lowest_layer(*c->tls).socket() : c->plain->socket();
      tcp_info info{};
      socklen_t len = sizeof info;
      if (::getsockopt(sock.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
          info.tcpi_rtt > 0)
        return info.tcpi_rtt;
    }
    return 0;
  }
  void Connect(Conn& c, const Settings& s) {
    beast::error_code ec;
    if (!url.unix_path.empty()) {
      // Carried in the tcp::socket the rest of the client reads and writes: the stream
      // calls are the same on a Unix-domain socket; only TCP's options are not set.
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0)
        throw ClientError("cannot create a Unix socket: " + std::generic_category().message(errno));
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, url.unix_path.data(), url.unix_path.size());
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        throw ClientError("cannot connect to " + s.endpoint + ": " +
                          std::generic_category().message(err));
      }
      c.plain.emplace(c.io);
      c.plain->socket().assign(tcp::v4(), fd, ec);
      if (ec) {
        ::close(fd);
        throw ClientError("cannot connect to " + s.endpoint + ": " + ec.message());
      }
      timeval tv{s.timeout_s, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      c.open = true;
      return;
    }
    tcp::resolver resolver(c.io);
    auto resolved = resolver.resolve(url.host, url.port, ec);
    if (ec)
      throw ClientError("cannot resolve " + url.host + " (endpoint " + s.endpoint +
                        "): " + ec.message());
    std::vector<tcp::endpoint> addrs;
    std::string refused;
    for (const auto& r : resolved) {
      std::string why =
          s.refuse_address ? s.refuse_address(r.endpoint().address().to_string()) : "";
      if (why.empty())
        addrs.push_back(r.endpoint());
      else if (refused.empty())
        refused = r.endpoint().address().to_string() + ": " + why;
    }
    if (addrs.empty())
      throw ClientError("refusing to connect to " + url.host + " (endpoint " + s.endpoint +
                        "): " + refused);
    if (url.tls) {
      c.tls.emplace(c.io, *ssl_ctx);
      SSL_set_tlsext_host_name(c.tls->native_handle(), url.host.c_str());
      if (s.verify_tls) c.tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
      beast::get_lowest_layer(*c.tls).expires_after(std::chrono::seconds(30));
      beast::get_lowest_layer(*c.tls).connect(addrs, ec);
      if (!ec) c.tls->handshake(asio::ssl::stream_base::client, ec);
    } else {
      c.plain.emplace(c.io);
      c.plain->expires_after(std::chrono::seconds(30));
      c.plain->connect(addrs, ec);
    }
    if (ec) throw ClientError("cannot connect to " + s.endpoint + ": " + ec.message());
    auto& sock = url.tls ? beast::get_lowest_layer(*c.tls).socket() : c.plain->socket();
    sock.set_option(tcp::no_delay(true), ec);
    timeval tv{s.timeout_s, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c.open = true;
  }
};

uint32_t Client::RoundTripUs() const { return pool_->RoundTripUs(); }

bool Client::PreferStreaming() const {
  if (!pool_->url.unix_path.empty()) return true;  // this host: nothing to overlap
  uint32_t rtt = RoundTripUs();
  return rtt > 0 && rtt < kStreamingRttUs;
}

Client::Client(Settings settings)
    : settings_(std::move(settings)), pool_(std::make_unique<Pool>()) {
  pool_->url = ParseEndpoint(settings_.endpoint);
  if (pool_->url.tls) {
    beast::error_code ec;
    pool_->ssl_ctx.emplace(asio::ssl::context::tls_client);
    if (!settings_.ca_pem.empty())
      pool_->ssl_ctx->add_certificate_authority(
          asio::buffer(settings_.ca_pem.data(), settings_.ca_pem.size()), ec);
    else if (!settings_.ca_file.empty())
      pool_->ssl_ctx->load_verify_file(settings_.ca_file, ec);
    else
      pool_->ssl_ctx->set_default_verify_paths(ec);
    if (ec)
      throw ClientError("cannot load CA certificates " +
                        (settings_.ca_pem.empty() ? settings_.ca_file : "(the PEM given)") + ": " +
                        ec.message());
    pool_->ssl_ctx->set_verify_mode(settings_.verify_tls ? asio::ssl::verify_peer
                                                         : asio::ssl::verify_none);
  }
}

Client::~Client() = default;

std::map<std::string, std::string> Client::Sign(const std::string& method, const std::string& path,
                                                const std::string& query,
                                                const std::map<std::string, std::string>& headers,
                                                const std::string& payload,
                                                const std::string& service) {
  std::string date = FormatAmzDate(io::SystemClock()->NowMicros());
  std::map<std::string, std::string> h;
  for (const auto& [k, v] : headers) h[ToLower(k)] = v;
  h["host"] = pool_->url.host_header;
  h["x-amz-date"] = date;
  h["x-amz-content-sha256"] = payload;
  if (!settings_.session_token.empty()) h["x-amz-security-token"] = settings_.session_token;
  std::string creq =
      method + "\n" + auth::CanonicalUri(path) + "\n" + auth::CanonicalQuery(query) + "\n";
  std::string names;
  for (const auto& [k, v] : h) {
    if (k == "content-length") continue;
    creq += k + ":" + auth::CanonicalHeaderValue(v) + "\n";
    names += (names.empty() ? "" : ";") + k;
  }
  creq += "\n" + names + "\n" + payload;
  std::string scope = date.substr(0, 8) + "/" + settings_.region + "/" + service + "/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  const std::string& key =
      auth::CachedSigningKey(settings_.secret_key, date.substr(0, 8), settings_.region, service);
  h["authorization"] = "AWS4-HMAC-SHA256 Credential=" + settings_.access_key + "/" + scope +
                       ", SignedHeaders=" + names +
                       ", Signature=" + HexEncode(HmacSha256(key, sts));
  return h;
}

Response Client::SendOnce(Conn& c, const std::string& method, const std::string& target,
                          const std::map<std::string, std::string>& h, std::string_view body,
                          const std::function<size_t(char*, size_t)>* reader, uint64_t length,
                          const Sink* sink, Dest* dest) {
  if (!c.open) pool_->Connect(c, settings_);
  beast::error_code ec;
  if (sink || dest) {
    // Streaming GET: the body is read in 256 KiB pieces straight to the sink, or into
    // the caller's buffer.
    Response out;
    Sink sink_storage;
    auto run = [&](auto& stream) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(settings_.timeout_s));
      if (method == "GET" && body.empty()) {
        bhttp::request<bhttp::empty_body> head;
        head.method(bhttp::verb::get);
        head.target(target);
        head.version(11);
        for (const auto& [k, v] : h) head.set(k, v);
        head.set(bhttp::field::user_agent, "sluice-client/1");
        bhttp::write(stream, head, ec);
      } else {  // SendTo: another method, or a body (a BatchGet's list)
        bhttp::request<bhttp::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        for (const auto& [k, v] : h) req.set(k, v);
        req.set(bhttp::field::user_agent, "sluice-client/1");
        req.body() = std::string(body);
        req.prepare_payload();
        bhttp::write(stream, req, ec);
      }
      if (ec) return;
      bhttp::response_parser<bhttp::buffer_body> p;
      p.body_limit(std::numeric_limits<uint64_t>::max());
      bhttp::read_header(stream, c.buf, p, ec);
      if (ec) return;
      out.status = static_cast<int>(p.get().result_int());
      for (const auto& f : p.get())
        out.headers[ToLower(std::string(f.name_string()))] = std::string(f.value());
      bool ok = out.status >= 200 && out.status < 300;
      if (!p.keep_alive()) c.open = false;
      if (dest && !dest->data && ok) {  // OpenGet: the body stays on the wire
        if (!p.content_length()) {
          ec = bhttp::error::bad_content_length;  // a streamed read needs the length
          return;
        }
        dest->got = *p.content_length();
        return;
      }
      if (dest && ok && p.content_length() && *p.content_length() <= dest->cap) {
        // The body goes straight into the caller's memory.
        const uint64_t need = *p.content_length();
        dest->got = 0;
        if constexpr (std::is_same_v<std::decay_t<decltype(stream)>, beast::tcp_stream>) {
          // Bytes that came with the header first, then one blocking recv(MSG_WAITALL)
          // for the rest: no staging buffer, one system call per part in the common case.
          auto early = c.buf.data();
          size_t k = std::min<uint64_t>(early.size(), need);
          std::memcpy(dest->data, early.data(), k);
          c.buf.consume(k);
          dest->got = k;
          ec = RecvAll(stream.socket().native_handle(), dest->data, need, &dest->got,
                       settings_.timeout_s);
        } else {
          while (!p.is_done()) {
            p.get().body().data = dest->data + dest->got;
            p.get().body().size = need - dest->got;
            bhttp::read(stream, c.buf, p, ec);
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) return;
            dest->got = need - p.get().body().size;
          }
        }
        return;
      }
      if (dest) {  // an error answer or an unexpected length: through the generic path
        sink_storage = [dest](const char* d, size_t n, uint64_t at) {
          if (at >= dest->cap) return;
          size_t m = std::min<uint64_t>(n, dest->cap - at);
          std::memcpy(dest->data + at, d, m);
          dest->got = std::max<uint64_t>(dest->got, at + m);
        };
        sink = &sink_storage;
      }
      thread_local std::vector<char> chunk(1 << 18);
      uint64_t off = 0;
      if constexpr (std::is_same_v<std::decay_t<decltype(stream)>, beast::tcp_stream>) {
        if (ok && p.content_length()) {
          // A 2xx body of known length on a plain connection: the bytes that came with the
          // header, then recv(MSG_WAITALL) straight into the chunk, not through beast's
          // buffer, which read the body in small recv()s (a BatchGet answer of 64 KiB
          // members came at 200 MB/s that way; perf: recv and the VM's syscall exits).
          uint64_t left = *p.content_length();
          auto early = c.buf.data();
          size_t k = std::min<uint64_t>(early.size(), left);
          if (k) (*sink)(static_cast<const char*>(early.data()), k, off);
          c.buf.consume(k);
          off += k;
          left -= k;
          while (left > 0) {
            uint64_t got = 0;
            const uint64_t want = std::min<uint64_t>(left, chunk.size());
            ec = RecvAll(stream.socket().native_handle(), chunk.data(), want, &got,
                         settings_.timeout_s);
            if (got) (*sink)(chunk.data(), got, off);
            off += got;
            left -= got;
            if (ec) return;
          }
          return;
        }
      }
      while (!p.is_done()) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(settings_.timeout_s));
        bhttp::read(stream, c.buf, p, ec);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) return;
        size_t n = chunk.size() - p.get().body().size;
        if (ok)
          (*sink)(chunk.data(), n, off);
        else
          out.body.append(chunk.data(), n);
        off += n;
      }
    };
    if (pool_->url.tls)
      run(*c.tls);
    else
      run(*c.plain);
    if (ec) {
      c.open = false;
      c.buf.clear();
      throw ClientError("GET " + target + " from " + settings_.endpoint +
                        " failed: " + ec.message());
    }
    return out;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  if (method == "HEAD") parser.skip(true);
  auto run = [&](auto& stream) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(settings_.timeout_s));
    bhttp::request<bhttp::empty_body> head;
    head.method_string(method);
    head.target(target);
    head.version(11);
    for (const auto& [k, v] : h) head.set(k, v);
    head.set(bhttp::field::user_agent, "sluice-client/1");
    uint64_t len = reader ? length : body.size();
    if (len > 0 || method == "PUT" || method == "POST") head.content_length(len);
    bhttp::request_serializer<bhttp::empty_body> sr(head);
    bhttp::write_header(stream, sr, ec);
    if (ec) return;
    if (reader) {
      std::vector<char> buf(1 << 18);
      uint64_t sent = 0;
      while (sent < length) {
        size_t n = (*reader)(buf.data(), std::min<uint64_t>(buf.size(), length - sent));
        if (n == 0) throw ClientError("the upload source ended early");
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(settings_.timeout_s));
        asio::write(stream, asio::buffer(buf.data(), n), ec);
        if (ec) return;
        sent += n;
      }
    } else if (!body.empty()) {
      asio::write(stream, asio::buffer(body), ec);
      if (ec) return;
    }
    bhttp::read(stream, c.buf, parser, ec);
  };
  if (pool_->url.tls)
    run(*c.tls);
  else
    run(*c.plain);
  if (ec) {
    c.open = false;
    c.buf.clear();
    throw ClientError(method + " " + target + " to " + settings_.endpoint +
                      " failed: " + ec.message());
  }
  auto& res = parser.get();
  Response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res)
    out.headers[ToLower(std::string(f.name_string()))] = std::string(f.value());
  out.body = std::move(res.body());
  if (!res.keep_alive()) c.open = false;
  return out;
}

Response Client::Send(const std::string& method, const std::string& path, const std::string& query,
                      std::string_view body, const std::map<std::string, std::string>& headers,
                      const std::string& service, bool sign_payload) {
  return SendRetrying(method, path, query, body, headers, service, sign_payload, nullptr);
}

Response Client::SendTo(const std::string& method, const std::string& path,
                        const std::string& query, std::string_view body,
                        const std::map<std::string, std::string>& headers, const Sink& sink) {
  return SendRetrying(method, path, query, body, headers, "s3", true, &sink);
}

Response Client::SendRetrying(const std::string& method, const std::string& path,
                              const std::string& query, std::string_view body,
                              const std::map<std::string, std::string>& headers,
                              const std::string& service, bool sign_payload, const Sink* sink) {
  std::string target = query.empty() ? path : path + "?" + query;
  std::string payload = sign_payload ? Sha256Hex(body) : "UNSIGNED-PAYLOAD";
  for (int attempt = 0;; attempt++) {
    auto h = Sign(method, path, query, headers, payload, service);
    auto conn = pool_->Take();
    bool was_open = conn->open;
    try {
      Response r = SendOnce(*conn, method, target, h, body, nullptr, 0, sink);
      pool_->Give(std::move(conn));
      if (Retryable(r.status) && Idempotent(method) && attempt + 1 < settings_.max_attempts) {
        Backoff(attempt);
        continue;
      }
      return r;
    } catch (const ClientError& e) {
      // A kept-alive connection the server closed meanwhile is retried at once, any method:
      // the request never reached the server. Other failures only for idempotent requests.
      if (was_open) pool_->DropIdle();
      if (was_open && attempt == 0) continue;
      if (!Idempotent(method) || attempt + 1 >= settings_.max_attempts) throw;
      Backoff(attempt);
    }
  }
}

Response Client::Get(const std::string& path, const std::string& query,
                     const std::map<std::string, std::string>& headers, const Sink& sink) {
  return GetWith(path, query, headers, &sink, nullptr);
}

Response Client::GetInto(const std::string& path, const std::string& query,
                         const std::map<std::string, std::string>& headers, char* dst, uint64_t cap,
                         uint64_t* got) {
  Dest d{dst, cap, 0};
  Response r = GetWith(path, query, headers, nullptr, &d);
  *got = d.got;
  return r;
}

Response Client::GetWith(const std::string& path, const std::string& query,
                         const std::map<std::string, std::string>& headers, const Sink* sink,
                         Dest* dest, std::unique_ptr<Conn>* keep) {
  std::string target = query.empty() ? path : path + "?" + query;
  for (int attempt = 0;; attempt++) {
    auto h = Sign("GET", path, query, headers, "UNSIGNED-PAYLOAD", "s3");
    auto conn = pool_->Take();
    bool was_open = conn->open;
    try {
      if (dest) dest->got = 0;
      Response r = SendOnce(*conn, "GET", target, h, "", nullptr, 0, sink, dest);
      if (keep && r.status >= 200 && r.status < 300) {  // the body is still on this connection
        *keep = std::move(conn);
        return r;
      }
      pool_->Give(std::move(conn));
      if (Retryable(r.status) && attempt + 1 < settings_.max_attempts) {
        Backoff(attempt);
        continue;
      }
      return r;
    } catch (const ClientError&) {
      if (was_open) pool_->DropIdle();  // its idle siblings are most likely dead too
      if (was_open && attempt == 0) continue;
      if (attempt + 1 >= settings_.max_attempts) throw;
      Backoff(attempt);
    }
  }
}

struct Client::Body {
  std::unique_ptr<Conn> conn;
};

void Client::BodyDeleter::operator()(Body* b) const { delete b; }  // its connection closes with it

Response Client::OpenGet(const std::string& path, const std::map<std::string, std::string>& headers,
                         BodyPtr* body, uint64_t* len) {
  Dest d{nullptr, 0, 0};  // no destination: SendOnce stops after the head
  std::unique_ptr<Conn> conn;
  Response r = GetWith(path, "", headers, nullptr, &d, &conn);
  if (conn) {
    *len = d.got;
    body->reset(new Body{std::move(conn)});
  }
  return r;
}

size_t Client::ReadBody(Body& b, char* buf, size_t n) {
  Conn& c = *b.conn;
  if (n == 0) return 0;
  if (c.buf.size() > 0) {  // bytes that came with the header
    size_t k = std::min(n, c.buf.size());
    std::memcpy(buf, c.buf.data().data(), k);
    c.buf.consume(k);
    return k;
  }
  beast::error_code ec;
  uint64_t got = 0;
  if (c.plain) {
    ec = RecvAll(c.plain->socket().native_handle(), buf, n, &got, settings_.timeout_s);
  } else {
    got = c.tls->read_some(asio::buffer(buf, n), ec);
  }
  if (got > 0) return got;  // an error after some bytes shows on the next call
  c.open = false;
  throw ClientError("reading from " + settings_.endpoint +
                    " failed: " + (ec ? ec.message() : "end of stream"));
}

void Client::ReleaseBody(BodyPtr b) {
  if (b && b->conn) pool_->Give(std::move(b->conn));
}

Response Client::SendBody(const std::string& method, const std::string& path,
                          const std::string& query, uint64_t length,
                          const std::function<size_t(char*, size_t)>& read,
                          const std::map<std::string, std::string>& headers) {
  std::string target = query.empty() ? path : path + "?" + query;
  auto h = Sign(method, path, query, headers, "UNSIGNED-PAYLOAD", "s3");
  auto conn = pool_->Take();
  Response r = SendOnce(*conn, method, target, h, "", &read, length);
  pool_->Give(std::move(conn));
  return r;
}

namespace internal {

void RetryDelay(int attempt) { Backoff(attempt); }

std::string ObjectPath(const std::string& bucket, const std::string& key) {
  return "/" + UrlEncode(bucket, true) + "/" + UrlEncode(key, true);
}

void Expect(const Response& r, int want, const std::string& what) {
  if (r.status == want || (want == 200 && r.status == 204)) return;
  pugi::xml_document doc;
  std::string code;
  if (doc.load_buffer(r.body.data(), r.body.size()))
    code = doc.document_element().child("Code").text().as_string();
  throw ClientError(what + ": " + DescribeError(r), r.status, code);
}

std::string Unquote(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    return etag.substr(1, etag.size() - 2);
  return etag;
}

}  // namespace internal

using internal::Expect;
using internal::ObjectPath;

void Client::CreateBucket(const std::string& bucket) {
  Expect(Send("PUT", "/" + UrlEncode(bucket, true), "", ""), 200, "create bucket " + bucket);
}

void Client::DeleteBucket(const std::string& bucket) {
  Expect(Send("DELETE", "/" + UrlEncode(bucket, true), "", ""), 204, "remove bucket " + bucket);
}

Client::Usage Client::BucketUsage(const std::string& bucket) {
  Response r = Send("GET", "/" + UrlEncode(bucket, true), "usage=", "");
  Expect(r, 200, "usage of bucket " + bucket);
  pugi::xml_document doc;
  doc.load_buffer(r.body.data(), r.body.size());
  auto root = doc.document_element();
  Usage u;
  u.objects = root.child("Objects").text().as_ullong();
  u.bytes = root.child("Bytes").text().as_ullong();
  u.versions = root.child("Versions").text().as_ullong();
  u.version_bytes = root.child("VersionBytes").text().as_ullong();
  return u;
}

std::vector<std::string> Client::ListBuckets() {
  Response r = Send("GET", "/", "", "");
  Expect(r, 200, "list buckets");
  pugi::xml_document doc;
  doc.load_buffer(r.body.data(), r.body.size());
  std::vector<std::string> out;
  for (auto b : doc.document_element().child("Buckets").children("Bucket"))
    out.emplace_back(b.child("Name").text().as_string());
  return out;
}

ObjectInfo Client::Head(const std::string& bucket, const std::string& key) {
  Response r = Send("HEAD", ObjectPath(bucket, key), "", "");
  if (r.status == 404) {
    // HEAD has no body to name the error: ask the bucket whether it exists.
    Response b = Send("HEAD", "/" + UrlEncode(bucket, true), "", "");
    if (b.status == 404)
      throw ClientError(
          "s3://" + bucket + "/" + key + ": NoSuchBucket: the bucket does not exist (HTTP 404)",
          404, "NoSuchBucket");
    throw ClientError(
        "s3://" + bucket + "/" + key + ": NoSuchKey: the object does not exist (HTTP 404)", 404,
        "NoSuchKey");
  }
  Expect(r, 200, "s3://" + bucket + "/" + key);
  ObjectInfo o;
  o.key = key;
  o.size = std::stoull(r.header("content-length").empty() ? "0" : r.header("content-length"));
  o.etag = r.header("etag");
  if (o.etag.size() >= 2 && o.etag.front() == '"') o.etag = o.etag.substr(1, o.etag.size() - 2);
  o.last_modified = r.header("last-modified");
  if (auto t = ParseHttpDate(o.last_modified)) o.mtime = *t / 1000000;
  return o;
}

std::string Client::GetString(const std::string& bucket, const std::string& key) {
  Response r = Send("GET", ObjectPath(bucket, key), "", "");
  Expect(r, 200, "s3://" + bucket + "/" + key);
  return std::move(r.body);
}

std::string Client::Put(const std::string& bucket, const std::string& key,
                        const std::string& data) {
  Response r = Send("PUT", ObjectPath(bucket, key), "", data);
  Expect(r, 200, "upload s3://" + bucket + "/" + key);
  std::string etag = r.header("etag");
  if (etag.size() >= 2 && etag.front() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

uint64_t Client::Append(const std::string& bucket, const std::string& key, uint64_t offset,
                        std::string_view data) {
  const std::string what = "append to s3://" + bucket + "/" + key;
  Response r = Send("PUT", ObjectPath(bucket, key), "", data,
                    {{"x-amz-write-offset-bytes", std::to_string(offset)}});
  if (r.status == 200) return offset + data.size();
  try {
    Expect(r, 200, what);
  } catch (const ClientError& e) {
    // Send retries a PUT whose answer was lost; when the lost answer was a success, the
    // retry finds the object already longer. It is ours when it ends with exactly our bytes.
    if (e.code() != "InvalidWriteOffset" || data.empty()) throw;
    ObjectInfo o = Head(bucket, key);
    if (o.size != offset + data.size()) throw;
    std::string tail(data.size(), '\0');
    if (ReadRange(bucket, key, offset, data.size(), tail.data(), o.etag) != data.size() ||
        tail != data)
      throw;
  }
  return offset + data.size();
}

void Client::Delete(const std::string& bucket, const std::string& key) {
  Expect(Send("DELETE", ObjectPath(bucket, key), "", ""), 204, "remove s3://" + bucket + "/" + key);
}

std::vector<std::string> Client::DeleteMany(const std::string& bucket,
                                            const std::vector<std::string>& keys) {
  std::vector<std::string> refused;
  for (size_t start = 0; start < keys.size(); start += 1000) {
    pugi::xml_document doc;
    auto del = doc.append_child("Delete");
    del.append_child("Quiet").text().set("true");
    for (size_t i = start; i < std::min(keys.size(), start + 1000); i++)
      del.append_child("Object").append_child("Key").text().set(keys[i].c_str());
    std::ostringstream os;
    doc.save(os, "", pugi::format_raw);
    std::string body = os.str();
    Response r =
        Send("POST", "/" + UrlEncode(bucket, true), "delete=", body,
             {{"content-md5", Base64Encode(Md5(body))}, {"content-type", "application/xml"}});
    Expect(r, 200, "remove objects from s3://" + bucket);
    pugi::xml_document out;
    out.load_buffer(r.body.data(), r.body.size());
    for (auto e : out.document_element().children("Error"))
      refused.emplace_back(e.child("Key").text().as_string());
  }
  return refused;
}

void Client::Copy(const std::string& src_bucket, const std::string& src_key,
                  const std::string& bucket, const std::string& key) {
  Response r = Send(
      "PUT", ObjectPath(bucket, key), "", "",
      {{"x-amz-copy-source", "/" + UrlEncode(src_bucket, true) + "/" + UrlEncode(src_key, true)}});
  Expect(r, 200, "copy s3://" + src_bucket + "/" + src_key + " to s3://" + bucket + "/" + key);
  if (r.body.find("<Error>") != std::string::npos)  // S3 may fail a copy after the 200
    throw ClientError("copy to s3://" + bucket + "/" + key + " failed: " + r.body, 200);
}

void Client::List(const std::string& bucket, const std::string& prefix,
                  const std::string& delimiter,
                  const std::function<bool(const ObjectInfo&)>& on_object,
                  const std::function<bool(const std::string&)>& on_prefix) {
  const std::string what = "list s3://" + bucket + "/" + prefix;
  std::string token;
  for (;;) {
    std::string q = "list-type=2&max-keys=1000&prefix=" + UrlEncode(prefix, false);
    if (!delimiter.empty()) q += "&delimiter=" + UrlEncode(delimiter, false);
    if (!token.empty()) q += "&continuation-token=" + UrlEncode(token, false);
    Response r = Send("GET", "/" + UrlEncode(bucket, true), q, "");
    Expect(r, 200, what);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    auto root = doc.document_element();
    for (auto c : root.children("Contents")) {
      ObjectInfo o;
      o.key = c.child("Key").text().as_string();
      o.size = c.child("Size").text().as_ullong();
      o.etag = c.child("ETag").text().as_string();
      if (o.etag.size() >= 2 && o.etag.front() == '"') o.etag = o.etag.substr(1, o.etag.size() - 2);
      o.last_modified = c.child("LastModified").text().as_string();
      if (auto t = ParseIso8601(o.last_modified)) o.mtime = *t / 1000000;
      if (!on_object(o)) return;
    }
    if (on_prefix)
      for (auto p : root.children("CommonPrefixes"))
        if (!on_prefix(p.child("Prefix").text().as_string())) return;
    if (std::string_view(root.child("IsTruncated").text().as_string()) != "true") return;
    token = root.child("NextContinuationToken").text().as_string();
    if (token.empty()) return;
  }
}

std::vector<Client::MemberInfo> Client::ListMembers(const std::string& bucket,
                                                    const std::string& key) {
  std::vector<MemberInfo> out;
  const std::string what = "members of s3://" + bucket + "/" + key;
  std::string after;
  for (;;) {
    std::string q = "max-members=10000&members=";
    if (!after.empty()) q += "&start-after=" + UrlEncode(after, false);
    Response r = Send("GET", ObjectPath(bucket, key), q, "");
    Expect(r, 200, what);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    auto root = doc.document_element();
    for (auto c : root.children("Member")) {
      MemberInfo m;
      m.name = c.child("Name").text().as_string();
      m.offset = c.child("Offset").text().as_ullong();
      m.size = c.child("Size").text().as_ullong();
      m.etag = c.child("ETag").text().as_string();
      if (m.etag.size() >= 2 && m.etag.front() == '"') m.etag = m.etag.substr(1, m.etag.size() - 2);
      out.push_back(std::move(m));
    }
    if (std::string_view(root.child("IsTruncated").text().as_string()) != "true") return out;
    after = root.child("NextStartAfter").text().as_string();
    if (after.empty()) return out;
  }
}

std::string Client::GetMember(const std::string& bucket, const std::string& key,
                              const std::string& member) {
  // The bytes straight from the socket into the answer (as Get does for objects).
  std::string out;
  const Sink sink = [&out](const char* d, size_t n, uint64_t offset) {
    out.resize(offset);  // a retry starts over
    out.append(d, n);
  };
  Response r = Get(ObjectPath(bucket, key), "member=" + UrlEncode(member, false), {}, sink);
  Expect(r, 200, "s3://" + bucket + "/" + key + " member " + member);
  return out;
}

std::string Client::Presign(const std::string& method, const std::string& bucket,
                            const std::string& key, int expires_s) {
  std::string date = FormatAmzDate(io::SystemClock()->NowMicros());
  std::string scope = date.substr(0, 8) + "/" + settings_.region + "/s3/aws4_request";
  std::string path = ObjectPath(bucket, key);
  std::string q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                  UrlEncode(settings_.access_key + "/" + scope, false) + "&X-Amz-Date=" + date +
                  "&X-Amz-Expires=" + std::to_string(expires_s) + "&X-Amz-SignedHeaders=host";
  if (!settings_.session_token.empty())
    q += "&X-Amz-Security-Token=" + UrlEncode(settings_.session_token, false);
  std::string creq = method + "\n" + auth::CanonicalUri(path) + "\n" + auth::CanonicalQuery(q) +
                     "\nhost:" + pool_->url.host_header + "\n\nhost\nUNSIGNED-PAYLOAD";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  std::string key_bytes =
      auth::DeriveSigningKey(settings_.secret_key, date.substr(0, 8), settings_.region, "s3");
  return settings_.endpoint + path + "?" + q +
         "&X-Amz-Signature=" + HexEncode(HmacSha256(key_bytes, sts));
}

}  // namespace sluice::client
