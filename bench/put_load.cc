// A signed-PUT load generator: N keep-alive connections, each sending SigV4-signed PUTs
// (UNSIGNED-PAYLOAD) of one object size back to back for a fixed time, counting 2xx
// replies. Blocking sockets, one thread per connection: the generator must not be the
// bottleneck at the connection counts used (<= 64).
//
// usage: put_load HOST PORT BUCKET ACCESS_KEY SECRET_KEY SIZE CONNECTIONS SECONDS [KEYS]
//   KEYS > 0: each connection overwrites its own KEYS keys round-robin (in a versioned
//   bucket, versions pile up on them); default: every PUT a new key. With "once" after KEYS,
//   each connection writes its KEYS keys once and stops (SECONDS is then a cap): a bucket of
//   CONNECTIONS x KEYS objects, for listing benchmarks
// prints: "puts=N seconds=S put_per_s=R MiB_per_s=M errors=E p50_ms=.. p99_ms=.."
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3_client.h"

using namespace sluice;
using Clock = std::chrono::steady_clock;

using namespace sluice::bench;

int main(int argc, char** argv) {
  if (argc < 9 || argc > 11 || (argc == 11 && std::string(argv[10]) != "once")) {
    std::fprintf(stderr,
                 "usage: put_load HOST PORT BUCKET AK SK SIZE CONNECTIONS SECONDS [KEYS [once]]\n");
    return 2;
  }
  const long keys = argc >= 10 ? std::atol(argv[9]) : 0;
  const bool once = argc == 11;
  Endpoint ep{argv[1], std::atoi(argv[2]), argv[4], argv[5]};
  std::string bucket = argv[3];
  size_t size = std::strtoull(argv[6], nullptr, 10);
  int conns = std::atoi(argv[7]);
  double seconds = std::atof(argv[8]);
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
      int fd = Connect(ep);
      if (fd < 0) {
        errors++;
        return;
      }
      std::string buf;
      std::vector<double> mine;
      for (long n = 0; Clock::now() < deadline && !(once && n == keys); n++) {
        std::string path = "/" + bucket + "/put/c" + std::to_string(t) + "/o" +
                           std::to_string(keys > 0 ? n % keys : n);
        std::string head = SignedHead(ep, "PUT", path, "", size);
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
  auto pct = [&](double p) {
    return lat_ms.empty() ? 0.0 : lat_ms[static_cast<size_t>(p * (lat_ms.size() - 1))];
  };
  std::printf(
      "puts=%ld seconds=%.2f put_per_s=%.1f MiB_per_s=%.1f errors=%ld p50_ms=%.2f p99_ms=%.2f\n",
      ok.load(), elapsed, ok / elapsed, ok * static_cast<double>(size) / elapsed / (1 << 20),
      errors.load(), pct(0.5), pct(0.99));
  return errors > 0 && ok == 0 ? 1 : 0;
}
