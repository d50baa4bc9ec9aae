// The HTTP/1.1 surface the layers above see: a parsed request head, a streaming request
// body, and a responder that writes from memory, in pieces, or from a file with
// sendfile. Nothing here knows S3.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/container/small_vector.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/async.h"
#include "common/check.h"
#include "common/status.h"

namespace sluice::http {

class Request {
 public:
  // `fields` must outlive the request and not change while it lives.
  Request(const boost::beast::http::fields& fields, std::string_view method,
          std::string_view target)
      : method_(method), target_(target) {
    size_t q = target_.find('?');
    path_ = target_.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view() : target_.substr(q + 1);
    for (const auto& f : fields)
      headers_.push_back({std::string_view(f.name_string().data(), f.name_string().size()),
                          std::string_view(f.value().data(), f.value().size())});
  }
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  std::string_view path() const { return path_; }    // raw, still percent-encoded
  std::string_view query() const { return query_; }  // raw, without '?'
  // The first value of a header (case-insensitive name), or "" when absent.
  std::string_view header(std::string_view name) const {
    const Header* h = Find(name);
    return h ? h->value : std::string_view();
  }
  bool has_header(std::string_view name) const { return Find(name) != nullptr; }
  template <typename F>
  void ForEachHeader(F&& fn) const {
    for (const Header& h : headers_) fn(h.name, h.value);
  }
  std::optional<uint64_t> content_length;
  bool chunked = false;
  // The client's address: the TCP peer's, or the one a trusted proxy named (ApplyForwarded).
  std::string remote_ip;
  // The TCP peer, when it is a trusted proxy that named the client; empty otherwise.
  std::string proxy_ip;
  // Arrived over TLS, or a trusted proxy said its client used HTTPS.
  bool secure = false;

 private:
  struct Header {
    std::string_view name, value;
  };
  // The first header of that name, in the order received. A scan of the request's own
  // headers, length first: a signed GET looks up six, and Beast's case-insensitive tree
  // (fields::find) cost 800 instructions a lookup under callgrind, 6% of the request.
  const Header* Find(std::string_view name) const {
    for (const Header& h : headers_)
      if (h.name.size() == name.size() && SameNameIgnoringCase(h.name, name)) return &h;
    return nullptr;
  }
  static bool SameNameIgnoringCase(std::string_view a, std::string_view b) {
    for (size_t i = 0; i < a.size(); i++) {
      unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
      if (x == y) continue;
      if (static_cast<unsigned>(x - 'A') < 26u) x += 32;
      if (static_cast<unsigned>(y - 'A') < 26u) y += 32;
      if (x != y) return false;
    }
    return true;
  }

  std::string_view method_, target_, path_, query_;
  boost::container::small_vector<Header, 16> headers_;  // the fields in order, as views
};

// The request body as a stream. Reading it first sends "100 Continue" when the client
// asked for it, so a request refused before reading is never sent its body.
// Which TCP peers are proxies whose forwarding headers are believed (--trusted-proxy).
using TrustedProxy = std::function<bool(std::string_view address)>;

// When the request's TCP peer (remote_ip) is a trusted proxy, takes the client from what it
// says, and otherwise changes nothing (the headers are anyone's to send):
// - X-Forwarded-For (every instance, as one comma-separated list): read from the nearest
//   hop outwards, proxies that are themselves trusted are passed over and the first other
//   address is the client; an entry that is not a plain IP address ends the walk (nothing
//   beyond it is believed), and when every hop is trusted the farthest is the client;
// - without it, X-Real-IP (one address);
// - X-Forwarded-Proto: "https" (the nearest proxy's, the last value) marks it secure, as
//   a TLS-terminating load balancer's client was.
// remote_ip becomes the client and proxy_ip the proxy. docs/security.md "Behind a proxy".
void ApplyForwarded(Request& req, const TrustedProxy& trusted);

class Body {
 public:
  virtual ~Body() = default;
  // Fills up to n bytes; returns 0 at the end of the body. kIncompleteBody when the client
  // closes early, kRequestTimeout when it stalls.
  virtual Task<Result<size_t>> Read(char* buf, size_t n) = 0;
  virtual bool finished() const = 0;
  virtual uint64_t bytes_read() const = 0;
};

// A response's status and headers. The headers are kept as the head's own lines
// ("Name: value\r\n"), in order, in one buffer: a head costs one allocation however many
// headers it has, where a pair of strings a header cost up to two each.
class ResponseHead {
 public:
  int status = 200;
  // A head whose headers go out before these (and its own `before` before those): a
  // wrapping Responder adds its headers to a head it may not change without copying it.
  const ResponseHead* before = nullptr;

  // Appends a header. A value holding CR or LF would end the line early and split the head
  // (response splitting). Handlers refuse such input before it gets here; one that does not
  // is a bug, and the header is dropped rather than sent. Names are the handlers' own or
  // request header names, which the parser holds to tokens.
  void Set(std::string_view name, std::string_view value) {
    if (BreaksTheHead(value)) {
      SLUICE_BUG("a response header value holds CR or LF: " + std::string(name)).IgnoreError();
      return;
    }
    if (lines_.empty()) lines_.reserve(kFirstReserve);
    lines_.append(name).append(": ").append(value).append("\r\n");
  }
  void Set(const std::vector<std::pair<std::string, std::string>>& headers) {
    for (const auto& [name, value] : headers) Set(name, value);
  }
  // Every line, `before`'s first, appended to *out.
  void AppendAll(std::string* out) const {
    if (before) before->AppendAll(out);
    out->append(lines_);
  }
  size_t size_all() const { return lines_.size() + (before ? before->size_all() : 0); }

 private:
  static constexpr size_t kFirstReserve = 192;  // a GET's ETag, Last-Modified, type and ranges
  // Two memchr: a check per byte (find_first_of) made a 4 KiB GET 8% dearer under callgrind.
  static bool BreaksTheHead(std::string_view s) {
    return s.find('\n') != std::string_view::npos || s.find('\r') != std::string_view::npos;
  }
  std::string lines_;
};

class Responder {
 public:
  virtual ~Responder() = default;
  // The whole response. content_length defaults to body.size() (HEAD passes the size of
  // what a GET would send; the body is never written for HEAD).
  virtual Task<Status> Send(const ResponseHead& head, std::string_view body,
                            std::optional<uint64_t> content_length = std::nullopt) = 0;
  // Head only; then exactly content_length bytes through Write and SendFile.
  virtual Task<Status> Begin(const ResponseHead& head, uint64_t content_length) = 0;
  virtual Task<Status> Write(std::string_view data) = 0;
  // Zero-copy from a file descriptor (sendfile); falls back to nothing else: fd must be
  // a regular file.
  virtual Task<Status> SendFile(int fd, uint64_t offset, uint64_t len) = 0;
  virtual bool started() const = 0;
  virtual int status() const = 0;
  virtual uint64_t bytes_sent() const = 0;
};

using Handler = std::function<Task<void>(Request&, Body&, Responder&)>;

// Renders a response for a request that could not be parsed (no handler ran):
// kBadRequest, kRequestHeaderSectionTooLarge, kRequestTimeout.
using ErrorRenderer =
    std::function<void(Err code, std::string_view message, ResponseHead* head, std::string* body)>;

}  // namespace sluice::http
