// The ETag a local file would have in S3, for content comparisons (sync --etag).
#include <sluice/client.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice::client {

std::string LocalEtag(const std::string& path, uint64_t size, const std::string& like,
                      uint64_t our_part) {
  auto dash = like.find('-');
  uint64_t n = dash == std::string::npos ? 0 : std::strtoull(like.c_str() + dash + 1, nullptr, 10);
  if (dash != std::string::npos && n == 0) return "";
  std::vector<uint64_t> sizes;
  if (n == 0) {
    sizes.push_back(std::max<uint64_t>(size, 1));  // one "part": the plain MD5
  } else {
    const uint64_t mib = 1 << 20;
    for (uint64_t p : {our_part, 8 * mib, (size + n - 1) / n,
                       ((size + n - 1) / n + mib - 1) / mib * mib, 16 * mib, 5 * mib})
      if (p > 0 && (size + p - 1) / p == n &&
          std::find(sizes.begin(), sizes.end(), p) == sizes.end())
        sizes.push_back(p);
  }
  std::vector<char> buf(1 << 20);
  for (uint64_t p : sizes) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return "";
    Hasher of_parts(Hasher::Kind::kMd5), part(Hasher::Kind::kMd5);
    std::string last;  // the digest of the last part
    uint64_t in_part = 0;
    size_t k;
    while ((k = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
      for (size_t at = 0; at < k;) {
        size_t m = static_cast<size_t>(std::min<uint64_t>(k - at, p - in_part));
        part.Update(buf.data() + at, m);
        at += m;
        in_part += m;
        if (in_part == p) {
          last = part.Finish();
          of_parts.Update(last);
          in_part = 0;
        }
      }
    }
    bool ok = !std::ferror(f);
    std::fclose(f);
    if (!ok) return "";
    if (in_part > 0 || last.empty()) {
      last = part.Finish();
      of_parts.Update(last);
    }
    if (n == 0) return HexEncode(last);
    std::string e = of_parts.FinishHex() + "-" + std::to_string(n);
    if (e == like) return e;  // else the object was uploaded in parts of another size
  }
  return "";
}

}  // namespace sluice::client
