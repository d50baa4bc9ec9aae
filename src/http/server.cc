#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <cstring>
#include <limits>
#include <list>
#include <mutex>
#include <system_error>

#include "common/check.h"
#include "common/networks.h"
#include "common/strings.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

void ApplyForwarded(Request& req, const TrustedProxy& trusted) {
  if (!trusted || !trusted(req.remote_ip)) return;
  boost::container::small_vector<std::string_view, 4> hops;
  std::string_view proto;
  req.ForEachHeader([&](std::string_view name, std::string_view value) {
    if (EqualsIgnoreCase(name, "x-forwarded-for")) {
      for (std::string_view rest = value; !rest.empty();) {
        size_t comma = rest.find(',');
        std::string_view hop = Trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (!hop.empty()) hops.push_back(hop);
      }
    } else if (EqualsIgnoreCase(name, "x-forwarded-proto")) {
      proto = value;  // the last instance: the nearest proxy's
    }
  });
  std::string client;
  if (!hops.empty()) {
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
      if (!IsIpAddress(*it)) break;  // nothing beyond an entry that is not an address
      client = std::string(*it);
      if (!trusted(*it)) break;  // the first hop that is not one of our proxies
    }
  } else if (std::string_view real = Trim(req.header("x-real-ip")); IsIpAddress(real)) {
    client = std::string(real);
  }
  if (size_t comma = proto.rfind(','); comma != std::string_view::npos)
    proto = proto.substr(comma + 1);
  if (EqualsIgnoreCase(Trim(proto), "https")) req.secure = true;
  if (!client.empty()) {
    req.proxy_ip = std::move(req.remote_ip);
    req.remote_ip = std::move(client);
  }
}
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadBufferLimit = size_t{256} * 1024;

// Framing that a proxy in front could read another way than this server (request
// smuggling, RFC 9112 section 6.3): more than one Content-Length, or any transfer coding
// but one "chunked". Beast itself refuses Content-Length with Transfer-Encoding. Returns
// kOk when the framing is unambiguous.
template <class Fields>
Status CheckFraming(const Fields& fields) {
  int lengths = 0, codings = 0;
  std::string_view coding;
  for (const auto& f : fields) {
    if (f.name() == bhttp::field::content_length) {
      ++lengths;
    } else if (f.name() == bhttp::field::transfer_encoding) {
      ++codings;
      coding = std::string_view(f.value().data(), f.value().size());
    }
  }
  if (lengths > 1) return Status(Err::kBadRequest, "more than one Content-Length header");
  if (codings > 1) return Status(Err::kBadRequest, "more than one Transfer-Encoding header");
  if (codings == 1 && !EqualsIgnoreCase(Trim(coding), "chunked"))
    return Status(Err::kNotImplemented, "the only transfer coding accepted is chunked");
  return Status::Ok();
}

// Per-connection state shared by the session coroutine and its worker's sweeper.
struct Conn {
  Conn(tcp::socket s, bool unix_peer) : sock(std::move(s)), local(unix_peer) {}
  // A Unix-domain connection is carried in a tcp::socket too: every stream operation used
  // here (read, write, send, sendfile, shutdown) is the same system call on any stream
  // socket; only TCP's options and the peer's address differ, and neither is asked of it.
  tcp::socket sock;
  const bool local;                             // a peer on this host, over the Unix-domain socket
  std::shared_ptr<asio::ssl::context> tls_ctx;  // keeps the context alive across reloads
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
  bool idle = true;  // waiting for the next request head: safe to close on Stop()
  void Arm(std::chrono::seconds d) { deadline = Clock::now() + d; }
  void Disarm() { deadline = Clock::time_point::max(); }
  void Close() {
    beast::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
};

// How often each worker checks its connections' deadlines: timeouts fire within this
// much of their due time, and no timer is touched on the request path.
constexpr auto kSweepInterval = std::chrono::milliseconds(250);

template <typename Stream>
class ParserBody final : public Body {
 public:
  ParserBody(Conn& c, Stream& s, beast::flat_buffer& buf,
             bhttp::request_parser<bhttp::buffer_body>& p, const ServerOptions& o,
             bool expect_continue)
      : c_(c), s_(s), buf_(buf), p_(p), o_(o), expect_continue_(expect_continue) {
    // A body of known length is read straight from the socket into the caller's buffer:
    // no pass through the parser's 64 KiB staging reads and copies. The parser is only
    // used for chunked bodies, and a fresh one parses the next request.
    if (!p_.chunked() && p_.content_length() && !p_.is_done()) {
      direct_ = true;
      remaining_ = *p_.content_length();
    }
  }

  Task<Result<size_t>> Read(char* out, size_t n) override {
    if (direct_) co_return co_await ReadDirect(out, n);
    while (!p_.is_done()) {
      if (expect_continue_ && !continue_sent_) {
        Status st = co_await SendContinue();
        if (!st.ok()) co_return st;
      }
      p_.get().body().data = out;
      p_.get().body().size = n;
      p_.get().body().more = true;
      beast::error_code ec;
      c_.Arm(o_.io_timeout);
      co_await bhttp::async_read(s_, buf_, p_, asio::redirect_error(asio::use_awaitable, ec));
      c_.Disarm();
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return ReadError(ec);
      size_t got = n - p_.get().body().size;
      read_ += got;
      if (got > 0) co_return got;
    }
    co_return size_t{0};
  }
  bool finished() const override { return direct_ ? remaining_ == 0 : p_.is_done(); }
  // An Expect: 100-continue request with an empty body, answered without a 100: the 100 is
  // sent right before the final response, in the same write. RFC 9110 lets a server omit it
  // here, but botocore (every boto3 PutObject sends Expect) keeps the early response's status
  // line for the connection's next Expect request and then misreads that reply, stalling until
  // its read timeout. AWS S3 sends the 100; so does sluice.
  bool OwesContinue() const { return expect_continue_ && !continue_sent_ && finished(); }
  void ContinueSentWithResponse() { continue_sent_ = true; }
  uint64_t bytes_read() const override { return read_; }
  bool failed() const { return failed_; }
  // Whether the connection can be reused after the handler left the body unread.
  bool Drainable() const {
    if (failed_) return false;
    if (finished()) return true;
    if (expect_continue_ && !continue_sent_) return false;
    if (direct_) return remaining_ <= o_.drain_limit;
    auto rem = p_.content_length_remaining();
    return rem && *rem <= o_.drain_limit;
  }

 private:
  Task<Status> SendContinue() {
    continue_sent_ = true;
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ec;
    c_.Arm(o_.io_timeout);
    co_await asio::async_write(s_, asio::buffer(k100.data(), k100.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    c_.Disarm();
    if (ec) co_return Status(Err::kIncompleteBody, "connection lost sending 100 Continue");
    co_return Status::Ok();
  }
  Status ReadError(const beast::error_code& ec) {
    failed_ = true;
    if (c_.timed_out) return Status(Err::kRequestTimeout, "request body stalled");
    if (ec == bhttp::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated)
      return Status(Err::kIncompleteBody, "the client closed before the whole body arrived");
    return Status(Err::kBadRequest, "malformed request body: " + ec.message());
  }
  Task<Result<size_t>> ReadDirect(char* out, size_t n) {
    if (remaining_ == 0 || n == 0) co_return size_t{0};
    if (expect_continue_ && !continue_sent_) {
      Status st = co_await SendContinue();
      if (!st.ok()) {
        failed_ = true;
        co_return st;
      }
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
    size_t got = 0;
    if (buf_.size() > 0) {  // bytes that arrived with the head
      got = std::min(want, buf_.size());
      std::memcpy(out, buf_.data().data(), got);
      buf_.consume(got);
    } else {
      beast::error_code ec;
      c_.Arm(o_.io_timeout);
      got = co_await s_.async_read_some(asio::buffer(out, want),
                                        asio::redirect_error(asio::use_awaitable, ec));
      c_.Disarm();
      if (ec) co_return ReadError(ec);
    }
    remaining_ -= got;
    read_ += got;
    co_return got;
  }

  Conn& c_;
  Stream& s_;
  beast::flat_buffer& buf_;
  bhttp::request_parser<bhttp::buffer_body>& p_;
  const ServerOptions& o_;
  bool expect_continue_;
  bool continue_sent_ = false;
  bool failed_ = false;
  bool direct_ = false;
  uint64_t remaining_ = 0;  // direct_: body bytes not yet read
  uint64_t read_ = 0;
};

template <typename Stream>
class ConnResponder final : public Responder {
 public:
  ConnResponder(Conn& c, Stream& s, const ServerOptions& o, bool head_only, bool keep_alive)
      : c_(c), s_(s), o_(o), head_only_(head_only), keep_alive_(keep_alive) {}

  // Set before the head is written, so the head can announce Connection: close.
  void set_keep_alive(bool k) { keep_alive_ = k; }
  bool keep_alive() const { return keep_alive_; }

  // The next head is preceded by an interim "100 Continue" (see ParserBody::OwesContinue).
  void set_continue_first() { continue_first_ = true; }

  Task<Status> Send(const ResponseHead& head, std::string_view body,
                    std::optional<uint64_t> content_length = std::nullopt) override {
    uint64_t len = content_length.value_or(body.size());
    std::string h = Head(head, len);
    if (!head_only_) body_sent_ += body.size();
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      // One TLS record for a small response rather than one for the head and one for the body.
      if (!head_only_ && body.size() <= size_t{16} * 1024) {
        h.append(body);
        body = {};
      }
    }
    std::array<asio::const_buffer, 2> bufs{asio::buffer(h), asio::buffer(body.data(), body.size())};
    size_t nbufs = head_only_ || body.empty() ? 1 : 2;
    co_return co_await WriteBuffers(bufs.data(), nbufs);
  }

  Task<Status> Begin(const ResponseHead& head, uint64_t content_length) override {
    std::string h = Head(head, content_length);
    expected_ = head_only_ ? 0 : content_length;
    std::string_view rest = h;
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      if (expected_ > 0) {
        // A body follows: the head goes with MSG_MORE, so it leaves in the same segment
        // as the body's first bytes instead of as a small packet of its own (one wake-up
        // of the client less per response; nginx does the same with tcp_nopush).
        if (!c_.sock.native_non_blocking()) c_.sock.native_non_blocking(true);
        ssize_t n = ::send(c_.sock.native_handle(), h.data(), h.size(), MSG_MORE | MSG_NOSIGNAL);
        if (n > 0) {
          sent_ += static_cast<uint64_t>(n);
          rest.remove_prefix(static_cast<size_t>(n));
        }
        if (rest.empty()) co_return Status::Ok();
        // Partial, EAGAIN or an error: the normal path writes the rest or reports it.
      }
    }
    asio::const_buffer b = asio::buffer(rest.data(), rest.size());
    co_return co_await WriteBuffers(&b, 1);
  }

  Task<Status> Write(std::string_view data) override {
    if (head_only_ || data.empty()) co_return Status::Ok();
    body_sent_ += data.size();
    asio::const_buffer b = asio::buffer(data.data(), data.size());
    co_return co_await WriteBuffers(&b, 1);
  }

  Task<Status> SendFile(int fd, uint64_t offset, uint64_t len) override {
    if (head_only_) co_return Status::Ok();
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      co_return co_await CopyFile(fd, offset, len);
    }
    if (!c_.sock.native_non_blocking()) c_.sock.native_non_blocking(true);
    off_t off = static_cast<off_t>(offset);
    uint64_t left = len;
    while (left > 0) {
      ssize_t n = ::sendfile(c_.sock.native_handle(), fd, &off, left);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        sent_ += static_cast<uint64_t>(n);
        body_sent_ += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) co_return Status(Err::kIoError, "file shorter than expected");
      if (errno == EINTR) continue;
      if (errno != EAGAIN) co_return Status(Err::kIoError, "sendfile failed");
      beast::error_code ec;
      c_.Arm(o_.io_timeout);
      co_await c_.sock.async_wait(tcp::socket::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
      c_.Disarm();
      if (ec) co_return Status(Err::kIoError, "client went away");
    }
    co_return Status::Ok();
  }

  bool started() const override { return started_; }
  int status() const override { return status_; }
  uint64_t bytes_sent() const override { return sent_; }
  // A Begin() whose body fell short: the connection cannot carry another response.
  bool incomplete() const { return body_sent_ < expected_; }

 private:
  std::string Head(const ResponseHead& head, uint64_t len) {
    started_ = true;
    status_ = head.status;
    std::string h;
    h.reserve(head.size_all() + 128);  // 100 Continue, the status line, Content-Length, Connection
    if (continue_first_) h += "HTTP/1.1 100 Continue\r\n\r\n";
    h += "HTTP/1.1 ";
    h += std::to_string(head.status);
    h += ' ';
    auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(head.status));
    h.append(reason.data(), reason.size());
    h += "\r\n";
    head.AppendAll(&h);
    if (head.status != 304 && head.status != 204) {
      h += "Content-Length: ";
      h += std::to_string(len);
      h += "\r\n";
    }
    if (!keep_alive_) h += "Connection: close\r\n";
    h += "\r\n";
    return h;
  }

  // TLS cannot use sendfile (the kernel here offers no kTLS): read the file in blocks
  // and write them through the stream (over TLS, WriteBuffers sends each block by
  // TlsWriteDirect).
  Task<Status> CopyFile(int fd, uint64_t offset, uint64_t len) {
    static constexpr size_t kBlock = size_t{256} * 1024;
    std::unique_ptr<char[]> block(new char[kBlock]);
    while (len > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(len, kBlock));
      ssize_t n = ::pread(fd, block.get(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) co_return Status(Err::kIoError, "read of object data failed");
      if (n == 0) co_return Status(Err::kIoError, "file shorter than expected");
      body_sent_ += static_cast<uint64_t>(n);
      asio::const_buffer b = asio::buffer(block.get(), static_cast<size_t>(n));
      SLUICE_CO_RETURN_IF_ERROR(co_await WriteBuffers(&b, 1));
      offset += static_cast<uint64_t>(n);
      len -= static_cast<uint64_t>(n);
    }
    co_return Status::Ok();
  }

  // Over TLS, asio's stream has OpenSSL encrypt into a BIO pair and copies each record out
  // of it before the socket write: two copies of every byte more than nginx makes (8% of the
  // server's time on 1 MiB GETs, in memmove). Bodies of a record or more are written with the
  // SSL's write side pointed at the socket itself (a socket BIO; asio's pair is put back
  // after, on every path), so SSL_write encrypts and writes, and waits for the socket when
  // it is full. asio has flushed everything it wrote before (its writes complete only then),
  // and nothing reads the connection while a response is being written.
  class DirectTls {
   public:
    DirectTls(SSL* ssl, int fd) : ssl_(ssl), pair_(::SSL_get_wbio(ssl)) {
      if (!pair_ || pair_ != ::SSL_get_rbio(ssl)) return;
      BIO* direct = ::BIO_new_socket(fd, BIO_NOCLOSE);
      if (!direct) return;
      ::SSL_set0_wbio(ssl_, direct);  // drops the write side's reference to the pair
      on_ = true;
    }
    ~DirectTls() {
      if (!on_) return;
      ::BIO_up_ref(pair_);
      ::SSL_set0_wbio(ssl_, pair_);  // frees the socket BIO (not the descriptor)
    }
    DirectTls(const DirectTls&) = delete;
    DirectTls& operator=(const DirectTls&) = delete;
    bool on() const { return on_; }

   private:
    SSL* ssl_;
    BIO* pair_;
    bool on_ = false;
  };

  // SSL_write of all of [p, p + n) through a DirectTls, waiting for room on the socket.
  Task<Status> SslWriteAll(SSL* ssl, const char* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      ::ERR_clear_error();
      int chunk = static_cast<int>(std::min<size_t>(n - done, 1 << 30));
      int w = ::SSL_write(ssl, p + done, chunk);
      if (w > 0) {
        done += static_cast<size_t>(w);
        sent_ += static_cast<uint64_t>(w);
        continue;
      }
      if (::SSL_get_error(ssl, w) != SSL_ERROR_WANT_WRITE)
        co_return Status(Err::kIoError, "client went away (TLS write failed)");
      beast::error_code ec;
      c_.Arm(o_.io_timeout);
      co_await c_.sock.async_wait(tcp::socket::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
      c_.Disarm();
      if (ec) co_return Status(Err::kIoError, "client went away: " + ec.message());
    }
    co_return Status::Ok();
  }

  // Buffers of a record or more, written through a DirectTls. Small pieces (a response's
  // head) are gathered with the start of what follows into whole records, so a head does
  // not go out as a record of its own.
  Task<Status> TlsWriteDirect(const asio::const_buffer* bufs, size_t n) {
    static constexpr size_t kRecord = size_t{16} * 1024;
    SSL* ssl = s_.native_handle();
    if (!c_.sock.native_non_blocking()) c_.sock.native_non_blocking(true);
    DirectTls direct(ssl, c_.sock.native_handle());
    if (!direct.on()) co_return co_await WriteBuffers(bufs, n, /*direct=*/false);
    std::string stage;
    for (size_t i = 0; i < n; ++i) {
      const char* p = static_cast<const char*>(bufs[i].data());
      size_t left = bufs[i].size();
      if (!stage.empty() || left < kRecord) {
        size_t take = std::min(left, kRecord - stage.size());
        stage.append(p, take);
        p += take;
        left -= take;
        if (stage.size() < kRecord && i + 1 < n) continue;
        SLUICE_CO_RETURN_IF_ERROR(co_await SslWriteAll(ssl, stage.data(), stage.size()));
        stage.clear();
      }
      if (left > 0) SLUICE_CO_RETURN_IF_ERROR(co_await SslWriteAll(ssl, p, left));
    }
    if (!stage.empty())
      SLUICE_CO_RETURN_IF_ERROR(co_await SslWriteAll(ssl, stage.data(), stage.size()));
    co_return Status::Ok();
  }

  // `direct`: over TLS, bodies of a record or more go through TlsWriteDirect (which passes
  // false when it cannot point the SSL at the socket).
  Task<Status> WriteBuffers(const asio::const_buffer* bufs, size_t n, bool direct = true) {
    if constexpr (std::is_same_v<Stream, asio::ssl::stream<tcp::socket&>>) {
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) total += bufs[i].size();
      if (direct && total >= size_t{16} * 1024) co_return co_await TlsWriteDirect(bufs, n);
    }
    beast::error_code ec;
    c_.Arm(o_.io_timeout);
    size_t w = co_await asio::async_write(s_, std::vector<asio::const_buffer>(bufs, bufs + n),
                                          asio::redirect_error(asio::use_awaitable, ec));
    c_.Disarm();
    sent_ += w;
    if (ec) co_return Status(Err::kIoError, "client went away: " + ec.message());
    co_return Status::Ok();
  }

  Conn& c_;
  Stream& s_;
  const ServerOptions& o_;
  bool head_only_;
  bool keep_alive_;
  bool continue_first_ = false;
  bool started_ = false;
  int status_ = 0;
  uint64_t sent_ = 0;
  uint64_t expected_ = 0;
  uint64_t body_sent_ = 0;
};

}  // namespace

struct Server::Worker {
  asio::io_context ioc{1};
  std::unique_ptr<tcp::acceptor> acceptor;
  // The first worker's: the Unix-domain listener (ServerOptions::unix_path), whose
  // connections it deals to every worker in turn (Unix sockets have no SO_REUSEPORT
  // spreading).
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  size_t next_worker = 0;
  std::list<std::weak_ptr<Conn>> conns;  // touched only on this worker's thread
  Server* server = nullptr;

  // Each wake-up of the acceptor takes every connection already queued, with
  // non-blocking accepts until the backlog is empty. Taking one per completion put each
  // new connection behind a full round of the busy connections' handlers: with 1,000
  // connections opened at once, the last ones waited about a second for their first
  // request to be read (wrk's p99 at 1,000 connections, BENCHMARKS.md).
  Task<void> Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket s =
          co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!acceptor->is_open()) co_return;
        if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
          spdlog::warn("accept: {} (backing off)", ec.message());
          asio::steady_timer t(ioc, std::chrono::milliseconds(50));
          co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        continue;
      }
      Start(std::move(s));
      for (int more = 0; more < kAcceptBatch && acceptor->is_open(); more++) {
        tcp::socket next(ioc);
        acceptor->accept(next, ec);  // non-blocking acceptor: would_block when drained
        if (ec) break;
        Start(std::move(next));
      }
    }
  }
  static constexpr int kAcceptBatch = 256;

  Task<void> AcceptUnix() {
    const int lfd = unix_acceptor->native_handle();
    for (;;) {
      beast::error_code ec;
      co_await unix_acceptor->async_wait(asio::socket_base::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ec));
      if (!unix_acceptor->is_open()) co_return;
      for (int more = 0; more < kAcceptBatch; more++) {
        int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            spdlog::warn("accept (unix socket): {} (backing off)",
                         std::generic_category().message(errno));
            asio::steady_timer t(ioc, std::chrono::milliseconds(50));
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          break;  // EAGAIN: drained
        }
        Worker* w = server->workers_[next_worker++ % server->workers_.size()].get();
        asio::post(w->ioc, [w, fd] {
          tcp::socket s(w->ioc);
          beast::error_code aec;
          s.assign(tcp::v4(), fd, aec);
          if (aec) {
            ::close(fd);
            return;
          }
          w->Start(std::move(s), true);
        });
      }
    }
  }

  void Start(tcp::socket s, bool unix_peer = false) {
    beast::error_code ec;
    if (!unix_peer) s.set_option(tcp::no_delay(true), ec);
    auto c = std::make_shared<Conn>(std::move(s), unix_peer);
    conns.push_back(c);
    auto pos = std::prev(conns.end());
    server->connections_++;
    server->accepted_.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(ioc, Serve(c), [this, pos](const std::exception_ptr& e) {
      conns.erase(pos);
      server->connections_--;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("connection ended by exception: {}", ex.what());
        }
      }
    });
  }

  Task<void> Serve(std::shared_ptr<Conn> c) {
    // A Unix-domain peer is on this host: plain HTTP, as nothing crosses a network.
    c->tls_ctx = c->local ? nullptr : server->TlsContext();
    if (!c->tls_ctx) {
      co_await Session(c, c->sock);
      co_return;
    }
    const ServerOptions& o = server->opts_;
    // A TLS connection opens with a handshake record (0x16). Anything else is most
    // likely plain HTTP sent to the HTTPS port: say so in plain HTTP, as nginx does,
    // rather than leaving the client with an opaque reset.
    beast::error_code ec;
    c->Arm(o.header_timeout);
    co_await c->sock.async_wait(tcp::socket::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
    unsigned char first = 0;
    ssize_t n = ec ? -1 : ::recv(c->sock.native_handle(), &first, 1, MSG_PEEK);
    if (n != 1) {
      c->Close();
      co_return;
    }
    if (first != 0x16) {
      c->Disarm();
      ResponseHead head;
      std::string body;
      server->errors_(Err::kBadRequest, "this port serves HTTPS; the request was plain HTTP", &head,
                      &body);
      ConnResponder<tcp::socket> r(*c, c->sock, o, false, false);
      (co_await r.Send(head, body)).IgnoreError();
      co_await LingeringClose(*c, c->sock);
      c->Close();
      co_return;
    }
    asio::ssl::stream<tcp::socket&> tls(c->sock, *c->tls_ctx);
    co_await tls.async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
    c->Disarm();
    if (ec) {
      spdlog::debug("TLS handshake failed: {}", ec.message());
      c->Close();
      co_return;
    }
    co_await Session(c, tls);
    // close_notify, best effort: the socket is closed right after, without waiting.
    if (c->sock.is_open()) ::SSL_shutdown(tls.native_handle());
    c->Close();
  }

  template <typename Stream>
  Task<void> Session(std::shared_ptr<Conn> c, Stream& stream) {
    const ServerOptions& o = server->opts_;
    beast::flat_buffer buf(kReadBufferLimit);
    beast::error_code ec;
    // A peer on the Unix-domain socket is on this host: its address is the loopback's.
    std::string remote =
        c->local ? std::string("127.0.0.1") : c->sock.remote_endpoint(ec).address().to_string();
    bool first = true;
    while (!server->stopping_) {
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.header_limit(static_cast<uint32_t>(o.header_limit));
      // Not boost::none: Beast 1.74 compares Content-Length against the empty optional and
      // refuses every body. Sizes are enforced by the S3 layer.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      c->idle = true;
      // The first byte of a new request may take up to idle_timeout; the rest of the head
      // must then arrive within header_timeout of the connection becoming busy.
      c->Arm(first ? o.header_timeout : o.idle_timeout);
      co_await bhttp::async_read_header(stream, buf, parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      c->Disarm();
      c->idle = false;
      first = false;
      if (ec) {
        if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::ssl::error::stream_truncated || c->timed_out || !c->sock.is_open())
          break;  // the client left, or the connection idled out
        Err code = ec == bhttp::error::header_limit ? Err::kRequestHeaderSectionTooLarge
                                                    : Err::kBadRequest;
        ResponseHead head;
        std::string body;
        server->errors_(code, ec.message(), &head, &body);
        ConnResponder<Stream> r(*c, stream, o, false, false);
        Status sent = co_await r.Send(head, body);
        sent.IgnoreError();
        break;
      }
      auto& msg = parser.get();
      if (Status framing = CheckFraming(msg); !framing.ok()) {
        ResponseHead head;
        std::string body;
        server->errors_(framing.code(), framing.message(), &head, &body);
        ConnResponder<Stream> r(*c, stream, o, false, false);
        Status sent = co_await r.Send(head, body);
        sent.IgnoreError();
        break;
      }
      auto method = msg.method_string();
      auto target = msg.target();
      Request req(msg.base(), std::string_view(method.data(), method.size()),
                  std::string_view(target.data(), target.size()));
      req.remote_ip = remote;
      req.secure = !std::is_same_v<Stream, tcp::socket>;
      if (o.trusted_proxy) ApplyForwarded(req, o.trusted_proxy);
      req.chunked = parser.chunked();
      if (auto cl = parser.content_length()) req.content_length = *cl;
      bool expect_continue = false;
      {
        auto it = msg.find(bhttp::field::expect);
        expect_continue = it != msg.end() && beast::iequals(it->value(), "100-continue");
      }
      ParserBody<Stream> body(*c, stream, buf, parser, o, expect_continue);
      ConnResponder<Stream> resp(*c, stream, o, msg.method() == bhttp::verb::head,
                                 parser.keep_alive() && !server->stopping_);
      // Decide before the head goes out whether the connection survives an unread body.
      ResponderGuard<Stream> guard{resp, body};
      co_await server->handler_(req, body, guard.Wrapped());
      if (!resp.started()) {
        ResponseHead head;
        std::string text;
        server->errors_(Err::kInternal, "no response", &head, &text);
        resp.set_keep_alive(false);
        Status sent = co_await resp.Send(head, text);
        sent.IgnoreError();
      }
      if (!resp.keep_alive() || resp.incomplete() || !c->sock.is_open()) {
        if (!body.finished() && !body.failed() && !resp.incomplete() && c->sock.is_open())
          co_await LingeringClose(*c, stream);
        break;
      }
      // Drain what the handler left unread so the next request parses cleanly.
      char sink[16384];
      while (!body.finished()) {
        auto r = co_await body.Read(sink, sizeof sink);
        if (!r.ok() || *r == 0) break;
      }
      if (!body.finished()) break;
      if (buf.size() == 0 && buf.capacity() > size_t{64} * 1024) buf.shrink_to_fit();
    }
    if constexpr (std::is_same_v<Stream, tcp::socket>) c->Close();
  }

  // A request refused before its body was read: closing at once would make the kernel
  // answer the body still in flight with a reset, and the client could lose the error
  // response. Half-close, then read and discard for a bounded time and size (as nginx's
  // lingering_close does), then close.
  template <typename Stream>
  Task<void> LingeringClose(Conn& c, Stream& stream) {
    beast::error_code ec;
    c.sock.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    static constexpr uint64_t kMaxDiscard = 64ULL << 20;
    char sink[16384];
    uint64_t discarded = 0;
    c.Arm(std::chrono::seconds(5));
    while (discarded < kMaxDiscard) {
      size_t n = co_await stream.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      discarded += n;
    }
    c.Disarm();
  }

  // Wraps the responder so that the moment the head is about to be written, it knows
  // whether the body left unread can be drained; if not, it says Connection: close.
  template <typename Stream>
  struct ResponderGuard {
    ConnResponder<Stream>& r;
    ParserBody<Stream>& b;
    struct Wrapper final : Responder {
      ResponderGuard* g = nullptr;
      void Decide() {
        if (!g->b.Drainable()) g->r.set_keep_alive(false);
        if (g->b.OwesContinue()) {
          g->r.set_continue_first();
          g->b.ContinueSentWithResponse();
        }
      }
      Task<Status> Send(const ResponseHead& h, std::string_view body,
                        std::optional<uint64_t> len = std::nullopt) override {
        Decide();
        co_return co_await g->r.Send(h, body, len);
      }
      Task<Status> Begin(const ResponseHead& h, uint64_t len) override {
        Decide();
        co_return co_await g->r.Begin(h, len);
      }
      Task<Status> Write(std::string_view d) override { co_return co_await g->r.Write(d); }
      Task<Status> SendFile(int fd, uint64_t off, uint64_t len) override {
        co_return co_await g->r.SendFile(fd, off, len);
      }
      bool started() const override { return g->r.started(); }
      int status() const override { return g->r.status(); }
      uint64_t bytes_sent() const override { return g->r.bytes_sent(); }
    } w;
    ResponderGuard(ConnResponder<Stream>& rr, ParserBody<Stream>& bb) : r(rr), b(bb) { w.g = this; }
    Responder& Wrapped() { return w; }
  };

  // Closes every connection whose I/O deadline has passed; that cancels its pending
  // operation, and the session sees timed_out.
  Task<void> Sweep() {
    asio::steady_timer t(ioc);
    while (!server->stopping_) {
      t.expires_after(kSweepInterval);
      beast::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      auto now = Clock::now();
      for (auto& weak : conns) {
        auto c = weak.lock();
        if (c && c->deadline <= now && c->sock.is_open()) {
          c->timed_out = true;
          c->Close();
        }
      }
    }
  }

  void CloseIdle() {
    for (auto& weak : conns)
      if (auto c = weak.lock(); c && c->idle) c->Close();
  }
};

Server::Server(ServerOptions opts, Handler handler, ErrorRenderer errors)
    : opts_(std::move(opts)), handler_(std::move(handler)), errors_(std::move(errors)) {}

namespace {

Result<std::shared_ptr<asio::ssl::context>> LoadTls(const std::string& cert,
                                                    const std::string& key) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(cert, ec);
  if (ec) return Status(Err::kInvalidArgument, "TLS certificate " + cert + ": " + ec.message());
  ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) return Status(Err::kInvalidArgument, "TLS key " + key + ": " + ec.message());
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return Status(Err::kInvalidArgument, "TLS key " + key + " does not match certificate " + cert);
  ::SSL_CTX_set_options(ctx->native_handle(),
                        SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

}  // namespace

Status Server::ReloadTls() {
  if (opts_.tls_cert.empty()) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(auto ctx, LoadTls(opts_.tls_cert, opts_.tls_key));
  std::lock_guard<std::mutex> lock(tls_mu_);
  tls_ = std::move(ctx);
  return Status::Ok();
}

std::shared_ptr<asio::ssl::context> Server::TlsContext() {
  std::lock_guard<std::mutex> lock(tls_mu_);
  return tls_;
}

Server::~Server() { Stop(); }

Status Server::Start() {
  if (opts_.tls_cert.empty() != opts_.tls_key.empty())
    return Status(Err::kInvalidArgument, "TLS needs both a certificate and a key");
  SLUICE_RETURN_IF_ERROR(ReloadTls());
  int n = opts_.threads > 0 ? opts_.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  beast::error_code ec;
  auto addr = asio::ip::make_address(opts_.address, ec);
  if (ec) return Status(Err::kInvalidArgument, "bad listen address '" + opts_.address + "'");
  port_ = opts_.port;
  if (port_ != 0) {
    // SO_REUSEPORT would let a second server share the port silently; a plain bind first
    // makes "address in use" an error, as users expect.
    asio::io_context probe_ctx;
    tcp::acceptor probe(probe_ctx);
    tcp::endpoint ep(addr, port_);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec)
      return Status(Err::kIoError, "listen on " + opts_.address + ":" + std::to_string(port_) +
                                       ": " + ec.message());
  }
  for (int i = 0; i < n; i++) {
    auto w = std::make_unique<Worker>();
    w->server = this;
    w->acceptor = std::make_unique<tcp::acceptor>(w->ioc);
    tcp::endpoint ep(addr, port_);
    w->acceptor->open(ep.protocol(), ec);
    if (!ec) w->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    int one = 1;
    if (!ec &&
        ::setsockopt(w->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec = beast::error_code(errno, boost::system::system_category());
    if (!ec) w->acceptor->bind(ep, ec);
    if (!ec) w->acceptor->listen(4096, ec);
    if (!ec) w->acceptor->non_blocking(true, ec);  // Accept() drains the backlog
    if (ec)
      return Status(Err::kIoError, "listen on " + opts_.address + ":" + std::to_string(port_) +
                                       ": " + ec.message());
    if (port_ == 0) port_ = w->acceptor->local_endpoint().port();
    workers_.push_back(std::move(w));
  }
  if (!opts_.unix_path.empty()) {
    Worker* w = workers_.front().get();
    w->unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(w->ioc);
    asio::local::stream_protocol::endpoint ep(opts_.unix_path);
    w->unix_acceptor->open(ep.protocol(), ec);
    if (!ec) w->unix_acceptor->bind(ep, ec);
    if (!ec) w->unix_acceptor->listen(4096, ec);
    if (!ec) w->unix_acceptor->non_blocking(true, ec);
    if (ec)
      return Status(Err::kIoError,
                    "listen on the Unix socket " + opts_.unix_path + ": " + ec.message());
  }
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::co_spawn(wp->ioc, wp->Accept(), asio::detached);
    if (wp->unix_acceptor) asio::co_spawn(wp->ioc, wp->AcceptUnix(), asio::detached);
    asio::co_spawn(wp->ioc, wp->Sweep(), asio::detached);
    threads_.emplace_back([wp] { wp->ioc.run(); });
  }
  return Status::Ok();
}

void Server::Stop() {
  if (stopping_.exchange(true)) {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    return;
  }
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::post(wp->ioc, [wp] {
      beast::error_code ec;
      wp->acceptor->close(ec);
      if (wp->unix_acceptor) wp->unix_acceptor->close(ec);
      wp->CloseIdle();
    });
  }
  // In-flight requests finish on their own; give them until the drain deadline.
  auto deadline = std::chrono::steady_clock::now() + opts_.drain_deadline;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    for (auto& w : workers_) {
      Worker* wp = w.get();
      asio::post(wp->ioc, [wp] { wp->CloseIdle(); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& w : workers_) w->ioc.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace sluice::http
