// A signed-PUT load generator: N keep-alive connections, each sending SigV4-signed PUTs
// (UNSIGNED-PAYLOAD) of one object size back to back for a fixed time, counting 2xx
// replies. Blocking sockets, one thread per connection: the generator must not be the
// bottleneck at the connection counts used (<= 64).
//
// usage: put_load HOST PORT BUCKET ACCESS_KEY SECRET_KEY SIZE CONNECTIONS SECONDS
// prints: "puts=N seconds=S put_per_s=R MiB_per_s=M errors=E p50_ms=.. p99_ms=.."
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"

using namespace sluice;
using Clock = std::chrono::steady_clock;

namespace {

std::string SignedPut(const std::string& host, const std::string& path, size_t size,
                      const std::string& ak, const std::string& sk) {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string date = FormatAmzDate(now);
  std::string creq = "PUT\n" + auth::CanonicalUri(path) + "\n\nhost:" + host +
                     "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:" + date +
                     "\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD";
  std::string scope = date.substr(0, 8) + "/us-east-1/s3/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(creq);
  const std::string& key = auth::CachedSigningKey(sk, date.substr(0, 8), "us-east-1", "s3");
  return "PUT " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: " +
         std::to_string(size) + "\r\nx-amz-date: " + date +
         "\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 "
         "Credential=" + ak + "/" + scope +
         ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" +
         HexEncode(HmacSha256(key, sts)) + "\r\n\r\n";
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads one response head and its Content-Length body; returns the status or -1.
int ReadResponse(int fd, std::string& buf) {
  for (;;) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      int status = std::atoi(buf.c_str() + 9);
      size_t cl = 0;
      size_t pos = buf.find("Content-Length: ");
      if (pos != std::string::npos && pos < end) cl = std::strtoull(buf.c_str() + pos + 16, nullptr, 10);
      while (buf.size() < end + 4 + cl) {
        char tmp[16384];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r <= 0) return -1;
        buf.append(tmp, static_cast<size_t>(r));
      }
      buf.erase(0, end + 4 + cl);
      return status;
    }
    char tmp[16384];
    ssize_t r = recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return -1;
    buf.append(tmp, static_cast<size_t>(r));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: put_load HOST PORT BUCKET AK SK SIZE CONNECTIONS SECONDS\n");
    return 2;
  }
  std::string ip = argv[1];
  int port = std::atoi(argv[2]);
  std::string bucket = argv[3], ak = argv[4], sk = argv[5];
  size_t size = std::strtoull(argv[6], nullptr, 10);
  int conns = std::atoi(argv[7]);
  double seconds = std::atof(argv[8]);
  std::string host = ip + ":" + std::to_string(port);
  std::string body(std::min<size_t>(size, 1 << 20), 'x');
  for (size_t i = 0; i < body.size(); i++) body[i] = static_cast<char>(i * 131 + 7);
  std::atomic<long> ok{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat_ms;
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < conns; t++) {
    threads.emplace_back([&, t] {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        errors++;
        return;
      }
      std::string buf;
      std::vector<double> mine;
      for (long n = 0; Clock::now() < deadline; n++) {
        std::string path = "/" + bucket + "/put/c" + std::to_string(t) + "/o" + std::to_string(n);
        std::string head = SignedPut(host, path, size, ak, sk);
        auto t0 = Clock::now();
        bool sent = SendAll(fd, head.data(), head.size());
        for (size_t left = size; sent && left > 0;) {
          size_t k = std::min(left, body.size());
          sent = SendAll(fd, body.data(), k);
          left -= k;
        }
        int status = sent ? ReadResponse(fd, buf) : -1;
        if (status < 200 || status >= 300) {
          errors++;
          break;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ok++;
      }
      close(fd);
      std::lock_guard l(mu);
      lat_ms.insert(lat_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) { return lat_ms.empty() ? 0.0 : lat_ms[static_cast<size_t>(p * (lat_ms.size() - 1))]; };
  std::printf("puts=%ld seconds=%.2f put_per_s=%.1f MiB_per_s=%.1f errors=%ld p50_ms=%.2f p99_ms=%.2f\n",
              ok.load(), elapsed, ok / elapsed, ok * static_cast<double>(size) / elapsed / (1 << 20),
              errors.load(), pct(0.5), pct(0.99));
  return errors > 0 && ok == 0 ? 1 : 0;
}
