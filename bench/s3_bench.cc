// Load generators for the scenarios wrk cannot drive, on the project's own signing code:
//
//   s3_bench list HOST PORT AK SK BUCKET PREFIX DELIMITER PAGE
//     walks a whole ListObjectsV2 listing in pages, one connection;
//     prints "keys=N prefixes=P pages=G seconds=S keys_per_s=R first_page_ms=F"
//   s3_bench get HOST PORT AK SK PATH QUERY COUNT
//     COUNT signed GETs of PATH?QUERY, one connection, one after another (a listing page,
//     say); prints "count=N median_ms=M p90_ms=P bytes=B" (B: the last body's size)
//   s3_bench multipart HOST PORT AK SK BUCKET KEY TOTAL_MIB PART_MIB CONNECTIONS
//     one multipart upload of TOTAL_MIB in PART_MIB parts sent over CONNECTIONS connections,
//     then Complete; prints "bytes=N seconds=S MiB_per_s=R parts=P"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3_client.h"

using namespace sluice;
using namespace sluice::bench;
using Clock = std::chrono::steady_clock;

namespace {

size_t Count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size()))
    n++;
  return n;
}

std::string Between(const std::string& s, std::string_view open, std::string_view close) {
  size_t a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  size_t b = s.find(close, a);
  return b == std::string::npos ? "" : s.substr(a, b - a);
}

int List(const Endpoint& ep, const std::string& bucket, const std::string& prefix,
         const std::string& delimiter, int page) {
  int fd = Connect(ep);
  if (fd < 0) return 1;
  std::string buf, body, token;
  size_t keys = 0, prefixes = 0, pages = 0;
  double first_ms = 0;
  auto start = Clock::now();
  do {
    std::string q = "list-type=2&max-keys=" + std::to_string(page);
    if (!prefix.empty()) q += "&prefix=" + UriEncode(prefix, true);
    if (!delimiter.empty()) q += "&delimiter=" + UriEncode(delimiter, true);
    if (!token.empty()) q += "&continuation-token=" + UriEncode(token, true);
    std::string head = SignedHead(ep, "GET", "/" + bucket, q, 0);
    auto t0 = Clock::now();
    if (!SendAll(fd, head.data(), head.size()) || ReadResponse(fd, buf, &body) != 200) {
      std::fprintf(stderr, "list failed: %s\n", body.substr(0, 300).c_str());
      return 1;
    }
    if (pages == 0) first_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    pages++;
    keys += Count(body, "<Key>");
    prefixes += Count(body, "<CommonPrefixes>");
    token = body.find("<IsTruncated>true</IsTruncated>") != std::string::npos
                ? Between(body, "<NextContinuationToken>", "</NextContinuationToken>")
                : "";
  } while (!token.empty());
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  std::printf("keys=%zu prefixes=%zu pages=%zu seconds=%.3f keys_per_s=%.0f first_page_ms=%.2f\n",
              keys, prefixes, pages, s, (keys + prefixes) / s, first_ms);
  return 0;
}

int TimedGets(const Endpoint& ep, const std::string& path, const std::string& query, int count) {
  int fd = Connect(ep);
  if (fd < 0) return 1;
  std::string buf, body;
  std::vector<double> ms;
  for (int i = 0; i < count; i++) {
    std::string head = SignedHead(ep, "GET", path, query, 0);
    auto t0 = Clock::now();
    if (!SendAll(fd, head.data(), head.size()) || ReadResponse(fd, buf, &body) != 200) {
      std::fprintf(stderr, "get failed: %s\n", body.substr(0, 300).c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  close(fd);
  std::sort(ms.begin(), ms.end());
  std::printf("count=%d median_ms=%.3f p90_ms=%.3f bytes=%zu\n", count, ms[ms.size() / 2],
              ms[ms.size() * 9 / 10], body.size());
  return 0;
}

int Multipart(const Endpoint& ep, const std::string& bucket, const std::string& key,
              size_t total_mib, size_t part_mib, int conns) {
  std::string path = "/" + bucket + "/" + key;
  int fd = Connect(ep);
  if (fd < 0) return 1;
  std::string buf, body;
  auto start = Clock::now();
  std::string head = SignedHead(ep, "POST", path, "uploads=", 0);
  if (!SendAll(fd, head.data(), head.size()) || ReadResponse(fd, buf, &body) != 200) {
    std::fprintf(stderr, "create failed: %s\n", body.c_str());
    return 1;
  }
  std::string upload = Between(body, "<UploadId>", "</UploadId>");
  size_t part_bytes = part_mib << 20, parts = (total_mib + part_mib - 1) / part_mib;
  std::string data(part_bytes, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 2654435761u >> 13);
  std::vector<std::string> etags(parts);
  std::atomic<size_t> next{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < conns; t++) {
    threads.emplace_back([&] {
      int c = Connect(ep);
      std::string b, h, resp;
      for (size_t p; c >= 0 && (p = next++) < parts;) {
        std::string q = "partNumber=" + std::to_string(p + 1) + "&uploadId=" + upload;
        std::string req = SignedHead(ep, "PUT", path, q, part_bytes);
        if (!SendAll(c, req.data(), req.size()) || !SendAll(c, data.data(), data.size()) ||
            ReadResponse(c, b, &resp, &h) != 200) {
          errors++;
          break;
        }
        etags[p] = Between(h, "ETag: ", "\r\n");
      }
      if (c >= 0) close(c);
    });
  }
  for (auto& th : threads) th.join();
  if (errors) return 1;
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t p = 0; p < parts; p++)
    xml += "<Part><PartNumber>" + std::to_string(p + 1) + "</PartNumber><ETag>" + etags[p] +
           "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  head = SignedHead(ep, "POST", path, "uploadId=" + upload, xml.size());
  if (!SendAll(fd, head.data(), head.size()) || !SendAll(fd, xml.data(), xml.size()) ||
      ReadResponse(fd, buf, &body) != 200 || body.find("<Error>") != std::string::npos) {
    std::fprintf(stderr, "complete failed: %s\n", body.c_str());
    return 1;
  }
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  double bytes = static_cast<double>(parts * part_bytes);
  std::printf("bytes=%.0f seconds=%.3f MiB_per_s=%.1f parts=%zu\n", bytes, s, bytes / s / (1 << 20),
              parts);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "list" && argc == 10) {
    Endpoint ep{argv[2], std::atoi(argv[3]), argv[4], argv[5]};
    return List(ep, argv[6], argv[7], argv[8], std::atoi(argv[9]));
  }
  if (mode == "get" && argc == 9) {
    Endpoint ep{argv[2], std::atoi(argv[3]), argv[4], argv[5]};
    return TimedGets(ep, argv[6], argv[7], std::atoi(argv[8]));
  }
  if (mode == "multipart" && argc == 11) {
    Endpoint ep{argv[2], std::atoi(argv[3]), argv[4], argv[5]};
    return Multipart(ep, argv[6], argv[7], std::strtoull(argv[8], nullptr, 10),
                     std::strtoull(argv[9], nullptr, 10), std::atoi(argv[10]));
  }
  std::fprintf(
      stderr,
      "usage: s3_bench list HOST PORT AK SK BUCKET PREFIX DELIMITER PAGE\n"
      "       s3_bench get HOST PORT AK SK PATH QUERY COUNT\n"
      "       s3_bench multipart HOST PORT AK SK BUCKET KEY TOTAL_MIB PART_MIB CONNECTIONS\n");
  return 2;
}
