// A minimal blocking S3 client for the load generators in bench/: one keep-alive TCP
// connection, SigV4 request heads (UNSIGNED-PAYLOAD) built on the project's own signing
// code, and Content-Length responses. Not for production use: the client library is.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::bench {

struct Endpoint {
  std::string ip;
  int port = 0;
  std::string ak, sk;
  std::string host() const { return ip + ":" + std::to_string(port); }
};

inline int Connect(const Endpoint& e) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A peer that stops answering fails the run instead of hanging it.
  timeval tv{120, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(e.port));
  inet_pton(AF_INET, e.ip.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A signed request head. `query` is the raw (already encoded) query string, without '?'.
inline std::string SignedHead(const Endpoint& e, const std::string& method, const std::string& path,
                              const std::string& query, size_t content_length) {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string date = FormatAmzDate(now);
  std::string creq = method + "\n" + auth::CanonicalUri(path) + "\n" + auth::CanonicalQuery(query) +
                     "\nhost:" + e.host() +
                     "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:" + date +
                     "\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD";
  std::string scope = date.substr(0, 8) + "/us-east-1/s3/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  const std::string& key = auth::CachedSigningKey(e.sk, date.substr(0, 8), "us-east-1", "s3");
  return method + " " + path + (query.empty() ? "" : "?" + query) +
         " HTTP/1.1\r\nHost: " + e.host() +
         "\r\nContent-Length: " + std::to_string(content_length) + "\r\nx-amz-date: " + date +
         "\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 "
         "Credential=" +
         e.ak + "/" + scope + ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" +
         HexEncode(HmacSha256(key, sts)) + "\r\n\r\n";
}

inline bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// The value of header `name` (lowercase) in a response head, or "".
inline std::string HeaderValue(const std::string& head, std::string_view name) {
  std::string lower(head.size(), '\0');
  std::transform(head.begin(), head.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  size_t pos = lower.find("\r\n" + std::string(name) + ":");
  if (pos == std::string::npos) return "";
  pos += name.size() + 3;
  size_t eol = lower.find("\r\n", pos);
  std::string v = lower.substr(pos, eol - pos);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

// Reads one response head and its body, Content-Length or chunked (RGW chunks listings),
// into *body when given; returns the status or -1. `buf` carries bytes read past the
// response to the next call.
inline int ReadResponse(int fd, std::string& buf, std::string* body = nullptr,
                        std::string* head = nullptr) {
  auto more = [&]() {
    char tmp[65536];
    ssize_t r = recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return false;
    buf.append(tmp, static_cast<size_t>(r));
    return true;
  };
  for (;;) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos &&
        HeaderValue(buf.substr(0, end + 2), "transfer-encoding") == "chunked") {
      int status = std::atoi(buf.c_str() + 9);
      if (head) head->assign(buf, 0, end + 4);
      std::string out;
      size_t pos = end + 4;
      for (;;) {
        size_t eol;
        while ((eol = buf.find("\r\n", pos)) == std::string::npos)
          if (!more()) return -1;
        size_t n = std::strtoull(buf.c_str() + pos, nullptr, 16);
        while (buf.size() < eol + 2 + n + 2)
          if (!more()) return -1;
        out.append(buf, eol + 2, n);
        pos = eol + 2 + n + 2;
        if (n == 0) break;
      }
      if (body) *body = std::move(out);
      buf.erase(0, pos);
      return status;
    }
    if (end != std::string::npos) {
      int status = std::atoi(buf.c_str() + 9);
      size_t cl = 0;
      const std::string len = HeaderValue(buf.substr(0, end + 2), "content-length");
      if (!len.empty()) cl = std::strtoull(len.c_str(), nullptr, 10);
      while (buf.size() < end + 4 + cl) {
        char tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r <= 0) return -1;
        buf.append(tmp, static_cast<size_t>(r));
      }
      if (head) head->assign(buf, 0, end + 4);
      if (body) body->assign(buf, end + 4, cl);
      buf.erase(0, end + 4 + cl);
      return status;
    }
    char tmp[65536];
    ssize_t r = recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return -1;
    buf.append(tmp, static_cast<size_t>(r));
  }
}

}  // namespace sluice::bench
