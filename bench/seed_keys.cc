// Fills a sluice data directory's index with many empty objects, offline, so listing
// benchmarks can start from a bucket of a million keys in seconds instead of the minutes
// a million durable PUTs take. Listing is a read path: how the keys got there does not
// change what it measures. Run before the server starts on DATA_DIR.
//
// usage: seed_keys DATA_DIR BUCKET PREFIXES KEYS_PER_PREFIX [VERSIONS]
//   keys are "p%05u/k%05u": PREFIXES common prefixes of KEYS_PER_PREFIX keys each; with
//   VERSIONS > 1 the bucket's versioning is Enabled and every key gets VERSIONS versions
//   (ids: micros = 1700000000000000 + n, rand = n + 1 for the n-th write of the run), and
//   the id of the middle version of the first key is printed as "middle=ID".
#include <cstdio>
#include <cstdlib>

#include "common/strings.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/kv_store.h"

using namespace sluice;

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: seed_keys DATA_DIR BUCKET PREFIXES KEYS_PER_PREFIX [VERSIONS]\n");
    return 2;
  }
  const unsigned versions = argc == 6 ? static_cast<unsigned>(std::atoi(argv[5])) : 1;
  std::string dir = argv[1], bucket = argv[2];
  unsigned prefixes = static_cast<unsigned>(std::atoi(argv[3]));
  unsigned per = static_cast<unsigned>(std::atoi(argv[4]));
  auto kv = meta::OpenRocksKv(dir + "/meta");
  if (!kv.ok()) {
    std::fprintf(stderr, "%s\n", kv.status().ToString().c_str());
    return 1;
  }
  meta::KvIndex index(kv->get(), /*sync=*/false);
  index.TrackUsage(io::SystemRandom()->HexString(8));  // the server finds the usage exact
  Status s = index.CreateBucket({BucketName::Trusted(bucket), 0, "sluice-root", "us-east-1"});
  if (!s.ok() && s.code() != Err::kBucketAlreadyOwnedByYou) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  if (versions > 1) {
    s = index.SetBucketVersioning(BucketName::Trusted(bucket), meta::Versioning::kEnabled);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  meta::ObjectMeta m;
  m.etag = "d41d8cd98f00b204e9800998ecf8427e";  // MD5 of nothing
  m.mtime_micros = 1700000000LL * 1000000;
  m.content_type = "binary/octet-stream";
  char key[32];
  uint64_t n = 0;
  std::string middle;
  for (unsigned p = 0; p < prefixes; p++) {
    for (unsigned k = 0; k < per; k++) {
      std::snprintf(key, sizeof key, "p%05u/k%05u", p, k);
      for (unsigned v = 0; v < versions; v++, n++) {
        m.version = VersionId::Of(1700000000000000ULL + n, n + 1);
        auto r =
            index.PutObject(BucketName::Trusted(bucket), ObjectKey::Trusted(key), m, {}, nullptr);
        if (!r.ok()) {
          std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
          return 1;
        }
        if (p == 0 && k == 0 && v == versions / 2) middle = r->version.ToString();
      }
    }
  }
  std::printf("seeded %u keys x %u versions in %s/%s\n", prefixes * per, versions, dir.c_str(),
              bucket.c_str());
  if (versions > 1) std::printf("middle=%s\n", middle.c_str());
  return 0;
}
