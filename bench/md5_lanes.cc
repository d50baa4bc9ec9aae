// MD5 throughput: OpenSSL's (one stream, one core) against common/md5.h's Md5Stream with
// 1 to 16 streams hashed at once through UpdateShared, 1 MiB pieces as an upload feeds
// them. Prints one JSON line per case for bench/run.sh: {"kind":"md5","streams":N,...}.
// usage: md5_lanes [MiB per stream, default 64]
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/md5.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const size_t n = mib << 20, piece = 1 << 20;
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  auto secs = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto t0 = Clock::now();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), n, out, &len, EVP_md5(), nullptr);
  double openssl = n / secs(t0) / 1048576;
  std::printf("{\"kind\":\"md5\",\"impl\":\"openssl\",\"streams\":1,\"mibps\":%.0f}\n", openssl);
  for (int streams : {1, 2, 4, 8, 16}) {
    t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < streams; ++t) {
      threads.emplace_back([&] {
        sluice::Md5Stream m;
        for (size_t at = 0; at < n; at += piece) m.UpdateShared(data.data() + at, piece);
        m.Finish();
      });
    }
    for (auto& t : threads) t.join();
    std::printf("{\"kind\":\"md5\",\"impl\":\"%s\",\"streams\":%d,\"mibps\":%.0f}\n",
                streams == 1 ? "scalar" : sluice::Md5Stream::Kernel(),  // one lane: scalar code
                streams, streams * n / secs(t0) / 1048576);
  }
}
